/*
 * TLS endpoint probe: connect with a deadline, optional STARTTLS dialogue,
 * handshake, and describe what the server presented (docs/certificates.md).
 *
 * Everything is non-blocking and driven by poll() against one deadline, as
 * in OpenSSH's ssh-keyscan: a server that accepts and then says nothing costs
 * the deadline and no more.  The server is hostile: STARTTLS lines are capped
 * and so is the whole dialogue, and nothing it sends before the handshake is
 * kept past the reply that allows the handshake (a reply followed by more
 * bytes is refused: that is the STARTTLS command injection of CVE-2011-0411
 * seen from the client side).
 *
 * The TLS context is made for probing, not for trusting: every protocol
 * version from TLS 1.0 up and security level 0, so an old server is
 * described ("protocol": "TLSv1") rather than refused; certificate
 * verification is computed and reported, never enforced.  One SSL_CTX per
 * call: no global state, so probes run from any number of threads.
 *
 * Sockets are wrapped in a small BIO that sends with MSG_NOSIGNAL, so a peer
 * that resets the connection cannot kill the scanner with SIGPIPE whatever
 * the process does with that signal.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "nearmiss/fiber.h"
#include "nearmiss/resolve.h"
#include "nearmiss/safetext.h"
#include "nearmiss/tls.h"
#include "nearmiss/utf8.h"
#include "nearmiss/util.h"
#include "nearmiss/certdesc.h"
#include "parsers/cursor.h"

#define TLS_SPEC_MAX        600        /* longer inventory specs are not specs */
#define TLS_LINE_MAX        1024       /* one STARTTLS reply line (RFC 5321: 512) */
#define TLS_DIALOGUE_MAX    (64 << 10) /* all STARTTLS bytes read from the server */
#define TLS_REPLY_LINES_MAX 200        /* lines of one multi-line reply */

const char *nm_starttls_name(enum nm_starttls s)
{
    switch (s) {
    case NM_STARTTLS_NONE:
        return "none";
    case NM_STARTTLS_SMTP:
        return "smtp";
    case NM_STARTTLS_IMAP:
        return "imap";
    case NM_STARTTLS_POP3:
        return "pop3";
    }
    return "none";
}

/* ------------------------------------------------------------------ */
/* Spec parsing */

static bool is_ip_literal(const char *s)
{
    unsigned char buf[sizeof(struct in6_addr)];
    char tmp[NM_TLS_HOST_MAX + 1];
    if (inet_pton(AF_INET, s, buf) == 1)
        return true;
    /* IPv6 with an optional zone: fe80::1%eth0 */
    size_t n = strcspn(s, "%");
    if (n >= sizeof tmp)
        return false;
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    return inet_pton(AF_INET6, tmp, buf) == 1;
}

static bool is_dns_name(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 253 || s[0] == '-' || s[0] == '.')
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '.' || c == '_'))
            return false;
    }
    return true;
}

static int set_host(struct nm_tls_target *t, const char *h, size_t n, const char *spec, nm_diag *d)
{
    if (n == 0)
        return nm_diag_set(d, NM_ERR_INVAL, "tls \"%s\": empty host", spec);
    if (n > NM_TLS_HOST_MAX)
        return nm_diag_set(d, NM_ERR_INVAL, "tls \"%s\": host name too long", spec);
    memcpy(t->host, h, n);
    t->host[n] = '\0';
    if (is_ip_literal(t->host)) {
        t->sni[0] = '\0';
        return 0;
    }
    if (memchr(h, ':', n))
        return nm_diag_set(d, NM_ERR_INVAL,
                           "tls \"%s\": \"%s\" is not an address (IPv6 needs [brackets])", spec,
                           t->host);
    if (!is_dns_name(t->host))
        return nm_diag_set(d, NM_ERR_INVAL, "tls \"%s\": \"%s\" is not a host name", spec, t->host);
    memcpy(t->sni, t->host, n + 1);
    return 0;
}

static int parse_port(const char *p, const char *end, uint16_t *ret)
{
    const char *q = p;
    uint64_t v;
    if (nm_parse_u64(&q, end, &v) < 0 || q != end || v == 0 || v > 65535)
        return NM_ERR_INVAL;
    *ret = (uint16_t)v;
    return 0;
}

