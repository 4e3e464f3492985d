/*
 * Certificates: the TLS endpoint probe against real OpenSSL servers run by
 * this test (threads on 127.0.0.1, one per scenario, stopped at the end), the
 * x509_files probe script run by /bin/sh (and busybox sh when present) on a
 * fake file tree, and the x509_files parser on inputs too large to commit
 * (10 000 certificates in one file, 50 MB inputs), with timings printed.
 *
 * Fixtures: tests/tls/pki (tests/tls/gen-fixtures.sh).  Run from tests/.
 * The fixed "now" of every validity check is NOW below, so the results do
 * not change with the calendar (one check uses the real clock on purpose).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "nearmiss/check.h"
#include "nearmiss/fiber.h"
#include "nearmiss/parsers.h"
#include "nearmiss/script.h"
#include "nearmiss/tls.h"
#include "nearmiss/util.h"
#include "test.h"

#define PKI     "tls/pki/"
#define NOW_ISO "2026-11-24T00:00:00Z"

static int64_t NOW;

static double secs_since(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

static int64_t days_to(int y, unsigned m, unsigned d)
{
    return nm_days_from_civil(y, m, d) - NOW / 86400;
}

/* ------------------------------------------------------------------ */
/* Test servers */

enum srv_mode {
    SRV_TLS,  /* TLS from the first byte */
    SRV_SMTP, /* 220 / EHLO 250 STARTTLS / STARTTLS 220, then TLS */
    SRV_IMAP,
    SRV_POP3,
    SRV_SMTP_REFUSE, /* answers STARTTLS with 454 */
    SRV_SMTP_INJECT, /* sends bytes after its 220 to STARTTLS */
    SRV_SILENT,      /* accepts, never says anything */
};

struct server {
    enum srv_mode mode;
    int lfd;
    uint16_t port;
    SSL_CTX *ctx;
    pthread_t thr;
    int stop[2];
    int held[64];
    size_t nheld;
};

static SSL_CTX *server_ctx(const char *chain, const char *key, int max_version)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx)
        return NULL;
    if (max_version) {
        /* An old server for the weak_protocol check. */
        SSL_CTX_set_security_level(ctx, 0);
        SSL_CTX_set_cipher_list(ctx, "DEFAULT:@SECLEVEL=0");
        SSL_CTX_set_min_proto_version(ctx, TLS1_VERSION);
        SSL_CTX_set_max_proto_version(ctx, max_version);
    }
    if (SSL_CTX_use_certificate_chain_file(ctx, chain) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1) {
        fprintf(stderr, "server: cannot load %s / %s\n", chain, key);
        SSL_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

static int srv_line(int fd, char *buf, size_t cap)
{
    size_t n = 0;
    while (n + 1 < cap) {
        char c;
        ssize_t r = recv(fd, &c, 1, 0);
        if (r <= 0)
            return -1;
        if (c == '\n')
            break;
        if (c != '\r')
            buf[n++] = c;
    }
    buf[n] = '\0';
    return 0;
}

static int srv_say(int fd, const char *s)
{
    return send(fd, s, strlen(s), MSG_NOSIGNAL) == (ssize_t)strlen(s) ? 0 : -1;
}

/* The plain-text part of a STARTTLS server; 0 = go on with TLS. */
static int srv_dialogue(struct server *s, int fd)
{
    char line[512];
    switch (s->mode) {
    case SRV_SMTP:
    case SRV_SMTP_REFUSE:
    case SRV_SMTP_INJECT:
        if (srv_say(fd, "220-localhost ESMTP test\r\n220 second greeting line\r\n") < 0 ||
            srv_line(fd, line, sizeof line) < 0 || strncmp(line, "EHLO ", 5) != 0 ||
            srv_say(fd, "250-localhost\r\n250-PIPELINING\r\n250 STARTTLS\r\n") < 0 ||
            srv_line(fd, line, sizeof line) < 0 || strcmp(line, "STARTTLS") != 0)
            return -1;
        if (s->mode == SRV_SMTP_REFUSE)
            return srv_say(fd, "454 4.7.0 TLS not available\r\n"), -1;
        if (s->mode == SRV_SMTP_INJECT)
            return srv_say(fd, "220 go ahead\r\nMAIL FROM:<x@example.test>\r\n"), -1;
        return srv_say(fd, "220 2.0.0 Ready to start TLS\r\n");
    case SRV_IMAP:
        if (srv_say(fd, "* OK [CAPABILITY IMAP4rev1 STARTTLS] ready\r\n") < 0 ||
            srv_line(fd, line, sizeof line) < 0 || strcmp(line, "a001 STARTTLS") != 0)
            return -1;
        return srv_say(fd, "* NOTE untagged line first\r\na001 OK Begin TLS negotiation now\r\n");
    case SRV_POP3:
        if (srv_say(fd, "+OK POP3 ready\r\n") < 0 || srv_line(fd, line, sizeof line) < 0 ||
            strcmp(line, "STLS") != 0)
            return -1;
        return srv_say(fd, "+OK Begin TLS\r\n");
    default:
        return 0;
    }
}

static void *server_main(void *arg)
{
    struct server *s = arg;
    for (;;) {
        struct pollfd p[2] = {{.fd = s->lfd, .events = POLLIN},
                              {.fd = s->stop[0], .events = POLLIN}};
        if (poll(p, 2, -1) < 0 && errno != EINTR)
            break;
        if (p[1].revents)
            break;
        if (!(p[0].revents & POLLIN))
            continue;
        int fd = accept(s->lfd, NULL, NULL);
        if (fd < 0)
            continue;
        if (s->mode == SRV_SILENT) {
            if (s->nheld < sizeof s->held / sizeof s->held[0])
                s->held[s->nheld++] = fd;
            else
                close(fd);
            continue;
        }
        /* Bounded: a confused client cannot hang the server thread. */
        struct timeval tv = {.tv_sec = 5};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        if (srv_dialogue(s, fd) == 0) {
            SSL *ssl = SSL_new(s->ctx);
            SSL_set_fd(ssl, fd);
            if (SSL_accept(ssl) == 1)
                SSL_shutdown(ssl);
            SSL_free(ssl);
        }
        ERR_clear_error();
        close(fd);
    }
    ERR_clear_error();
    OPENSSL_thread_stop();
    return NULL;
}

static struct server *server_start(enum srv_mode mode, const char *chain, const char *key,
                                   int max_version)
{
    struct server *s = nm_xcalloc(1, sizeof *s);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    s->mode = mode;
    if (chain && !(s->ctx = server_ctx(chain, key, max_version)))
        goto fail;
    s->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s->lfd < 0 || bind(s->lfd, (struct sockaddr *)&a, sizeof a) < 0 || listen(s->lfd, 64) < 0 ||
        getsockname(s->lfd, (struct sockaddr *)&a, &al) < 0 || pipe(s->stop) < 0)
        goto fail;
    s->port = ntohs(a.sin_port);
    if (pthread_create(&s->thr, NULL, server_main, s) != 0)
        goto fail;
    return s;
fail:
    fprintf(stderr, "cannot start test server\n");
    exit(1);
}

static void server_stop(struct server *s)
{
    if (write(s->stop[1], "x", 1) != 1)
        abort();
    pthread_join(s->thr, NULL);
    for (size_t i = 0; i < s->nheld; i++)
        close(s->held[i]);
    close(s->lfd);
    close(s->stop[0]);
    close(s->stop[1]);
    SSL_CTX_free(s->ctx);
    free(s);
}