static int parse_proto(const char *p, size_t n, uint16_t port, enum nm_starttls *ret,
                       const char *spec, nm_diag *d)
{
#define PROTO_IS(s) (n == sizeof(s) - 1 && strncasecmp(p, s, n) == 0)
    if (PROTO_IS("tls") || PROTO_IS("none"))
        *ret = NM_STARTTLS_NONE;
    else if (PROTO_IS("smtp"))
        *ret = NM_STARTTLS_SMTP;
    else if (PROTO_IS("imap"))
        *ret = NM_STARTTLS_IMAP;
    else if (PROTO_IS("pop3"))
        *ret = NM_STARTTLS_POP3;
    else if (PROTO_IS("starttls")) {
        if (port == 25 || port == 587)
            *ret = NM_STARTTLS_SMTP;
        else if (port == 143)
            *ret = NM_STARTTLS_IMAP;
        else if (port == 110)
            *ret = NM_STARTTLS_POP3;
        else
            return nm_diag_set(d, NM_ERR_INVAL,
                               "tls \"%s\": no STARTTLS protocol known for port %u; "
                               "write /smtp, /imap or /pop3",
                               spec, port);
    } else {
        return nm_diag_set(d, NM_ERR_INVAL,
                           "tls \"%s\": unknown protocol (expected starttls, smtp, imap, pop3 "
                           "or tls)",
                           spec);
    }
#undef PROTO_IS
    return 0;
}

int nm_tls_spec_parse(const char *spec, const char *default_host, struct nm_tls_target *ret,
                      nm_diag *d)
{
    struct nm_tls_target t = {0};
    size_t len = strnlen(spec, TLS_SPEC_MAX + 1);
    int r;
    if (len == 0 || len > TLS_SPEC_MAX)
        return nm_diag_set(d, NM_ERR_INVAL, "tls spec: empty or too long");
    const char *end = spec + len;
    const char *slash = memchr(spec, '/', len); /* hosts and ports never hold '/' */
    const char *hp_end = slash ? slash : end;
    const char *port_start;

    if (spec[0] == '[') {
        const char *close = memchr(spec, ']', (size_t)(hp_end - spec));
        if (!close || close + 1 >= hp_end || close[1] != ':')
            return nm_diag_set(d, NM_ERR_INVAL, "tls \"%s\": expected [ADDRESS]:PORT", spec);
        if ((r = set_host(&t, spec + 1, (size_t)(close - spec - 1), spec, d)) < 0)
            return r;
        if (!is_ip_literal(t.host))
            return nm_diag_set(d, NM_ERR_INVAL, "tls \"%s\": [%s] is not an IPv6 address", spec,
                               t.host);
        port_start = close + 2;
    } else {
        const char *colon = memrchr(spec, ':', (size_t)(hp_end - spec));
        if (colon && memchr(spec, ':', (size_t)(colon - spec)))
            return nm_diag_set(d, NM_ERR_INVAL,
                               "tls \"%s\": an IPv6 address needs brackets: [ADDRESS]:PORT", spec);
        if (colon) {
            if ((r = set_host(&t, spec, (size_t)(colon - spec), spec, d)) < 0)
                return r;
            port_start = colon + 1;
        } else {
            if (!default_host || !*default_host)
                return nm_diag_set(d, NM_ERR_INVAL, "tls \"%s\": no host and no default host",
                                   spec);
            size_t hl = strlen(default_host);
            if (hl >= 2 && default_host[0] == '[' && default_host[hl - 1] == ']')
                r = set_host(&t, default_host + 1, hl - 2, spec, d);
            else
                r = set_host(&t, default_host, hl, spec, d);
            if (r < 0)
                return r;
            port_start = spec;
        }
    }
    if (parse_port(port_start, hp_end, &t.port) < 0)
        return nm_diag_set(d, NM_ERR_INVAL, "tls \"%s\": port must be a number 1-65535", spec);
    if (slash &&
        (r = parse_proto(slash + 1, (size_t)(end - slash - 1), t.port, &t.starttls, spec, d)) < 0)
        return r;
    *ret = t;
    return 0;
}

/* ------------------------------------------------------------------ */
/* Sockets with a deadline */

struct conn {
    int fd;
    int64_t deadline;
    int sock_errno; /* last hard socket error seen by the BIO */
    bool eof;
    /* STARTTLS line buffer */
    char buf[TLS_LINE_MAX + 1];
    size_t len;
    size_t total;
};

/* 0 when fd is ready (or in error: the next call says which),
 * NM_ERR_TIMEOUT when the deadline passes first. */
static int wait_fd(int fd, short events, int64_t deadline)
{
    for (;;) {
        int64_t left = deadline - nm_now_ms();
        if (left <= 0)
            return NM_ERR_TIMEOUT;
        struct pollfd pfd = {.fd = fd, .events = events};
        int r = nm_poll1(&pfd, left > INT_MAX ? INT_MAX : (int)left);
        if (r > 0)
            return 0;
        if (r < 0 && errno != EINTR)
            return NM_ERR_IO;
    }
}