/* ------------------------------------------------------------------ */
/* Endpoint probes */

static json_t *probe_at(const char *spec, const char *ca, int64_t timeout_ms, int64_t now)
{
    struct nm_tls_target t;
    nm_diag d = {{0}};
    json_t *item = NULL;
    if (nm_tls_spec_parse(spec, "127.0.0.1", &t, &d) < 0) {
        fprintf(stderr, "%s: %s\n", spec, d.msg);
        return NULL;
    }
    t.ca_file = ca;
    t.now = now;
    if (nm_tls_probe(&t, nm_now_ms() + timeout_ms, &item, &d) < 0) {
        fprintf(stderr, "%s: probe failed: %s\n", spec, d.msg);
        return NULL;
    }
    return item;
}

static json_t *probe(const char *spec, const char *ca, int64_t timeout_ms)
{
    return probe_at(spec, ca, timeout_ms, NOW);
}

#define J_STR(o, k)  json_string_value(json_object_get((o), (k)))
#define J_INT(o, k)  json_integer_value(json_object_get((o), (k)))
#define J_TRUE(o, k) json_is_true(json_object_get((o), (k)))
#define J_NULL(o, k) json_is_null(json_object_get((o), (k)))

static void dump_on_failure(json_t *item, int failures_before)
{
    if (test_failures != failures_before && item) {
        char *s = json_dumps(item, JSON_INDENT(2) | JSON_SORT_KEYS);
        fprintf(stderr, "%s\n", s);
        free(s);
    }
}

static void test_valid_chain(void)
{
    struct server *s = server_start(SRV_TLS, PKI "server-chain.pem", PKI "server.key", 0);
    char spec[64];
    int f0 = test_failures;
    /* "localhost" may resolve to ::1 first, where nothing listens: the probe
     * must fall through to 127.0.0.1. */
    snprintf(spec, sizeof spec, "localhost:%u", s->port);
    json_t *it = probe(spec, PKI "root.pem", 5000);
    CHECK(it != NULL);
    CHECK(J_TRUE(it, "verified"));
    CHECK(J_NULL(it, "verify_error"));
    CHECK(J_TRUE(it, "hostname_ok"));
    CHECK(J_NULL(it, "error"));
    CHECK_STR(J_STR(it, "sni"), "localhost");
    CHECK_STR(J_STR(it, "starttls"), "none");
    CHECK_STR(J_STR(it, "protocol"), "TLSv1.3");
    CHECK(J_STR(it, "cipher") != NULL);
    CHECK(json_is_false(json_object_get(it, "weak_protocol")));
    char want_subject[64];
    snprintf(want_subject, sizeof want_subject, "localhost:%u", s->port);
    CHECK_STR(J_STR(it, "subject"), want_subject);
    snprintf(want_subject, sizeof want_subject, "127.0.0.1:%u", s->port);
    CHECK_STR(J_STR(it, "endpoint"), want_subject);
    json_t *chain = json_object_get(it, "chain");
    CHECK_INT(json_array_size(chain), 2);
    json_t *leaf = json_array_get(chain, 0), *inter = json_array_get(chain, 1);
    CHECK_STR(J_STR(leaf, "cn"), "localhost");
    CHECK_STR(J_STR(leaf, "issuer"), "CN=nearmiss Test Intermediate CA,O=nearmiss tests");
    CHECK_STR(J_STR(leaf, "not_after"), "2028-06-01T00:00:00Z");
    CHECK_STR(J_STR(leaf, "serial"), "1002");
    CHECK_STR(J_STR(leaf, "key_type"), "EC");
    CHECK_INT(J_INT(leaf, "position"), 0);
    CHECK_STR(json_string_value(json_array_get(json_object_get(leaf, "sans"), 1)), "127.0.0.1");
    CHECK(J_TRUE(inter, "is_ca"));
    CHECK_STR(J_STR(inter, "key_curve"), "secp384r1");
    CHECK_INT(J_INT(it, "leaf_days_left"), days_to(2028, 6, 1));
    CHECK_INT(J_INT(it, "days_left"), days_to(2028, 6, 1));
    CHECK_INT(J_INT(it, "min_chain_days_left"), days_to(2028, 6, 1));
    CHECK_STR(J_STR(it, "cn"), "localhost");
    CHECK(json_is_false(json_object_get(it, "expired")));
    dump_on_failure(it, f0);
    json_decref(it);

    /* By address: no SNI, the IP SAN is what matches. */
    f0 = test_failures;
    snprintf(spec, sizeof spec, "127.0.0.1:%u", s->port);
    it = probe(spec, PKI "root.pem", 5000);
    CHECK(it && J_NULL(it, "sni"));
    CHECK(it && J_TRUE(it, "hostname_ok"));
    CHECK(it && J_TRUE(it, "verified"));
    dump_on_failure(it, f0);
    json_decref(it);

    /* Hostname mismatch: the chain is fine, the name is not. */
    f0 = test_failures;
    struct nm_tls_target t;
    nm_diag d = {{0}};
    snprintf(spec, sizeof spec, "%u", s->port);
    CHECK(nm_tls_spec_parse(spec, "127.0.0.1", &t, &d) == 0);
    snprintf(t.sni, sizeof t.sni, "wrong.example.test");
    t.ca_file = PKI "root.pem";
    t.now = NOW;
    it = NULL;
    CHECK(nm_tls_probe(&t, nm_now_ms() + 5000, &it, &d) == 0);
    CHECK(it && J_TRUE(it, "verified"));
    CHECK(it && json_is_false(json_object_get(it, "hostname_ok")));
    CHECK(it && J_STR(it, "sni") && strcmp(J_STR(it, "sni"), "wrong.example.test") == 0);
    dump_on_failure(it, f0);
    json_decref(it);

    /* The system trust store does not know the test CA. */
    f0 = test_failures;
    t.ca_file = NULL;
    it = NULL;
    CHECK(nm_tls_probe(&t, nm_now_ms() + 5000, &it, &d) == 0);
    CHECK(it && json_is_false(json_object_get(it, "verified")));
    CHECK(it && J_STR(it, "verify_error") &&
          strcmp(J_STR(it, "verify_error"), "unable to get local issuer certificate") == 0);
    dump_on_failure(it, f0);
    json_decref(it);

    /* The real clock (now = 0): days_left follows the calendar. */
    t.ca_file = PKI "root.pem";
    t.now = 0;
    it = NULL;
    CHECK(nm_tls_probe(&t, nm_now_ms() + 5000, &it, &d) == 0);
    int64_t real_days =
        nm_days_between((int64_t)time(NULL), nm_days_from_civil(2028, 6, 1) * 86400);
    CHECK(it && (J_INT(it, "leaf_days_left") == real_days ||
                 J_INT(it, "leaf_days_left") == real_days + 1));
    json_decref(it);

    /* A CA file that does not exist is the caller's problem, not a result. */
    t.ca_file = PKI "no-such-ca.pem";
    it = NULL;
    CHECK(nm_tls_probe(&t, nm_now_ms() + 5000, &it, &d) == NM_ERR_IO);
    CHECK(it == NULL);
    server_stop(s);
}