static void fmt_endpoint(const struct sockaddr *sa, socklen_t salen, char *out, size_t cap)
{
    char host[80], serv[8]; /* numeric: an IPv6 address with a zone fits */
    if (getnameinfo(sa, salen, host, sizeof host, serv, sizeof serv,
                    NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
        snprintf(out, cap, "?");
        return;
    }
    if (sa->sa_family == AF_INET6)
        snprintf(out, cap, "[%s]:%s", host, serv);
    else
        snprintf(out, cap, "%s:%s", host, serv);
}

/* Probe outcome while it is being built. */
struct outcome {
    const char *kind; /* NULL = fine so far, else resolve, connect, timeout,
                         starttls or handshake */
    char msg[256];
    char endpoint[100];
};

static void fail(struct outcome *o, const char *kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void fail(struct outcome *o, const char *kind, const char *fmt, ...)
{
    va_list ap;
    o->kind = kind;
    va_start(ap, fmt);
    vsnprintf(o->msg, sizeof o->msg, fmt, ap);
    va_end(ap);
    nm_utf8_fix(o->msg); /* peer text and cuts must stay valid UTF-8 for JSON */
}

static int connect_any(const struct nm_tls_target *t, struct conn *c, struct outcome *o)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
    struct addrinfo *res = NULL;
    char port[8];
    int last_errno = 0;
    bool timed_out = false;

    snprintf(port, sizeof port, "%u", t->port);
    if (is_ip_literal(t->host))
        hints.ai_flags |= AI_NUMERICHOST;
    int g = 0, rr = nm_resolve(t->host, port, &hints, c->deadline, &res, &g);
    if (rr == NM_ERR_TIMEOUT) {
        fail(o, "resolve", "cannot resolve %s: the DNS resolver did not answer before the deadline",
             t->host);
        return -1;
    }
    if (rr < 0) {
        fail(o, "resolve", "cannot resolve %s: %s", t->host, gai_strerror(g));
        return -1;
    }
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        int fd =
            socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) {
            last_errno = errno;
            continue;
        }
        fmt_endpoint(ai->ai_addr, ai->ai_addrlen, o->endpoint, sizeof o->endpoint);
        int err = 0;
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
            err = errno;
            if (err == EINPROGRESS || err == EINTR) {
                if (wait_fd(fd, POLLOUT, c->deadline) < 0) {
                    close(fd);
                    timed_out = true;
                    break;
                }
                socklen_t el = sizeof err;
                if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0)
                    err = errno;
            }
        }
        if (err == 0) {
            c->fd = fd;
            freeaddrinfo(res);
            return 0;
        }
        last_errno = err;
        close(fd);
    }
    freeaddrinfo(res);
    if (timed_out)
        fail(o, "timeout", "timed out connecting to %s", o->endpoint);
    else
        fail(o, "connect", "cannot connect to %s: %s", o->endpoint[0] ? o->endpoint : t->host,
             strerror(last_errno ? last_errno : ECONNREFUSED));
    return -1;
}

/* ------------------------------------------------------------------ */
/* STARTTLS */

static int send_all(struct conn *c, const char *s, struct outcome *o)
{
    size_t left = strlen(s);
    while (left > 0) {
        ssize_t n = send(c->fd, s, left, MSG_NOSIGNAL);
        if (n > 0) {
            s += n;
            left -= (size_t)n;
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
            if (wait_fd(c->fd, POLLOUT, c->deadline) < 0) {
                fail(o, "timeout", "timed out in the STARTTLS dialogue");
                return -1;
            }
            continue;
        }
        fail(o, "starttls", "STARTTLS dialogue: send failed: %s", strerror(errno));
        return -1;
    }
    return 0;
}

/* One line without its CR LF into line[TLS_LINE_MAX + 1]. */
static int read_line(struct conn *c, char *line, struct outcome *o)
{
    for (;;) {
        char *nl = memchr(c->buf, '\n', c->len);
        if (nl) {
            size_t n = (size_t)(nl - c->buf);
            size_t keep = n > 0 && c->buf[n - 1] == '\r' ? n - 1 : n;
            memcpy(line, c->buf, keep);
            line[keep] = '\0';
            memmove(c->buf, nl + 1, c->len - n - 1);
            c->len -= n + 1;
            return 0;
        }
        if (c->len >= TLS_LINE_MAX) {
            fail(o, "starttls", "STARTTLS dialogue: line longer than %d bytes", TLS_LINE_MAX);
            return -1;
        }
        if (c->total >= TLS_DIALOGUE_MAX) {
            fail(o, "starttls", "STARTTLS dialogue: more than %d bytes", TLS_DIALOGUE_MAX);
            return -1;
        }
        if (wait_fd(c->fd, POLLIN, c->deadline) < 0) {
            fail(o, "timeout", "timed out in the STARTTLS dialogue");
            return -1;
        }
        ssize_t n = recv(c->fd, c->buf + c->len, TLS_LINE_MAX - c->len, 0);
        if (n > 0) {
            c->len += (size_t)n;
            c->total += (size_t)n;
        } else if (n == 0) {
            fail(o, "starttls", "STARTTLS dialogue: connection closed by the server");
            return -1;
        } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            fail(o, "starttls", "STARTTLS dialogue: %s", strerror(errno));
            return -1;
        }
    }
}

static void printable(const char *s, char *out, size_t cap)
{
    size_t i = 0;
    for (; s[i] && i + 1 < cap && i < 80; i++)
        out[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
    out[i] = '\0';
}

/* SMTP reply: "250-first", ..., "250 last".  Returns the code or -1. */
static int smtp_reply(struct conn *c, char *line, struct outcome *o)
{
    for (int i = 0; i < TLS_REPLY_LINES_MAX; i++) {
        if (read_line(c, line, o) < 0)
            return -1;
        if (strlen(line) < 3 || line[0] < '1' || line[0] > '5' || line[1] < '0' || line[1] > '9' ||
            line[2] < '0' || line[2] > '9' ||
            (line[3] != '\0' && line[3] != ' ' && line[3] != '-')) {
            char p[96];
            printable(line, p, sizeof p);
            fail(o, "starttls", "SMTP: not a reply line: \"%s\"", p);
            return -1;
        }
        if (line[3] != '-')
            return (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
    }
    fail(o, "starttls", "SMTP: reply longer than %d lines", TLS_REPLY_LINES_MAX);
    return -1;
}

static int starttls(const struct nm_tls_target *t, struct conn *c, struct outcome *o)
{
    char line[TLS_LINE_MAX + 1], p[96];
    int code;
    switch (t->starttls) {
    case NM_STARTTLS_NONE:
        return 0;
    case NM_STARTTLS_SMTP:
        if ((code = smtp_reply(c, line, o)) < 0)
            return -1;
        if (code != 220)
            goto refused;
        if (send_all(c, "EHLO nearmiss.invalid\r\n", o) < 0 || (code = smtp_reply(c, line, o)) < 0)
            return -1;
        if (code != 250)
            goto refused;
        if (send_all(c, "STARTTLS\r\n", o) < 0 || (code = smtp_reply(c, line, o)) < 0)
            return -1;
        if (code != 220)
            goto refused;
        break;
    case NM_STARTTLS_IMAP:
        if (read_line(c, line, o) < 0)
            return -1;
        if (strncmp(line, "* OK", 4) != 0)
            goto refused;
        if (send_all(c, "a001 STARTTLS\r\n", o) < 0)
            return -1;
        for (int i = 0;; i++) {
            if (i >= TLS_REPLY_LINES_MAX) {
                fail(o, "starttls", "IMAP: no tagged reply to STARTTLS");
                return -1;
            }
            if (read_line(c, line, o) < 0)
                return -1;
            if (strncmp(line, "a001 ", 5) == 0)
                break;
        }
        if (strncasecmp(line, "a001 OK", 7) != 0)
            goto refused;
        break;
    case NM_STARTTLS_POP3:
        if (read_line(c, line, o) < 0)
            return -1;
        if (strncmp(line, "+OK", 3) != 0)
            goto refused;
        if (send_all(c, "STLS\r\n", o) < 0 || read_line(c, line, o) < 0)
            return -1;
        if (strncmp(line, "+OK", 3) != 0)
            goto refused;
        break;
    }
    if (c->len > 0) {
        fail(o, "starttls", "%s: server sent data after its STARTTLS reply",
             nm_starttls_name(t->starttls));
        return -1;
    }
    return 0;
refused:
    printable(line, p, sizeof p);
    fail(o, "starttls", "%s: server refused STARTTLS: \"%s\"", nm_starttls_name(t->starttls), p);
    return -1;
}

/* ------------------------------------------------------------------ */
/* A socket BIO that never raises SIGPIPE */

static int sbio_write(BIO *b, const char *buf, size_t len, size_t *written)
{
    struct conn *c = BIO_get_data(b);
    BIO_clear_retry_flags(b);
    for (;;) {
        ssize_t n = send(c->fd, buf, len, MSG_NOSIGNAL);
        if (n >= 0) {
            *written = (size_t)n;
            return 1;
        }
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            BIO_set_retry_write(b);
        else
            c->sock_errno = errno;
        return 0;
    }
}

static int sbio_read(BIO *b, char *buf, size_t len, size_t *readbytes)
{
    struct conn *c = BIO_get_data(b);
    BIO_clear_retry_flags(b);
    for (;;) {
        ssize_t n = recv(c->fd, buf, len, 0);
        if (n > 0) {
            *readbytes = (size_t)n;
            return 1;
        }
        if (n == 0) {
            c->eof = true;
            return 0;
        }
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            BIO_set_retry_read(b);
        else
            c->sock_errno = errno;
        return 0;
    }
}

static long sbio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
    struct conn *c = BIO_get_data(b);
    switch (cmd) {
    case BIO_CTRL_FLUSH:
        return 1;
    case BIO_CTRL_EOF:
        return c && c->eof;
    }
    return 0;
}

static int sbio_create(BIO *b)
{
    BIO_set_init(b, 1);
    return 1;
}

/* ------------------------------------------------------------------ */
/* Handshake and description */

static SSL_CTX *probe_ctx(const struct nm_tls_target *t, nm_diag *d, int *ret_err)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx) {
        *ret_err = nm_diag_set(d, NM_ERR_NOMEM, "TLS: cannot create a context");
        return NULL;
    }
    /* Describe old servers instead of refusing them: lowest version the
     * library was built with, every cipher but the anonymous ones. */
    SSL_CTX_set_min_proto_version(ctx, TLS1_VERSION);
    SSL_CTX_set_security_level(ctx, 0);
    SSL_CTX_set_cipher_list(ctx, "ALL:!aNULL:!eNULL:@SECLEVEL=0");
    SSL_CTX_set_options(ctx, SSL_OP_LEGACY_SERVER_CONNECT);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    if (t->ca_file) {
        if (SSL_CTX_load_verify_locations(ctx, t->ca_file, NULL) != 1) {
            *ret_err = nm_diag_set(d, NM_ERR_IO, "TLS: cannot load CA file %s", t->ca_file);
            SSL_CTX_free(ctx);
            return NULL;
        }
    } else if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
        *ret_err = nm_diag_set(d, NM_ERR_IO, "TLS: cannot load the system trust store");
        SSL_CTX_free(ctx);
        return NULL;
    }
    if (t->now != 0)
        X509_VERIFY_PARAM_set_time(SSL_CTX_get0_param(ctx), (time_t)t->now);
    return ctx;
}