/*
 * The sessions of a scan thread are fibers sharing the thread's OpenSSL
 * error queue: while the probe waits for the server, a neighbour leaves
 * errors of its own in that queue.  The probe must judge each handshake
 * step by what that step added, not fail the handshake for them.
 */
struct neighbour {
    const char *spec;
    bool probing; /* the probe has not returned yet */
    int started;  /* fibers begun: the first probes, the second interferes */
    int raised;   /* errors the neighbour left in the queue */
    json_t *item;
};

static void neighbour_body(void *arg)
{
    struct neighbour *n = arg;
    /* Both fibers run on this one thread: plain counters suffice. */
    if (n->started++ == 0) {
        n->item = probe(n->spec, PKI "root.pem", 5000);
        n->probing = false;
        return;
    }
    while (n->probing) {
        ERR_raise(ERR_LIB_SSL, SSL_R_BAD_LENGTH);
        n->raised++;
        nm_sleep_ms(0); /* back as soon as the thread has looked at its sockets */
    }
}

static void test_neighbour_errors(void)
{
    struct server *s = server_start(SRV_TLS, PKI "server-chain.pem", PKI "server.key", 0);
    char spec[64];
    snprintf(spec, sizeof spec, "127.0.0.1:%u", s->port);
    struct neighbour n = {.spec = spec, .probing = true};
    CHECK_INT(nm_fibers_run(2, 256u << 10, neighbour_body, &n), 0);
    int f0 = test_failures;
    CHECK(n.raised > 0); /* the neighbour did run while the probe waited */
    CHECK(n.item != NULL);
    CHECK(n.item && J_NULL(n.item, "error"));
    CHECK(n.item && J_TRUE(n.item, "verified"));
    CHECK(n.item && J_STR(n.item, "protocol") && strcmp(J_STR(n.item, "protocol"), "TLSv1.3") == 0);
    dump_on_failure(n.item, f0);
    json_decref(n.item);
    ERR_clear_error();
    server_stop(s);
}

static void test_expired_and_incomplete(void)
{
    struct server *s =
        server_start(SRV_TLS, PKI "expired-server-chain.pem", PKI "expired-server.key", 0);
    char spec[64];
    int f0 = test_failures;
    snprintf(spec, sizeof spec, "localhost:%u", s->port);
    json_t *it = probe(spec, PKI "root.pem", 5000);
    CHECK(it && json_is_false(json_object_get(it, "verified")));
    CHECK(it && J_STR(it, "verify_error") &&
          strcmp(J_STR(it, "verify_error"), "certificate has expired") == 0);
    CHECK(it && J_TRUE(it, "hostname_ok"));
    CHECK(it && J_TRUE(it, "expired"));
    CHECK(it && J_INT(it, "leaf_days_left") == days_to(2026, 11, 1));
    CHECK(it && J_INT(it, "leaf_days_left") == -23);
    dump_on_failure(it, f0);
    json_decref(it);
    server_stop(s);

    /* Leaf only, and a trust store with only the root: the intermediate is
     * missing. */
    s = server_start(SRV_TLS, PKI "server.pem", PKI "server.key", 0);
    f0 = test_failures;
    snprintf(spec, sizeof spec, "localhost:%u", s->port);
    it = probe(spec, PKI "root.pem", 5000);
    CHECK(it && json_is_false(json_object_get(it, "verified")));
    CHECK(it && J_STR(it, "verify_error") &&
          strcmp(J_STR(it, "verify_error"), "unable to get local issuer certificate") == 0);
    CHECK(it && json_array_size(json_object_get(it, "chain")) == 1);
    CHECK(it && J_TRUE(it, "hostname_ok"));
    dump_on_failure(it, f0);
    json_decref(it);
    server_stop(s);
}

static int64_t at(const char *iso)
{
    int64_t t = 0;
    CHECK(nm_utc_parsen(iso, strlen(iso), &t) == 0);
    return t;
}

/* tls-expiry judges one endpoint item at `now`: its finding, or NULL. */
static json_t *judge_endpoint(const struct nm_check *c, json_t *item)
{
    char name[] = "host1";
    struct nm_host h = {.name = name};
    json_t *items = json_pack("[O]", item), *findings = json_array();
    json_decref(nm_check_judge_items(c, &h, items, findings, NULL));
    json_t *f = json_incref(json_array_get(findings, 0));
    CHECK(json_array_size(findings) <= 1);
    json_decref(findings);
    json_decref(items);
    return f;
}

/* The served leaf (2026-06-01 .. 2028-06-01, 731 days: a long life) is
 * expected renewed 30 days before it expires, 2028-05-02; past that and
 * before the 28-day tier, tls-expiry says "overdue for renewal" (medium). */
static void test_renewal_overdue(void)
{
    struct nm_checkset cs;
    nm_diag d = {{0}};
    nm_checkset_init(&cs);
    CHECK_INT(nm_checkset_load_dir(&cs, "../checks", &d), 0);
    const struct nm_check *c = nm_checkset_find(&cs, "tls-expiry");
    CHECK(c != NULL);
    struct server *s = server_start(SRV_TLS, PKI "server-chain.pem", PKI "server.key", 0);
    char spec[64];
    snprintf(spec, sizeof spec, "localhost:%u", s->port);
    static const struct {
        const char *now, *severity, *message;
        int days_past;
    } cases[] = {
        {"2026-11-24T00:00:00Z", NULL, NULL, -525},
        {"2028-05-01T23:59:59Z", NULL, NULL, -1},
        {"2028-05-02T00:00:00Z", "medium",
         "that is overdue for renewal: renewal expected by 2028-05-02T00:00:00Z, expires in 30 "
         "days",
         0},
        {"2028-05-03T12:00:00Z", "medium",
         "that is overdue for renewal: renewal expected by 2028-05-02T00:00:00Z, expires in 28 "
         "days",
         1},
        {"2028-05-05T00:00:00Z", "medium", "that expires in 27 days, on 2028-06-01T00:00:00Z", 3},
        {"2028-05-20T00:00:00Z", "high", "that expires in 12 days", 18},
    };
    for (size_t i = 0; c && i < sizeof cases / sizeof *cases; i++) {
        int f0 = test_failures;
        json_t *it = probe_at(spec, PKI "root.pem", 5000, at(cases[i].now));
        CHECK(it && J_NULL(it, "error") && J_TRUE(it, "verified"));
        CHECK_STR(J_STR(it, "renewal_expected_by"), "2028-05-02T00:00:00Z");
        CHECK_STR(J_STR(it, "renewal_habit"), "30-days-left");
        CHECK_STR(J_STR(it, "not_before"), "2026-06-01T00:00:00Z");
        CHECK_INT(J_INT(it, "lifetime_days"), 731);
        CHECK_INT(J_INT(it, "days_past_renewal"), cases[i].days_past);
        CHECK(json_is_boolean(json_object_get(it, "renewal_overdue")) &&
              J_TRUE(it, "renewal_overdue") == (cases[i].days_past >= 0));
        CHECK(J_STR(it, "evidence") &&
              strstr(J_STR(it, "evidence"), "renewal expected by 2028-05-02T00:00:00Z"));
        json_t *f = it ? judge_endpoint(c, it) : NULL;
        if (!cases[i].severity) {
            CHECK(f == NULL);
        } else {
            CHECK_STR(J_STR(f, "severity"), cases[i].severity);
            CHECK(J_STR(f, "message") && strstr(J_STR(f, "message"), cases[i].message));
            CHECK(J_STR(f, "evidence") &&
                  strstr(J_STR(f, "evidence"), "renewal expected by 2028-05-02T00:00:00Z"));
        }
        if (test_failures != f0)
            fprintf(stderr, "renewal at %s:\n", cases[i].now);
        dump_on_failure(f, f0);
        dump_on_failure(it, f0);
        json_decref(f);
        json_decref(it);
    }
    server_stop(s);
    nm_checkset_finish(&cs);
}