static void handshake_error(SSL *ssl, int r, struct conn *c, struct outcome *o)
{
    int e = SSL_get_error(ssl, r);
    unsigned long err = ERR_peek_last_error();
    const char *reason = err ? ERR_reason_error_string(err) : NULL;
    if (e == SSL_ERROR_SSL && reason)
        fail(o, "handshake", "TLS handshake failed: %s", reason);
    else if (c->sock_errno)
        fail(o, "handshake", "TLS handshake failed: %s", strerror(c->sock_errno));
    else if (c->eof || e == SSL_ERROR_ZERO_RETURN || e == SSL_ERROR_SYSCALL)
        fail(o, "handshake", "TLS handshake failed: connection closed by the server");
    else
        fail(o, "handshake", "TLS handshake failed (SSL error %d)", e);
}

static int do_handshake(SSL *ssl, struct conn *c, struct outcome *o)
{
    for (;;) {
        int r = SSL_connect(ssl);
        if (r == 1)
            return 0;
        int e = SSL_get_error(ssl, r);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
            if (wait_fd(c->fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, c->deadline) < 0) {
                fail(o, "timeout", "timed out during the TLS handshake");
                return -1;
            }
            continue;
        }
        handshake_error(ssl, r, c, o);
        return -1;
    }
}

static bool name_matches(X509 *leaf, const struct nm_tls_target *t)
{
    const char *name = t->sni[0] ? t->sni : t->host;
    if (is_ip_literal(name))
        return X509_check_ip_asc(leaf, name, 0) == 1;
    return X509_check_host(leaf, name, 0, 0, NULL) == 1;
}

static void set_string_or_null(json_t *o, const char *key, const char *v)
{
    json_object_set_new(o, key, v ? json_string(v) : json_null());
}

/* The leaf's renewal point, copied to the endpoint item like its expiry so
 * that one rule reads file and endpoint items alike. */
static const char *const leaf_renewal_keys[] = {
    "not_before",          "lifetime_days",     "renewal_habit",
    "renewal_expected_by", "days_past_renewal", "renewal_overdue",
};

/* The certificates a server sent, whether they verify, match the name and
 * how long they last.  vr is the chain's verification result; name_known
 * false leaves hostname_ok null (no name to check the certificate against). */