static void test_starttls(void)
{
    static const struct {
        enum srv_mode mode;
        const char *proto;
        const char *want_kind; /* NULL = handshake expected */
    } cases[] = {
        {SRV_SMTP, "smtp", NULL},
        {SRV_IMAP, "imap", NULL},
        {SRV_POP3, "pop3", NULL},
        {SRV_SMTP_REFUSE, "smtp", "starttls"},
        {SRV_SMTP_INJECT, "smtp", "starttls"},
        {SRV_TLS, "smtp", "timeout"}, /* a TLS server says nothing first */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct server *s = server_start(cases[i].mode, PKI "server-chain.pem", PKI "server.key", 0);
        char spec[64];
        int f0 = test_failures;
        snprintf(spec, sizeof spec, "localhost:%u/%s", s->port, cases[i].proto);
        json_t *it = probe(spec, PKI "root.pem", 1500);
        CHECK(it != NULL);
        CHECK_STR(J_STR(it, "starttls"), cases[i].proto);
        if (!cases[i].want_kind) {
            CHECK(J_TRUE(it, "verified"));
            CHECK(J_TRUE(it, "hostname_ok"));
            CHECK(J_NULL(it, "error"));
            CHECK_INT(json_array_size(json_object_get(it, "chain")), 2);
        } else {
            CHECK_STR(J_STR(it, "error_kind"), cases[i].want_kind);
            CHECK(json_is_false(json_object_get(it, "verified")));
        }
        if (test_failures != f0)
            fprintf(stderr, "STARTTLS case %zu (%s)\n", i, spec);
        dump_on_failure(it, f0);
        json_decref(it);
        server_stop(s);
    }
}

static void test_timeout_and_refused(void)
{
    struct server *s = server_start(SRV_SILENT, NULL, NULL, 0);
    char spec[64];
    struct timespec t0;
    snprintf(spec, sizeof spec, "127.0.0.1:%u", s->port);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    json_t *it = probe(spec, PKI "root.pem", 1000);
    double el = secs_since(&t0);
    CHECK(it && J_STR(it, "error_kind") && strcmp(J_STR(it, "error_kind"), "timeout") == 0);
    CHECK(it && J_STR(it, "error") && strstr(J_STR(it, "error"), "handshake"));
    CHECK(el >= 0.9 && el < 2.0);
    printf("silent server: timeout after %.3f s (deadline 1 s)\n", el);
    json_decref(it);
    server_stop(s);

    /* A port nobody listens on. */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    CHECK(bind(fd, (struct sockaddr *)&a, sizeof a) == 0);
    CHECK(getsockname(fd, (struct sockaddr *)&a, &al) == 0);
    close(fd);
    snprintf(spec, sizeof spec, "127.0.0.1:%u", ntohs(a.sin_port));
    clock_gettime(CLOCK_MONOTONIC, &t0);
    it = probe(spec, PKI "root.pem", 5000);
    el = secs_since(&t0);
    CHECK(it && J_STR(it, "error_kind") && strcmp(J_STR(it, "error_kind"), "connect") == 0);
    CHECK(it && J_STR(it, "error") && strstr(J_STR(it, "error"), "refused"));
    CHECK(el < 3.0); /* refused at once: it must not sit out the 5 s deadline */
    json_decref(it);

    /* A name that does not resolve (.invalid is reserved for exactly this). */
    it = probe("no-such-host.invalid:443", NULL, 5000);
    CHECK(it && J_STR(it, "error_kind") && strcmp(J_STR(it, "error_kind"), "resolve") == 0);
    json_decref(it);
}

static void test_old_protocol(void)
{
    struct server *s =
        server_start(SRV_TLS, PKI "server-chain.pem", PKI "server.key", TLS1_1_VERSION);
    char spec[64];
    int f0 = test_failures;
    snprintf(spec, sizeof spec, "localhost:%u", s->port);
    json_t *it = probe(spec, PKI "root.pem", 5000);
    CHECK(it != NULL);
    const char *err = it ? J_STR(it, "error") : NULL;
    if (err && (strstr(err, "no protocols available") || strstr(err, "unsupported protocol"))) {
        /* An OpenSSL built without TLS 1.1 cannot play the old server. */
        printf("SKIP old protocol: %s\n", err);
        json_decref(it);
        server_stop(s);
        return;
    }
    CHECK_STR(J_STR(it, "protocol"), "TLSv1.1");
    CHECK(J_TRUE(it, "weak_protocol"));
    dump_on_failure(it, f0);
    json_decref(it);
    server_stop(s);
}

struct worker {
    uint16_t port;
    int ok;
};

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    char spec[64];
    snprintf(spec, sizeof spec, "localhost:%u", w->port);
    for (int i = 0; i < 4; i++) {
        json_t *it = probe(spec, PKI "root.pem", 10000);
        if (it && J_TRUE(it, "verified") && J_TRUE(it, "hostname_ok"))
            w->ok++;
        json_decref(it);
    }
    OPENSSL_thread_stop();
    return NULL;
}

static void test_concurrency(void)
{
    struct server *s = server_start(SRV_TLS, PKI "server-chain.pem", PKI "server.key", 0);
    struct worker w[8];
    pthread_t th[8];
    for (int i = 0; i < 8; i++) {
        w[i] = (struct worker){.port = s->port};
        CHECK(pthread_create(&th[i], NULL, worker_main, &w[i]) == 0);
    }
    int ok = 0;
    for (int i = 0; i < 8; i++) {
        pthread_join(th[i], NULL);
        ok += w[i].ok;
    }
    CHECK_INT(ok, 32);
    server_stop(s);
}

/* ------------------------------------------------------------------ */
/* Inventory spec syntax */

static void test_specs(void)
{
    struct nm_tls_target t;
    nm_diag d = {{0}};

    CHECK(nm_tls_spec_parse("443", "db1.example.org", &t, &d) == 0);
    CHECK_STR(t.host, "db1.example.org");
    CHECK_INT(t.port, 443);
    CHECK_STR(t.sni, "db1.example.org");
    CHECK_INT(t.starttls, NM_STARTTLS_NONE);
    CHECK(t.ca_file == NULL && t.now == 0);

    CHECK(nm_tls_spec_parse("mail.example.org:25/starttls", NULL, &t, &d) == 0);
    CHECK_STR(t.host, "mail.example.org");
    CHECK_INT(t.port, 25);
    CHECK_INT(t.starttls, NM_STARTTLS_SMTP);
    CHECK(nm_tls_spec_parse("mail.example.org:587/starttls", NULL, &t, &d) == 0);
    CHECK_INT(t.starttls, NM_STARTTLS_SMTP);
    CHECK(nm_tls_spec_parse("mail.example.org:143/starttls", NULL, &t, &d) == 0);
    CHECK_INT(t.starttls, NM_STARTTLS_IMAP);
    CHECK(nm_tls_spec_parse("mail.example.org:110/STARTTLS", NULL, &t, &d) == 0);
    CHECK_INT(t.starttls, NM_STARTTLS_POP3);
    CHECK(nm_tls_spec_parse("mail.example.org:2525/smtp", NULL, &t, &d) == 0);
    CHECK_INT(t.starttls, NM_STARTTLS_SMTP);
    CHECK(nm_tls_spec_parse("mail.example.org:1143/imap", NULL, &t, &d) == 0);
    CHECK_INT(t.starttls, NM_STARTTLS_IMAP);
    CHECK(nm_tls_spec_parse("mail.example.org:1110/pop3", NULL, &t, &d) == 0);
    CHECK_INT(t.starttls, NM_STARTTLS_POP3);
    CHECK(nm_tls_spec_parse("25/starttls", "mx1", &t, &d) == 0);
    CHECK_STR(t.host, "mx1");
    CHECK_INT(t.starttls, NM_STARTTLS_SMTP);
    CHECK(nm_tls_spec_parse("443/tls", "mx1", &t, &d) == 0);
    CHECK_INT(t.starttls, NM_STARTTLS_NONE);

    CHECK(nm_tls_spec_parse("[2001:db8::1]:8443", NULL, &t, &d) == 0);
    CHECK_STR(t.host, "2001:db8::1");
    CHECK_INT(t.port, 8443);
    CHECK_STR(t.sni, "");
    CHECK(nm_tls_spec_parse("[fe80::1%eth0]:443", NULL, &t, &d) == 0);
    CHECK_STR(t.host, "fe80::1%eth0");
    CHECK(nm_tls_spec_parse("192.0.2.7:993", NULL, &t, &d) == 0);
    CHECK_STR(t.host, "192.0.2.7");
    CHECK_STR(t.sni, "");
    CHECK(nm_tls_spec_parse("443", "2001:db8::5", &t, &d) == 0);
    CHECK_STR(t.host, "2001:db8::5");
    CHECK(nm_tls_spec_parse("443", "[2001:db8::5]", &t, &d) == 0);
    CHECK_STR(t.host, "2001:db8::5");

    static const char *const bad[] = {
        "",
        "0",
        "65536",
        "99999999999999999999",
        "443x",
        "host:",
        ":443",
        "host:443/ftp",
        "host:8025/starttls",
        "2001:db8::1:443",
        "[2001:db8::1]",
        "[2001:db8::1]443",
        "[not-an-address]:443",
        "bad host:443",
        "-lead.example:443",
        "host:-1",
        "host:443/",
        "a/b:443",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        d.msg[0] = '\0';
        int r = nm_tls_spec_parse(bad[i], "127.0.0.1", &t, &d);
        if (r != NM_ERR_INVAL || !d.msg[0])
            fprintf(stderr, "spec \"%s\" accepted\n", bad[i]);
        CHECK(r == NM_ERR_INVAL && d.msg[0]);
    }
    CHECK(nm_tls_spec_parse("443", NULL, &t, &d) == NM_ERR_INVAL);
    char longspec[700];
    memset(longspec, 'a', sizeof longspec - 1);
    longspec[sizeof longspec - 1] = '\0';
    CHECK(nm_tls_spec_parse(longspec, NULL, &t, &d) == NM_ERR_INVAL);
    CHECK_STR(nm_starttls_name(NM_STARTTLS_IMAP), "imap");
}

/* ------------------------------------------------------------------ */
/* The x509_files probe script on a fake tree */