static void describe_chain(STACK_OF(X509) * chain, const struct nm_tls_target *t, long vr,
                           bool name_known, int64_t now, json_t *item)
{
    json_t *arr = json_object_get(item, "chain");
    int64_t leaf_days = 0, min_days = INT64_MAX;
    bool have_days = false, weak_sig = false, weak_key = false;
    X509 *leaf = chain && sk_X509_num(chain) > 0 ? sk_X509_value(chain, 0) : NULL;

    for (int i = 0; chain && i < sk_X509_num(chain) && i < 100; i++) {
        json_t *c = nm_cert_describe(sk_X509_value(chain, i), now);
        json_object_set_new(c, "position", json_integer(i));
        json_int_t dl = json_integer_value(json_object_get(c, "days_left"));
        if (json_is_integer(json_object_get(c, "days_left"))) {
            if (i == 0)
                leaf_days = dl;
            if (dl < min_days)
                min_days = dl;
            have_days = true;
        }
        /* A self-signed root's own signature protects nothing. */
        if (json_is_true(json_object_get(c, "weak_sig")) &&
            !json_is_true(json_object_get(c, "self_signed")))
            weak_sig = true;
        if (json_is_true(json_object_get(c, "weak_key")))
            weak_key = true;
        if (i == 0) {
            json_object_set(item, "cn", json_object_get(c, "cn"));
            json_object_set(item, "sha256", json_object_get(c, "sha256"));
            json_object_set(item, "not_after", json_object_get(c, "not_after"));
            json_object_set(item, "expired", json_object_get(c, "expired"));
            json_object_set(item, "not_yet_valid", json_object_get(c, "not_yet_valid"));
            for (size_t k = 0; k < sizeof leaf_renewal_keys / sizeof *leaf_renewal_keys; k++)
                json_object_set(item, leaf_renewal_keys[k],
                                json_object_get(c, leaf_renewal_keys[k]));
        }
        json_array_append_new(arr, c);
    }

    if (!leaf) {
        json_object_set_new(item, "verified", json_false());
        json_object_set_new(item, "verify_error", json_string("no certificate sent"));
        json_object_set_new(item, "hostname_ok", json_false());
    } else {
        json_object_set_new(item, "verified", json_boolean(vr == X509_V_OK));
        set_string_or_null(item, "verify_error",
                           vr == X509_V_OK ? NULL : X509_verify_cert_error_string(vr));
        json_object_set_new(item, "hostname_ok",
                            name_known ? json_boolean(name_matches(leaf, t)) : json_null());
    }
    json_object_set_new(item, "days_left",
                        have_days && leaf ? json_integer(leaf_days) : json_null());
    json_object_set_new(item, "leaf_days_left",
                        have_days && leaf ? json_integer(leaf_days) : json_null());
    json_object_set_new(item, "min_chain_days_left",
                        have_days ? json_integer(min_days) : json_null());
    json_object_set_new(item, "weak_sig", json_boolean(weak_sig));
    json_object_set_new(item, "weak_key", json_boolean(weak_key));
}

/* Fills the handshake results into item. */
static void describe_session(SSL *ssl, const struct nm_tls_target *t, int64_t now, json_t *item)
{
    json_object_set_new(item, "protocol", json_string(SSL_get_version(ssl)));
    set_string_or_null(item, "cipher", SSL_CIPHER_get_name(SSL_get_current_cipher(ssl)));
    json_object_set_new(item, "weak_protocol", json_boolean(SSL_version(ssl) < TLS1_2_VERSION));
    describe_chain(SSL_get_peer_cert_chain(ssl), t, SSL_get_verify_result(ssl), true, now, item);
}

static json_t *new_item(const struct nm_tls_target *t)
{
    json_t *o = json_object();
    char subject[NM_TLS_HOST_MAX + 16];
    if (strchr(t->host, ':'))
        snprintf(subject, sizeof subject, "[%s]:%u", t->host, t->port);
    else
        snprintf(subject, sizeof subject, "%s:%u", t->host, t->port);
    json_object_set_new(o, "subject", json_string(subject));
    json_object_set_new(o, "endpoint", json_null());
    json_object_set_new(o, "sni", t->sni[0] ? json_string(t->sni) : json_null());
    json_object_set_new(o, "starttls", json_string(nm_starttls_name(t->starttls)));
    json_object_set_new(o, "protocol", json_null());
    json_object_set_new(o, "cipher", json_null());
    json_object_set_new(o, "weak_protocol", json_null());
    json_object_set_new(o, "verified", json_false());
    json_object_set_new(o, "verify_error", json_null());
    json_object_set_new(o, "hostname_ok", json_null());
    json_object_set_new(o, "chain", json_array());
    json_object_set_new(o, "cn", json_null());
    json_object_set_new(o, "sha256", json_null());
    json_object_set_new(o, "not_after", json_null());
    json_object_set_new(o, "expired", json_null());
    json_object_set_new(o, "not_yet_valid", json_null());
    for (size_t k = 0; k < sizeof leaf_renewal_keys / sizeof *leaf_renewal_keys; k++)
        json_object_set_new(o, leaf_renewal_keys[k], json_null());
    json_object_set_new(o, "days_left", json_null());
    json_object_set_new(o, "leaf_days_left", json_null());
    json_object_set_new(o, "min_chain_days_left", json_null());
    json_object_set_new(o, "weak_sig", json_false());
    json_object_set_new(o, "weak_key", json_false());
    json_object_set_new(o, "error", json_null());
    json_object_set_new(o, "error_kind", json_null());
    return o;
}

static void set_evidence(json_t *item, const struct outcome *o)
{
    struct nm_buf b;
    nm_buf_init(&b, 512);
    if (o->kind) {
        nm_buf_appends(&b, o->msg);
    } else {
        const char *proto = json_string_value(json_object_get(item, "protocol"));
        const char *cipher = json_string_value(json_object_get(item, "cipher"));
        const char *verr = json_string_value(json_object_get(item, "verify_error"));
        json_t *leaf = json_array_get(json_object_get(item, "chain"), 0);
        const char *dn = json_string_value(json_object_get(leaf, "subject_dn"));
        const char *na = json_string_value(json_object_get(leaf, "not_after"));
        const char *ren = json_string_value(json_object_get(leaf, "renewal_expected_by"));
        nm_buf_appendf(&b, "%s %s; verify: %s; hostname %s; leaf %s, not after %s",
                       proto ? proto : "?", cipher ? cipher : "?", verr ? verr : "ok",
                       json_is_true(json_object_get(item, "hostname_ok")) ? "matches"
                                                                          : "does not match",
                       dn ? dn : "none", na ? na : "?");
        if (ren)
            nm_buf_appendf(&b, ", renewal expected by %s", ren);
    }
    json_object_set_new(item, "evidence",
                        nm_json_string_sanitized(b.data ? b.data : "", b.len, b.cap));
    nm_buf_finish(&b);
}

int nm_tls_probe(const struct nm_tls_target *t, int64_t deadline_ms, json_t **ret_item, nm_diag *d)
{
    struct conn c = {.fd = -1, .deadline = deadline_ms};
    struct outcome o = {0};
    SSL_CTX *ctx = NULL;
    SSL *ssl = NULL;
    BIO_METHOD *meth = NULL;
    BIO *bio = NULL;
    int err = 0;

    if (!t || t->port == 0 || !t->host[0] || !memchr(t->host, '\0', sizeof t->host) ||
        !memchr(t->sni, '\0', sizeof t->sni))
        return nm_diag_set(d, NM_ERR_INVAL, "TLS probe: no host or port");
    int64_t now = t->now ? t->now : (int64_t)time(NULL);

    /* Whatever the probe adds to the thread's OpenSSL error queue is gone
     * when it returns.  The other sessions of the thread (fibers) use that
     * queue while this one waits; SSL_connect empties it at every call, so
     * SSL_get_error reads only what that step added (test-tls checks it). */
    ERR_set_mark();
    ctx = probe_ctx(t, d, &err);
    if (!ctx)
        goto out;
    meth = BIO_meth_new(BIO_TYPE_SOURCE_SINK, "nearmiss socket");
    if (!meth || BIO_meth_set_write_ex(meth, sbio_write) != 1 ||
        BIO_meth_set_read_ex(meth, sbio_read) != 1 || BIO_meth_set_ctrl(meth, sbio_ctrl) != 1 ||
        BIO_meth_set_create(meth, sbio_create) != 1) {
        err = nm_diag_set(d, NM_ERR_NOMEM, "TLS: cannot create a BIO method");
        goto out;
    }

    json_t *item = new_item(t);
    if (connect_any(t, &c, &o) < 0 || starttls(t, &c, &o) < 0)
        goto done;
    ssl = SSL_new(ctx);
    bio = ssl ? BIO_new(meth) : NULL;
    if (!bio) {
        fail(&o, "handshake", "TLS: cannot create a session");
        goto done;
    }
    BIO_set_data(bio, &c);
    SSL_set_bio(ssl, bio, bio); /* ssl owns bio from here */
    if (t->sni[0] && !is_ip_literal(t->sni))
        SSL_set_tlsext_host_name(ssl, t->sni);
    SSL_set_connect_state(ssl);
    if (do_handshake(ssl, &c, &o) < 0)
        goto done;
    describe_session(ssl, t, now, item);
    /* One close_notify, not waited for: the server's answer changes nothing. */
    SSL_shutdown(ssl);
done:
    if (o.endpoint[0])
        json_object_set_new(item, "endpoint", json_string(o.endpoint));
    if (o.kind) {
        json_object_set_new(item, "error", json_string(o.msg));
        json_object_set_new(item, "error_kind", json_string(o.kind));
    }
    set_evidence(item, &o);
    *ret_item = item;
out:
    SSL_free(ssl);
    BIO_meth_free(meth);
    SSL_CTX_free(ctx);
    if (c.fd >= 0)
        close(c.fd);
    ERR_pop_to_mark();
    return err;
}

/* ------------------------------------------------------------------ */
/* A handshake made on the host (openssl s_client), judged here */

static void span_copy(struct nm_span s, char *out, size_t outsz)
{
    if (s.n >= outsz)
        return;
    memcpy(out, s.p, s.n);
    out[s.n] = '\0';
}