static int run_in(const char *const argv[], const char *root, const char *path_env,
                  const char *stdin_file, char **out, size_t *out_len)
{
    int p[2];
    if (pipe(p) < 0)
        return -1;
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        dup2(p[1], 1);
        close(p[0]);
        close(p[1]);
        if (stdin_file) {
            int in = open(stdin_file, O_RDONLY);
            int nul = open("/dev/null", O_WRONLY);
            if (in < 0 || nul < 0)
                _exit(126);
            dup2(in, 0);
            dup2(nul, 2); /* the framed stderr sections: not looked at here */
        }
        if (root)
            setenv("NM_X509_ROOT", root, 1);
        if (path_env)
            setenv("PATH", path_env, 1);
        /* execv's prototype predates const; it does not write. */
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    close(p[1]);
    struct nm_buf b;
    nm_buf_init(&b, 64u << 20);
    char chunk[65536];
    ssize_t n;
    while ((n = read(p[0], chunk, sizeof chunk)) > 0 || (n < 0 && errno == EINTR))
        if (n > 0)
            nm_buf_append(&b, chunk, (size_t)n);
    close(p[0]);
    int st;
    waitpid(pid, &st, 0);
    if (out)
        *out = nm_buf_steal(&b, out_len);
    else
        nm_buf_finish(&b);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int run(const char *const argv[], const char *root, const char *path_env, char **out,
               size_t *out_len)
{
    return run_in(argv, root, path_env, NULL, out, out_len);
}

static json_t *find_subject(json_t *items, const char *root, const char *suffix)
{
    char *want = nm_xasprintf("%s%s", root, suffix);
    size_t i;
    json_t *v, *found = NULL;
    json_array_foreach (items, i, v) {
        if (strcmp(J_STR(v, "subject"), want) == 0)
            found = v;
    }
    if (!found)
        fprintf(stderr, "no item with subject %s\n", want);
    free(want);
    return found;
}

static void check_probe_output(const char *shell, const char *root, const char *out, size_t len)
{
    const struct nm_parser_def *p = nm_parser_find("x509_files");
    json_t *opts = json_pack("{s:s}", "now", NOW_ISO), *items = NULL;
    nm_diag d = {{0}};
    int f0 = test_failures;
    CHECK(p && p->fn(out, len, opts, &items, &d) == 0);
    json_decref(opts);
    if (!items)
        return;

    /* The key body never leaves the host; the key's presence does. */
    char *keyfile = NULL;
    size_t keylen;
    if (nm_read_file(PKI "combo.key", 1 << 16, &keyfile, &keylen, &d) == 0) {
        const char *line2 = strchr(keyfile, '\n');
        CHECK(line2 && !memmem(out, len, line2 + 1, 40));
        free(keyfile);
    }
    CHECK(!memmem(out, len, "hunter2", 7));

    json_t *v;
    /* live/a/cert.pem and ssl/dup.crt are one file (same realpath). */
    v = find_subject(items, root, "/etc/letsencrypt/live/a/cert.pem");
    CHECK(v && J_INT(v, "days_left") == 3);
    CHECK(v && json_array_size(json_object_get(v, "paths")) == 2);
    v = find_subject(items, root, "/etc/ssl/my certs/web server.pem");
    CHECK(v && J_INT(v, "days_left") == 10);
    v = find_subject(items, root, "/etc/pki/tls/certs/localhost.crt");
    CHECK(v && J_INT(v, "days_left") == 20);
    v = find_subject(items, root, "/etc/ssl/combo.pem");
    CHECK(v && J_TRUE(v, "has_private_key") && J_TRUE(v, "key_world_readable"));
    v = find_subject(items, root, "/etc/ssl/der.crt");
    CHECK(v && J_INT(v, "days_left") == 60);
    v = find_subject(items, root, "/etc/ssl/der-key.crt");
    CHECK(v && strcmp(J_STR(v, "error"), "no certificate found") == 0);
    v = find_subject(items, root, "/srv/tls/secret.txt");
    CHECK(v && strcmp(J_STR(v, "error"), "no certificate found") == 0);
    v = find_subject(items, root, "/etc/ssl/big.pem");
    CHECK(v && J_STR(v, "error") && strcmp(J_STR(v, "error"), "too big") == 0);
    CHECK(v && J_INT(v, "size") == 1500000);
    /* nginx (through the sites-enabled symlink), relative and variable paths;
     * postfix names the same fullchain (listed once). */
    v = find_subject(items, root, "/srv/tls/fullchain.pem");
    CHECK(v && strcmp(J_STR(v, "cn"), "chain.example.test") == 0);
    v = find_subject(items, root, "/srv/tls/fullchain.pem#1");
    CHECK(v && J_TRUE(v, "is_ca"));
    v = find_subject(items, root, "/etc/nginx/relative.pem");
    CHECK(v && strcmp(J_STR(v, "cn"), "ec256.example.test") == 0);
    /* Apache, case-insensitive directive; a missing file is reported. */
    v = find_subject(items, root, "/srv/tls/apache.crt");
    CHECK(v && J_TRUE(v, "weak_key"));
    v = find_subject(items, root, "/srv/tls/missing.pem");
    CHECK(v && strcmp(J_STR(v, "error"), "not found") == 0);
    /* HAProxy crt relative to crt-base, with its key (stripped). */
    v = find_subject(items, root, "/srv/haproxy/site.pem");
    CHECK(v && J_TRUE(v, "has_private_key") && J_INT(v, "key_bits") == 224);
    v = find_subject(items, root, "/srv/tls/dovecot.pem");
    CHECK(v && J_TRUE(v, "not_yet_valid"));
    v = find_subject(items, root, "/etc/kubernetes/pki/apiserver.crt");
    CHECK(v && strcmp(J_STR(v, "key_type"), "Ed25519") == 0);
    v = find_subject(items, root, "/etc/kubernetes/pki/etcd/ca.crt");
    CHECK(v && J_TRUE(v, "self_signed") && J_TRUE(v, "is_ca"));
    v = find_subject(items, root, "/var/lib/kubelet/pki/kubelet-client-current.pem");
    CHECK(v && J_TRUE(v, "weak_sig") && J_TRUE(v, "has_private_key"));
    /* Nothing from CA stores, private/, bundles or below -maxdepth. */
    size_t i;
    json_array_foreach (items, i, v) {
        const char *s = J_STR(v, "subject");
        CHECK(!strstr(s, "/etc/ssl/certs/") && !strstr(s, "/etc/ssl/private/") &&
              !strstr(s, "bundle") && !strstr(s, "ca-certificates") && !strstr(s, "too-deep") &&
              !strstr(s, "ssl_server_name"));
    }
    CHECK_INT(json_array_size(items), 18);
    if (test_failures != f0) {
        char *dump = json_dumps(items, JSON_INDENT(1));
        fprintf(stderr, "probe run with %s:\n%s\n", shell, dump);
        free(dump);
    }
    json_decref(items);
}

/* The certificate files probe as a scan sends it: from the check files. */
/* The probe as the shipped checks define it; *raw says whether the check
 * set marked its output as bytes to be sent unchanged (it reads DER). */
static char *files_probe_script(bool *raw)
{
    struct nm_checkset cs;
    nm_diag d = {{0}};
    char *script = NULL;
    nm_checkset_init(&cs);
    if (nm_checkset_load_dir(&cs, "../checks", &d) < 0)
        fprintf(stderr, "checks: %s\n", d.msg);
    for (size_t i = 0; i < cs.n_probes && !script; i++)
        if (strcmp(cs.probes[i]->id, "x509-files") == 0) {
            script = nm_xstrdup(cs.probes[i]->script);
            *raw = cs.probes[i]->raw_output;
        }
    nm_checkset_finish(&cs);
    return script;
}

static void test_probe_script(void)
{
    bool raw = false;
    char *files_probe = files_probe_script(&raw);
    CHECK(files_probe != NULL);
    CHECK(raw);
    if (!files_probe)
        return;
    char root[] = "/tmp/nm-x509-tree.XXXXXX";
    if (!mkdtemp(root)) {
        CHECK(!"mkdtemp");
        free(files_probe);
        return;
    }
    const char *mk[] = {"/bin/sh", "tls/make-tree.sh", root, "tls/pki", NULL};
    CHECK(run(mk, NULL, NULL, NULL, NULL) == 0);

    char *out = NULL;
    size_t len = 0;
    const char *sh[] = {"/bin/sh", "-c", files_probe, NULL};
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CHECK(run(sh, root, NULL, &out, &len) == 0);
    printf("probe script (/bin/sh): %zu bytes in %.3f s\n", len, secs_since(&t0));
    check_probe_output("/bin/sh", root, out, len);

    /* busybox (sh and every tool), as on Alpine and small appliances. */
    const char *bb = access("/usr/bin/busybox", X_OK) == 0 ? "/usr/bin/busybox"
                     : access("/bin/busybox", X_OK) == 0   ? "/bin/busybox"
                                                           : NULL;
    if (bb) {
        char *bindir = nm_xasprintf("%s/.bb", root);
        static const char *const tools[] = {"sh",   "find", "grep",   "sed",      "sort",
                                            "head", "ls",   "dd",     "readlink", "wc",
                                            "tr",   "cat",  "printf", "awk",      "od"};
        mkdir(bindir, 0755);
        for (size_t i = 0; i < sizeof tools / sizeof tools[0]; i++) {
            char *l = nm_xasprintf("%s/%s", bindir, tools[i]);
            CHECK(symlink(bb, l) == 0);
            free(l);
        }
        char *bbsh = nm_xasprintf("%s/sh", bindir);
        const char *argv[] = {bbsh, "-c", files_probe, NULL};
        char *out2 = NULL;
        size_t len2 = 0;
        CHECK(run(argv, root, bindir, &out2, &len2) == 0);
        CHECK(len2 == len && memcmp(out, out2, len) == 0);
        check_probe_output("busybox", root, out2, len2);
        free(out2);
        free(bbsh);
        free(bindir);
    } else {
        printf("busybox not found: probe checked with /bin/sh only\n");
    }
    free(out);

    /* The whole path of a scan: the probe inside the host script (built by
     * nm_script_build, fed to sh -s as over SSH), split back by markers,
     * then parsed.  The parser must see the same bytes as above. */
    struct nm_probe_spec spec = {.id = "x509-files",
                                 .script = files_probe,
                                 .timeout_s = 120,
                                 .cap = 8u << 20,
                                 .raw = raw};
    char marker[NM_MARKER_LEN + 1];
    struct nm_buf script;
    nm_diag d = {{0}};
    nm_buf_init(&script, 1u << 20);
    CHECK(nm_marker_generate(marker) == 0);
    CHECK(nm_script_build(&spec, 1, marker, &script, &d) == 0);
    char *sfile = nm_xasprintf("%s/.script", root);
    CHECK(nm_write_atomic(sfile, script.data, script.len, 0600, &d) == 0);
    const char *shs[] = {"/bin/sh", "-s", NULL};
    char *whole = NULL;
    size_t whole_len = 0;
    CHECK(run_in(shs, root, NULL, sfile, &whole, &whole_len) == 0);
    struct nm_splitter *sp = nm_splitter_create(marker, &spec, 1, 16u << 20);
    nm_splitter_feed(sp, 0, whole, whole_len);
    nm_splitter_finish(sp);
    const struct nm_section *sec = nm_splitter_find(sp, "x509-files");
    CHECK(sec && sec->state == NM_SECTION_DONE && sec->exit_code == 0);
    if (sec && sec->state == NM_SECTION_DONE)
        check_probe_output("nm_script_build + sh -s", root, sec->out.data, sec->out.len);
    nm_splitter_destroy(sp);
    free(whole);
    free(sfile);
    nm_buf_finish(&script);
    const char *rm[] = {"/bin/rm", "-rf", root, NULL};
    run(rm, NULL, NULL, NULL, NULL);
    free(files_probe);
}

/*
 * The checks in checks/ are the one source of the certificate files probe.
 * Every check that reads certificate files must run that same probe (one
 * run per host, and the parser relies on its framing and redaction): the
 * loader already refuses two different scripts under one probe id, so what
 * is left to hold is that they all name the one id.
 */
static void test_checks_share_the_probe(void)
{
    struct nm_checkset cs;
    nm_diag d = {{0}};
    nm_checkset_init(&cs);
    CHECK_INT(nm_checkset_load_dir(&cs, "../checks", &d), 0);
    const struct nm_probe_def *probe = NULL;
    size_t found = 0;
    for (size_t i = 0; i < cs.n_checks; i++) {
        const struct nm_check *c = &cs.checks[i];
        if (!c->parser || strcmp(c->parser->name, "x509_files") != 0)
            continue;
        found++;
        if (!probe)
            probe = c->probe;
        if (c->probe != probe)
            fprintf(stderr, "%s: probe %s, not %s\n", c->origin, c->probe->id, probe->id);
        CHECK(c->probe == probe);
    }
    CHECK(found >= 1);
    CHECK(probe && strcmp(probe->id, "x509-files") == 0);
    printf("checks in ../checks using x509_files: %zu\n", found);
    nm_checkset_finish(&cs);
}

/* ------------------------------------------------------------------ */
/* x509_files parser: large inputs */

static X509 *make_cert(EVP_PKEY *key, long serial)
{
    X509 *x = X509_new();
    X509_NAME *n = X509_NAME_new();
    char cn[64];
    snprintf(cn, sizeof cn, "bulk-%ld.example.test", serial);
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_version(x, X509_VERSION_3);
    ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
    X509_set_subject_name(x, n);
    X509_set_issuer_name(x, n);
    ASN1_TIME_set(X509_getm_notBefore(x), (time_t)(NOW - 86400));
    ASN1_TIME_set(X509_getm_notAfter(x), (time_t)(NOW + 30 * 86400));
    X509_set_pubkey(x, key);
    X509_sign(x, key, EVP_sha256());
    X509_NAME_free(n);
    return x;
}

static void frame_header(struct nm_buf *b, const char *path, size_t size)
{
    nm_buf_appendf(b, "--- nm-file %zu %s %s mode=-rw-r--r-- uid=0 ---\n", size, path, path);
}

static json_t *parse_timed(const char *what, const char *data, size_t len, double *ret_secs)
{
    const struct nm_parser_def *p = nm_parser_find("x509_files");
    json_t *opts = json_pack("{s:s}", "now", NOW_ISO), *items = NULL;
    nm_diag d = {{0}};
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int r = p->fn(data, len, opts, &items, &d);
    double el = secs_since(&t0);
    json_decref(opts);
    CHECK(r == 0);
    printf("%-52s %9zu bytes  %7.3f s  %zu items\n", what, len, el, json_array_size(items));
    if (ret_secs)
        *ret_secs = el;
    return items;
}

static void test_bulk(void)
{
    EVP_PKEY *key = EVP_EC_gen("P-256");
    CHECK(key != NULL);
    if (!key)
        return;
    BIO *mem = BIO_new(BIO_s_mem());
    struct nm_buf one, b;
    struct timespec t0;
    size_t *off = nm_xcalloc(10002, sizeof *off); /* off[i]: where PEM i starts */
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (long i = 0; i < 10001; i++) {
        X509 *x = make_cert(key, 100000 + i);
        PEM_write_bio_X509(mem, x);
        X509_free(x);
        off[i + 1] = (size_t)BIO_pending(mem);
    }
    char *pem;
    long pemlen = BIO_get_mem_data(mem, &pem);
    printf("generated 10001 certificates (%ld bytes PEM) in %.3f s\n", pemlen, secs_since(&t0));
    size_t one_len = off[1];
    size_t len10k = off[10000];
    double el;
    json_t *items;

    /* 10 000 distinct certificates in one file: all of them, fast. */
    nm_buf_init(&b, SIZE_MAX);
    frame_header(&b, "/etc/ssl/bulk.pem", len10k);
    nm_buf_append(&b, pem, len10k);
    nm_buf_append(&b, "\n", 1);
    items = parse_timed("10 000 distinct certificates, one frame", b.data, b.len, &el);
    CHECK_INT(json_array_size(items), 10000);
    CHECK_STR(J_STR(json_array_get(items, 0), "subject"), "/etc/ssl/bulk.pem");
    CHECK_STR(J_STR(json_array_get(items, 9999), "subject"), "/etc/ssl/bulk.pem#9999");
    CHECK_INT(J_INT(json_array_get(items, 9999), "days_left"), 30);
    CHECK(J_TRUE(json_array_get(items, 9999), "self_signed"));
    (void)el; /* timings are printed; bench/ measures, tests do not time */
    json_decref(items);
    nm_buf_finish(&b);

    /* 10 001: the cap, said in an item. */
    nm_buf_init(&b, SIZE_MAX);
    frame_header(&b, "/etc/ssl/bulk.pem", (size_t)pemlen);
    nm_buf_append(&b, pem, (size_t)pemlen);
    nm_buf_append(&b, "\n", 1);
    items = parse_timed("10 001 certificates, one frame (cap 10 000)", b.data, b.len, NULL);
    CHECK_INT(json_array_size(items), 10001);
    json_t *last = json_array_get(items, 10000);
    CHECK(J_STR(last, "error") && strstr(J_STR(last, "error"), "more than 10000 certificates"));
    json_decref(items);
    nm_buf_finish(&b);

    /* One certificate 10 000 times in one file: one item. */
    nm_buf_init(&one, SIZE_MAX);
    nm_buf_init(&b, SIZE_MAX);
    for (int i = 0; i < 10000; i++)
        nm_buf_append(&one, pem, one_len);
    frame_header(&b, "/etc/ssl/same.pem", one.len);
    nm_buf_append(&b, one.data, one.len);
    nm_buf_append(&b, "\n", 1);
    items = parse_timed("one certificate 10 000 times, one frame", b.data, b.len, NULL);
    CHECK_INT(json_array_size(items), 1);
    CHECK_INT(json_array_size(json_object_get(json_array_get(items, 0), "paths")), 1);
    json_decref(items);
    nm_buf_finish(&b);
    nm_buf_finish(&one);

    /* 50 MB inputs. */
    size_t big = 50u << 20;
    char *junk = nm_xmalloc(big);
    unsigned x = 12345;
    for (size_t i = 0; i < big; i++) {
        x = x * 1103515245u + 12345u;
        junk[i] = (char)(x >> 16);
    }
    items = parse_timed("50 MB random bytes, no frame", junk, big, &el);
    CHECK_INT(json_array_size(items), 0);
    (void)el; /* timings are printed; bench/ measures, tests do not time */
    json_decref(items);

    /* One frame holding 50 MB: refused by size, not parsed. */
    nm_buf_init(&b, SIZE_MAX);
    frame_header(&b, "/etc/ssl/huge.pem", big);
    nm_buf_append(&b, junk, big);
    nm_buf_append(&b, "\n", 1);
    items = parse_timed("one 50 MB frame", b.data, b.len, &el);
    CHECK_INT(json_array_size(items), 1);
    CHECK_STR(J_STR(json_array_get(items, 0), "error"), "too big");
    (void)el; /* timings are printed; bench/ measures, tests do not time */
    json_decref(items);
    nm_buf_finish(&b);

    /* 50 MB of frames of one certificate each: the frame cap stops it. */
    nm_buf_init(&b, SIZE_MAX);
    for (long i = 0; b.len < big; i++) {
        char path[64];
        snprintf(path, sizeof path, "/etc/ssl/f%ld.pem", i);
        size_t k = (size_t)i % 10000;
        frame_header(&b, path, off[k + 1] - off[k]);
        nm_buf_append(&b, pem + off[k], off[k + 1] - off[k]);
        nm_buf_append(&b, "\n", 1);
    }
    items = parse_timed("50 MB of one-certificate frames", b.data, b.len, &el);
    CHECK(json_array_size(items) <= 10001);
    (void)el; /* timings are printed; bench/ measures, tests do not time */
    json_decref(items);
    nm_buf_finish(&b);

    /* Hostile PEM in a 16 MiB frame (the largest parsed): unterminated
     * BEGIN lines, then BEGIN/END pairs of garbage.  Both must be linear. */
    size_t frame = 16u << 20;
    static const char begin[] = "-----BEGIN CERTIFICATE-----\n";
    static const char pair[] = "-----BEGIN CERTIFICATE-----\n!!\n-----END CERTIFICATE-----\n";
    nm_buf_init(&one, frame);
    while (nm_buf_append(&one, begin, sizeof begin - 1) == 0)
        ;
    nm_buf_init(&b, SIZE_MAX);
    frame_header(&b, "/etc/ssl/begins.pem", one.len);
    nm_buf_append(&b, one.data, one.len);
    items = parse_timed("16 MiB of BEGIN lines without END", b.data, b.len, &el);
    CHECK_INT(json_array_size(items), 1);
    (void)el; /* timings are printed; bench/ measures, tests do not time */
    json_decref(items);
    nm_buf_finish(&b);
    nm_buf_reset(&one);
    while (nm_buf_append(&one, pair, sizeof pair - 1) == 0)
        ;
    nm_buf_init(&b, SIZE_MAX);
    frame_header(&b, "/etc/ssl/pairs.pem", one.len);
    nm_buf_append(&b, one.data, one.len);
    items = parse_timed("16 MiB of undecodable certificate blocks", b.data, b.len, &el);
    CHECK_INT(json_array_size(items), 10001);
    (void)el; /* timings are printed; bench/ measures, tests do not time */
    json_decref(items);
    nm_buf_finish(&b);
    /* BEGIN markers and nothing else, not even a newline. */
    nm_buf_reset(&one);
    while (nm_buf_append(&one, "-----BEGIN ", 11) == 0)
        ;
    nm_buf_init(&b, SIZE_MAX);
    frame_header(&b, "/etc/ssl/nonl.pem", one.len);
    nm_buf_append(&b, one.data, one.len);
    items = parse_timed("16 MiB of BEGIN markers, no newline", b.data, b.len, &el);
    CHECK_INT(json_array_size(items), 1);
    (void)el; /* timings are printed; bench/ measures, tests do not time */
    json_decref(items);
    nm_buf_finish(&b);
    nm_buf_finish(&one);

    free(junk);
    free(off);
    BIO_free(mem);
    EVP_PKEY_free(key);
}

/* Every prefix of a real output parses without error and without reading
 * past its end (valgrind and ASan see to the latter). */
static void test_prefixes(void)
{
    char *in = NULL;
    size_t len = 0;
    nm_diag d = {{0}};
    const struct nm_parser_def *p = nm_parser_find("x509_files");
    if (nm_read_file("data/parsers/x509_files/chain-and-duplicates.in", 1 << 20, &in, &len, &d) <
        0) {
        CHECK(!"fixture missing");
        return;
    }
    for (size_t n = 0; n <= len; n += n < 200 ? 1 : 97) {
        char *cut = nm_xmalloc(n ? n : 1);
        memcpy(cut, in, n);
        json_t *items = NULL;
        CHECK(p->fn(cut, n, NULL, &items, &d) == 0);
        json_decref(items);
        free(cut);
    }
    free(in);
}

static void test_time_helpers(void)
{
    int64_t t;
    CHECK(nm_utc_parsen("1970-01-01T00:00:00Z", 20, &t) == 0 && t == 0);
    CHECK(nm_utc_parsen("2026-11-24T00:00:00Z", 20, &t) == 0 && t == 1795478400);
    CHECK(nm_utc_parsen("2028-02-29T12:00:00Z", 20, &t) == 0);
    CHECK(nm_utc_parsen("2027-02-29T12:00:00Z", 20, &t) < 0);
    CHECK(nm_utc_parsen("2026-11-24 00:00:00Z", 20, &t) < 0);
    CHECK(nm_utc_parsen("2026-11-24T00:00:00", 19, &t) < 0);
    CHECK_INT(nm_days_between(0, 86399), 0);
    CHECK_INT(nm_days_between(0, 86400), 1);
    CHECK_INT(nm_days_between(0, -1), -1);
    CHECK_INT(nm_days_between(0, -86400), -1);
    CHECK_INT(nm_days_between(0, -86401), -2);
}

int main(int argc, char **argv)
{
    /* The test servers write to clients that may have gone; the probe
     * itself never needs this (MSG_NOSIGNAL). */
    signal(SIGPIPE, SIG_IGN);
    if (nm_utc_parsen(NOW_ISO, strlen(NOW_ISO), &NOW) < 0)
        return 1;
    /* --quick, or the meson valgrind setup (it sets NM_WRAPPER): skip the
     * timed large inputs, which cover the same code paths at sizes valgrind
     * makes take minutes. */
    const char *wrapper = getenv("NM_WRAPPER");
    bool quick =
        (argc > 1 && strcmp(argv[1], "--quick") == 0) || (wrapper && strstr(wrapper, "valgrind"));

    test_time_helpers();
    test_specs();
    test_valid_chain();
    test_neighbour_errors();
    test_expired_and_incomplete();
    test_renewal_overdue();
    test_starttls();
    test_timeout_and_refused();
    test_old_protocol();
    test_concurrency();
    test_probe_script();
    test_checks_share_the_probe();
    test_prefixes();
    if (!quick)
        test_bulk();
    else
        printf("large inputs skipped (--quick or valgrind)\n");
    return test_result();
}