/* "Protocol  : TLSv1.3" (session block) or "New, TLSv1.3, Cipher is X". */
static void capture_session_line(struct nm_span line, char *proto, size_t plen, char *cipher,
                                 size_t clen)
{
    struct nm_span t = nm_span_trim(line), rest, key;
    if (nm_span_has_prefix(t, "New, ")) {
        rest = nm_span_after(t, 5);
        struct nm_span p;
        nm_span_cut(&rest, ',', &p);
        p = nm_span_trim(p);
        if (!proto[0] && p.n && p.n < plen && !nm_span_eq(p, "(NONE)"))
            span_copy(p, proto, plen);
        const char *c = nm_span_find(rest, "Cipher is ");
        if (c && !cipher[0]) {
            struct nm_span cs = nm_span_trim(nm_span_range(c + 10, nm_span_end(rest)));
            if (cs.n && cs.n < clen && !nm_span_eq(cs, "(NONE)"))
                span_copy(cs, cipher, clen);
        }
        return;
    }
    rest = t;
    if (!nm_span_cut(&rest, ':', &key))
        return;
    key = nm_span_trim(key);
    rest = nm_span_trim(rest);
    if (rest.n == 0 || nm_span_eq(rest, "(NONE)") || nm_span_eq(rest, "0000"))
        return;
    if (nm_span_eq(key, "Protocol"))
        span_copy(rest, proto, plen);
    else if (nm_span_eq(key, "Cipher"))
        span_copy(rest, cipher, clen);
}

int nm_tls_describe_capture(const struct nm_tls_target *t, const char *text, size_t len,
                            const char *starttls_name, json_t **ret_item, nm_diag *d)
{
    if (!t || t->port == 0 || !memchr(t->host, '\0', sizeof t->host) ||
        !memchr(t->sni, '\0', sizeof t->sni))
        return nm_diag_set(d, NM_ERR_INVAL, "TLS capture: no host or port");
    int64_t now = t->now ? t->now : (int64_t)time(NULL);
    char proto[32] = "", cipher[128] = "", err[256] = "";
    const char *cur = text ? text : "", *end = text ? text + len : cur;
    struct nm_span line;
    while (nm_span_next_line(&cur, end, &line)) {
        capture_session_line(line, proto, sizeof proto, cipher, sizeof cipher);
        if (!err[0] && (nm_span_find(line, ":error:") || nm_span_find(line, "errno=")))
            nm_span_quote(nm_span_trim(line), 200, err, sizeof err);
    }

    ERR_set_mark();
    json_t *item = new_item(t);
    if (starttls_name)
        json_object_set_new(item, "starttls", json_string(starttls_name));
    STACK_OF(X509) *chain = sk_X509_new_null();
    BIO *bio = BIO_new_mem_buf(text ? text : "", (int)(len < INT32_MAX ? len : INT32_MAX));
    X509 *x;
    while (bio && chain && sk_X509_num(chain) < 10 &&
           (x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL)
        if (!sk_X509_push(chain, x))
            X509_free(x);
    BIO_free(bio);
    int rc = 0;
    if (!chain || sk_X509_num(chain) == 0) {
        json_object_set_new(item, "error",
                            json_sprintf("no TLS handshake%s%s", err[0] ? ": " : "", err));
        json_object_set_new(item, "error_kind", json_string("handshake"));
    } else {
        long vr = X509_V_ERR_UNSPECIFIED;
        X509_STORE *store = X509_STORE_new();
        X509_STORE_CTX *ctx = X509_STORE_CTX_new();
        bool loaded = store && (t->ca_file ? X509_STORE_load_file(store, t->ca_file) == 1
                                           : X509_STORE_set_default_paths(store) == 1);
        if (!loaded) {
            rc = nm_diag_set(d, NM_ERR_IO, "TLS: cannot load %s",
                             t->ca_file ? t->ca_file : "the system trust store");
        } else if (ctx && X509_STORE_CTX_init(ctx, store, sk_X509_value(chain, 0), chain) == 1) {
            if (t->now != 0)
                X509_STORE_CTX_set_time(ctx, 0, (time_t)t->now);
            vr = X509_verify_cert(ctx) == 1 ? X509_V_OK : X509_STORE_CTX_get_error(ctx);
        }
        X509_STORE_CTX_free(ctx);
        X509_STORE_free(store);
        if (proto[0]) {
            json_object_set_new(item, "protocol", json_string(proto));
            json_object_set_new(item, "weak_protocol",
                                json_boolean(strcmp(proto, "SSLv3") == 0 ||
                                             strcmp(proto, "TLSv1") == 0 ||
                                             strcmp(proto, "TLSv1.1") == 0));
        }
        if (cipher[0])
            json_object_set_new(item, "cipher", json_string(cipher));
        describe_chain(chain, t, vr, t->sni[0] != '\0', now, item);
    }
    sk_X509_pop_free(chain, X509_free);
    ERR_pop_to_mark();
    if (rc < 0) {
        json_decref(item);
        return rc;
    }
    struct outcome o = {0};
    const char *e = json_string_value(json_object_get(item, "error"));
    if (e) {
        o.kind = "handshake";
        snprintf(o.msg, sizeof o.msg, "%s", e);
    }
    set_evidence(item, &o);
    *ret_item = item;
    return 0;
}
