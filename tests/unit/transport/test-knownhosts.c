/*
 * known_hosts parsing and verification against fixtures made by OpenSSH's
 * own ssh-keygen (tests/data/known_hosts/README): keys come from the .pub
 * files, fingerprints from ssh-keygen -l, hashed names from ssh-keygen -H.
 * Runs from tests/ (meson workdir).
 */
#include <dirent.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nearmiss/knownhosts.h"
#include "nearmiss/util.h"
#include "test.h"

#define DIR_KH "data/known_hosts/"

struct key {
    unsigned char *blob;
    size_t len;
};

/* A base64 decoder of its own, so a bug in the module's cannot hide itself. */
static int b64val(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

static struct key decode_b64(const char *s, size_t n)
{
    struct key k = {nm_xmalloc(n / 4 * 3 + 3), 0};
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n && s[i] != '='; i++) {
        int v = b64val(s[i]);
        if (v < 0)
            break;
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            k.blob[k.len++] = (unsigned char)(acc >> bits);
        }
    }
    return k;
}

/* Read with stdio into a fresh malloc() block: the pointer's only origin is
 * malloc, so at -O3 gcc 12 can tell that what strchr() returns into it never
 * points at a local (an out-parameter filled by a library function left that
 * open and tripped -Wdangling-pointer in the callers). */
static char *slurp(const char *path, size_t *len)
{
    enum { CAP = 1 << 20 };
    FILE *f = fopen(path, "rb");
    char *data = malloc(CAP + 1);
    if (!f || !data) {
        fprintf(stderr, "cannot read %s\n", path);
        exit(1);
    }
    size_t n = fread(data, 1, CAP, f);
    if (ferror(f) || !feof(f)) {
        fprintf(stderr, "cannot read %s (error or larger than %d bytes)\n", path, CAP);
        exit(1);
    }
    fclose(f);
    data[n] = '\0';
    if (len)
        *len = n;
    return data;
}

/* "type base64 comment" -> blob */
static struct key load_pub(const char *name)
{
    char *path = nm_xasprintf(DIR_KH "%s.pub", name);
    char *data = slurp(path, NULL);
    char *b = strchr(data, ' ');
    CHECK(b != NULL);
    b++;
    struct key k = decode_b64(b, strcspn(b, " \n"));
    free(data);
    free(path);
    return k;
}

/* Second field of what ssh-keygen -lf printed. */
static char *load_fp(const char *name)
{
    char *path = nm_xasprintf(DIR_KH "%s.fp", name);
    char *data = slurp(path, NULL);
    char *b = strchr(data, ' ');
    char *fp = b ? nm_xstrndup(b + 1, strcspn(b + 1, " \n")) : nm_xstrdup("?");
    free(data);
    free(path);
    return fp;
}

static struct key ed, ec, rsa, rev, ca;

static struct nm_known_hosts *load(const char *path)
{
    struct nm_known_hosts *kh = NULL;
    nm_diag d = {""};
    int r = nm_known_hosts_load(path, &kh, &d);
    if (r < 0) {
        fprintf(stderr, "load %s: %s\n", path, d.msg);
        exit(1);
    }
    return kh;
}

static enum nm_hostkey_verdict check(const struct nm_known_hosts *kh, const char *host, int port,
                                     struct key k)
{
    return nm_known_hosts_check(kh, host, port, k.blob, k.len, NULL);
}

static void test_plain(void)
{
    struct nm_known_hosts *kh = load(DIR_KH "known_hosts");
    size_t line = 0;

    /* Lines 16-25 are malformed; line 26 has no newline and still counts. */
    CHECK_INT(nm_known_hosts_bad_lines(kh), 10);
    CHECK_INT(check(kh, "last.example.com", 22, ed), NM_HOSTKEY_MATCH);

    CHECK_INT(check(kh, "alpha.example.com", 22, ed), NM_HOSTKEY_MATCH);
    CHECK_INT(check(kh, "alpha.example.com", 22, ec), NM_HOSTKEY_MATCH);
    CHECK_INT(check(kh, "alpha.example.com", 22, rsa), NM_HOSTKEY_MATCH);
    CHECK_INT(check(kh, "192.0.2.10", 22, ed), NM_HOSTKEY_MATCH);
    CHECK_INT(check(kh, "192.0.2.10", 22, ec), NM_HOSTKEY_MISMATCH);
    CHECK_INT(check(kh, "unknown.example.org", 22, ed), NM_HOSTKEY_UNKNOWN);
    CHECK_INT(check(kh, "alpha.example.co", 22, ed), NM_HOSTKEY_UNKNOWN);
    CHECK_INT(check(kh, "alpha.example.com.", 22, ed), NM_HOSTKEY_UNKNOWN);

    /* Mismatch: a key the host never had; the ed25519 line is named. */
    struct key other = ca;
    CHECK_INT(nm_known_hosts_check(kh, "alpha.example.com", 22, other.blob, other.len, &line),
              NM_HOSTKEY_MISMATCH);
    CHECK_INT(line, 3);
    line = 0;
    CHECK_INT(nm_known_hosts_check(kh, "db1.example.com", 22, ed.blob, ed.len, &line),
              NM_HOSTKEY_MISMATCH);
    CHECK_INT(line, 10);
    /* Another ecdsa key (a made-up blob): the ecdsa line, not the first. */
    static const unsigned char fake_ec[] = {0,   0,   0,   19,  'e', 'c', 'd', 's',
                                            'a', '-', 's', 'h', 'a', '2', '-', 'n',
                                            'i', 's', 't', 'p', '2', '5', '6', 0};
    CHECK_INT(nm_known_hosts_check(kh, "alpha.example.com", 22, fake_ec, sizeof fake_ec, &line),
              NM_HOSTKEY_MISMATCH);
    CHECK_INT(line, 4);
    line = 99;
    CHECK_INT(nm_known_hosts_check(kh, "nowhere.example.org", 22, ed.blob, ed.len, &line),
              NM_HOSTKEY_UNKNOWN);
    CHECK_INT(line, 99); /* untouched unless a mismatch */
    /* A truncated blob of the right key is another key. */
    CHECK_INT(nm_known_hosts_check(kh, "alpha.example.com", 22, ed.blob, ed.len - 1, NULL),
              NM_HOSTKEY_MISMATCH);

    /* Port 22 looks up "host", any other port "[host]:port". */
    CHECK_INT(check(kh, "127.0.0.1", 22, ed), NM_HOSTKEY_MATCH);
    CHECK_INT(check(kh, "127.0.0.1", 0, ed), NM_HOSTKEY_MATCH);
    CHECK_INT(check(kh, "127.0.0.1", 22, ec), NM_HOSTKEY_MISMATCH);
    CHECK_INT(check(kh, "127.0.0.1", 2222, ec), NM_HOSTKEY_MATCH);
    CHECK_INT(nm_known_hosts_check(kh, "127.0.0.1", 2222, ed.blob, ed.len, &line),
              NM_HOSTKEY_MISMATCH);
    CHECK_INT(line, 7);
    CHECK_INT(check(kh, "127.0.0.1", 2223, ec), NM_HOSTKEY_UNKNOWN);
    CHECK_INT(check(kh, "alpha.example.com", 2222, ed), NM_HOSTKEY_UNKNOWN);
    /* As in OpenSSH, "[host]:22" is never what port 22 looks up. */
    CHECK_INT(check(kh, "beta.example.com", 22, ed), NM_HOSTKEY_UNKNOWN);

    /* Wildcards and negation. */
    CHECK_INT(check(kh, "www.web.example.com", 22, ed), NM_HOSTKEY_MATCH);
    CHECK_INT(check(kh, "a.b.web.example.com", 22, ed), NM_HOSTKEY_MATCH);
    CHECK_INT(check(kh, "web.example.com", 22, ed), NM_HOSTKEY_UNKNOWN);
    CHECK_INT(check(kh, "secret.web.example.com", 22, ed), NM_HOSTKEY_UNKNOWN);
    CHECK_INT(check(kh, "SECRET.web.example.com", 22, ed), NM_HOSTKEY_UNKNOWN);
    CHECK_INT(check(kh, "db1.example.com", 22, rsa), NM_HOSTKEY_MATCH);
    CHECK_INT(check(kh, "dbx.example.com", 22, rsa), NM_HOSTKEY_MATCH);
    CHECK_INT(check(kh, "db.example.com", 22, rsa), NM_HOSTKEY_UNKNOWN);
    CHECK_INT(check(kh, "db10.example.com", 22, rsa), NM_HOSTKEY_UNKNOWN);

    /* Case-insensitive on both sides. */
    CHECK_INT(check(kh, "gamma.example.com", 22, ed), NM_HOSTKEY_MATCH);
    CHECK_INT(check(kh, "GAMMA.EXAMPLE.COM", 22, ed), NM_HOSTKEY_MATCH);
    CHECK_INT(check(kh, "Alpha.Example.Com", 22, rsa), NM_HOSTKEY_MATCH);

    /* @revoked wins over a plain line holding the same key (line 12), and
     * "@revoked *" covers every host. */
    CHECK_INT(check(kh, "delta.example.com", 22, rev), NM_HOSTKEY_REVOKED);
    CHECK_INT(nm_known_hosts_check(kh, "delta.example.com", 22, ed.blob, ed.len, &line),
              NM_HOSTKEY_MISMATCH);
    CHECK_INT(line, 12);
    CHECK_INT(check(kh, "anything.example.org", 2200, rev), NM_HOSTKEY_REVOKED);
    CHECK_INT(check(kh, "alpha.example.com", 22, rev), NM_HOSTKEY_REVOKED);

    /* @cert-authority lines never match a plain key. */
    CHECK_INT(check(kh, "epsilon.example.com", 22, ca), NM_HOSTKEY_UNKNOWN);
    CHECK_INT(check(kh, "epsilon.example.com", 22, ed), NM_HOSTKEY_UNKNOWN);

    /* Malformed lines are skipped: their hosts are unknown. */
    CHECK_INT(check(kh, "bad2.example.com", 22, ed), NM_HOSTKEY_UNKNOWN);
    CHECK_INT(check(kh, "bad5.example.com", 22, ed), NM_HOSTKEY_UNKNOWN);
    CHECK_INT(check(kh, "bad10.example.com", 22, ed), NM_HOSTKEY_UNKNOWN);

    /* Bad arguments are "unknown", never "match". */
    CHECK_INT(check(kh, "", 22, ed), NM_HOSTKEY_UNKNOWN);
    CHECK_INT(nm_known_hosts_check(kh, NULL, 22, ed.blob, ed.len, NULL), NM_HOSTKEY_UNKNOWN);
    CHECK_INT(nm_known_hosts_check(NULL, "alpha.example.com", 22, ed.blob, ed.len, NULL),
              NM_HOSTKEY_UNKNOWN);
    CHECK_INT(nm_known_hosts_check(kh, "alpha.example.com", 22, NULL, 0, NULL), NM_HOSTKEY_UNKNOWN);

    nm_known_hosts_destroy(kh);
}

static void test_hashed(void)
{
    size_t len;
    char *raw = slurp(DIR_KH "known_hosts.hashed", &len);
    /* Really hashed by ssh-keygen: no plain alpha left, |1| lines present. */
    CHECK(strstr(raw, "alpha.example.com") == NULL);
    CHECK(strstr(raw, "\n|1|") != NULL);
    free(raw);

    struct nm_known_hosts *kh = load(DIR_KH "known_hosts.hashed");
    size_t line = 0;
    CHECK_INT(nm_known_hosts_bad_lines(kh), 0);
    CHECK_INT(check(kh, "alpha.example.com", 22, ed), NM_HOSTKEY_MATCH);
    CHECK_INT(check(kh, "alpha.example.com", 22, ec), NM_HOSTKEY_MATCH);
    CHECK_INT(check(kh, "alpha.example.com", 22, rsa), NM_HOSTKEY_MATCH);
    CHECK_INT(check(kh, "ALPHA.example.com", 22, rsa), NM_HOSTKEY_MATCH);
    CHECK_INT(check(kh, "192.0.2.10", 22, ed), NM_HOSTKEY_MATCH);
    CHECK_INT(check(kh, "192.0.2.11", 22, ed), NM_HOSTKEY_UNKNOWN);
    CHECK_INT(check(kh, "127.0.0.1", 22, ed), NM_HOSTKEY_MATCH);
    CHECK_INT(check(kh, "127.0.0.1", 2222, ec), NM_HOSTKEY_MATCH);
    CHECK_INT(nm_known_hosts_check(kh, "127.0.0.1", 2222, ed.blob, ed.len, &line),
              NM_HOSTKEY_MISMATCH);
    CHECK_INT(line, 8); /* the hashed file has one line more: alpha,ip split */
    CHECK_INT(check(kh, "127.0.0.1", 2223, ec), NM_HOSTKEY_UNKNOWN);
    CHECK_INT(check(kh, "beta.example.com", 22, ed), NM_HOSTKEY_UNKNOWN);
    CHECK_INT(check(kh, "beta.example.com", 2222, ed), NM_HOSTKEY_UNKNOWN);
    /* ssh-keygen -H lowercased Gamma.Example.COM before hashing. */
    CHECK_INT(check(kh, "Gamma.example.com", 22, ed), NM_HOSTKEY_MATCH);
    CHECK_INT(check(kh, "delta.example.com", 22, rev), NM_HOSTKEY_REVOKED);
    CHECK_INT(check(kh, "www.web.example.com", 22, ed), NM_HOSTKEY_MATCH);
    CHECK_INT(check(kh, "secret.web.example.com", 22, ed), NM_HOSTKEY_UNKNOWN);

    char buf[256];
    CHECK_INT(nm_known_hosts_algorithms(kh, "alpha.example.com", 22, buf, sizeof buf), 0);
    CHECK_STR(buf, "ssh-ed25519,ecdsa-sha2-nistp256,rsa-sha2-512,rsa-sha2-256,ssh-rsa");
    nm_known_hosts_destroy(kh);
}

static void test_algorithms(void)
{
    struct nm_known_hosts *kh = load(DIR_KH "known_hosts");
    char buf[256];
    const char *all = "ssh-ed25519,ecdsa-sha2-nistp256,rsa-sha2-512,rsa-sha2-256,ssh-rsa";

    CHECK_INT(nm_known_hosts_algorithms(kh, "alpha.example.com", 22, buf, sizeof buf), 0);
    CHECK_STR(buf, all);
    CHECK_INT(nm_known_hosts_algorithms(kh, "127.0.0.1", 2222, buf, sizeof buf), 0);
    CHECK_STR(buf, "ecdsa-sha2-nistp256");
    CHECK_INT(nm_known_hosts_algorithms(kh, "127.0.0.1", 22, buf, sizeof buf), 0);
    CHECK_STR(buf, "ssh-ed25519");
    /* Revoked and CA lines offer nothing. */
    CHECK_INT(nm_known_hosts_algorithms(kh, "epsilon.example.com", 22, buf, sizeof buf), 0);
    CHECK_STR(buf, "");
    CHECK_INT(nm_known_hosts_algorithms(kh, "secret.web.example.com", 22, buf, sizeof buf), 0);
    CHECK_STR(buf, "");
    CHECK_INT(nm_known_hosts_algorithms(kh, "db7.example.com", 22, buf, sizeof buf), 0);
    CHECK_STR(buf, "rsa-sha2-512,rsa-sha2-256,ssh-rsa");

    /* Exactly enough room, then one byte short (buffer left alone). */
    size_t need = strlen(all) + 1;
    CHECK_INT(nm_known_hosts_algorithms(kh, "alpha.example.com", 22, buf, need), 0);
    CHECK_STR(buf, all);
    memcpy(buf, "untouched", 10);
    CHECK_INT(nm_known_hosts_algorithms(kh, "alpha.example.com", 22, buf, need - 1), NM_ERR_TOOBIG);
    CHECK_STR(buf, "untouched");
    CHECK_INT(nm_known_hosts_algorithms(kh, "alpha.example.com", 22, buf, 0), NM_ERR_TOOBIG);
    nm_known_hosts_destroy(kh);

    /* Duplicates collapse, order is file order, unknown types are skipped. */
    static const char text[] =
        "h ssh-rsa AAAAB3NzaC1yc2E=\n" /* blob: just "ssh-rsa" */
        "h ssh-foo AAAAB3NzaC1mb28=\n" /* an unknown type */
        "h ssh-dss AAAAB3NzaC1kc3M=\n"
        "h ssh-rsa AAAAB3NzaC1yc2EAAAABAQ==\n" /* a second rsa key */
        "h ecdsa-sha2-nistp384 AAAAE2VjZHNhLXNoYTItbmlzdHAzODQ=\n"
        "h ecdsa-sha2-nistp521 AAAAE2VjZHNhLXNoYTItbmlzdHA1MjE=\n"
        "h sk-ssh-ed25519@openssh.com AAAAGnNrLXNzaC1lZDI1NTE5QG9wZW5zc2guY29t\n";
    CHECK_INT(nm_known_hosts_parse("mem", text, sizeof text - 1, &kh, NULL), 0);
    CHECK_INT(nm_known_hosts_bad_lines(kh), 0);
    CHECK_INT(nm_known_hosts_algorithms(kh, "H", 22, buf, sizeof buf), 0);
    CHECK_STR(buf, "rsa-sha2-512,rsa-sha2-256,ssh-rsa,ssh-dss,ecdsa-sha2-nistp384,"
                   "ecdsa-sha2-nistp521");
    nm_known_hosts_destroy(kh);
}

static void test_fingerprints(void)
{
    static const char *names[] = {"host_ed25519", "host_ecdsa", "host_rsa", "revoked_ed25519",
                                  "ca_ed25519"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        struct key k = load_pub(names[i]);
        char *want = load_fp(names[i]);
        char fp[64];
        CHECK_INT(nm_hostkey_fingerprint(k.blob, k.len, fp, sizeof fp), 0);
        CHECK_STR(fp, want);
        /* "SHA256:" + 43 + NUL */
        CHECK_INT(nm_hostkey_fingerprint(k.blob, k.len, fp, 51), 0);
        CHECK_INT(nm_hostkey_fingerprint(k.blob, k.len, fp, 50), NM_ERR_TOOBIG);
        free(want);
        free(k.blob);
    }

    char t[32];
    CHECK_INT(nm_hostkey_type_name(ed.blob, ed.len, t, sizeof t), 0);
    CHECK_STR(t, "ssh-ed25519");
    CHECK_INT(nm_hostkey_type_name(ec.blob, ec.len, t, sizeof t), 0);
    CHECK_STR(t, "ecdsa-sha2-nistp256");
    CHECK_INT(nm_hostkey_type_name(rsa.blob, rsa.len, t, sizeof t), 0);
    CHECK_STR(t, "ssh-rsa");
    CHECK_INT(nm_hostkey_type_name(ec.blob, ec.len, t, 19), NM_ERR_TOOBIG);
    CHECK_INT(nm_hostkey_type_name(ed.blob, 3, t, sizeof t), NM_ERR_PARSE);
    CHECK_INT(nm_hostkey_type_name(ed.blob, 10, t, sizeof t), NM_ERR_PARSE); /* name cut */
    static const unsigned char huge[] = {0xff, 0xff, 0xff, 0xff, 'a'};
    CHECK_INT(nm_hostkey_type_name(huge, sizeof huge, t, sizeof t), NM_ERR_PARSE);
    static const unsigned char spacey[] = {0, 0, 0, 3, 'a', ' ', 'b'};
    CHECK_INT(nm_hostkey_type_name(spacey, sizeof spacey, t, sizeof t), NM_ERR_PARSE);
}

static void test_parse_edges(void)
{
    struct nm_known_hosts *kh = NULL;
    char *edb64 = NULL;
    {
        char *pub = slurp(DIR_KH "host_ed25519.pub", NULL);
        char *b = strchr(pub, ' ') + 1;
        edb64 = nm_xstrndup(b, strcspn(b, " \n"));
        free(pub);
    }

    /* CRLF, tabs, a comment with '#', and a CR-only blank line. */
    char *text = nm_xasprintf("\r\n"
                              "\tcrlf.example.com\tssh-ed25519\t%s\r\n"
                              "hash.example.com ssh-ed25519 %s # a comment\n"
                              "@revoked\n"
                              "@cert-authority    ca.example.com ssh-ed25519 %s\n"
                              "nokey.example.com ssh-ed25519 \n"
                              "@cert-authority @revoked ssh-ed25519 %s\n"
                              "nul.example.com ssh-ed25519 %s\n",
                              edb64, edb64, edb64, edb64, edb64);
    size_t len = strlen(text);
    char *nul = strstr(text, "nul.example.com");
    nul[3] = '\0'; /* an embedded NUL spoils only its own line */
    CHECK_INT(nm_known_hosts_parse("mem", text, len, &kh, NULL), 0);
    CHECK_INT(nm_known_hosts_bad_lines(kh), 4);
    CHECK_INT(check(kh, "crlf.example.com", 22, ed), NM_HOSTKEY_MATCH);
    CHECK_INT(check(kh, "hash.example.com", 22, ed), NM_HOSTKEY_MATCH);
    CHECK_INT(check(kh, "ca.example.com", 22, ed), NM_HOSTKEY_UNKNOWN);
    nm_known_hosts_destroy(kh);
    free(text);

    /* A line over the cap is bad; the file goes on. */
    size_t big = 70 * 1024;
    text = nm_xmalloc(big + 200);
    memset(text, 'a', big);
    len = big;
    len += (size_t)snprintf(text + len, 200, "\nok.example.com ssh-ed25519 %s\n", edb64);
    CHECK_INT(nm_known_hosts_parse("mem", text, len, &kh, NULL), 0);
    CHECK_INT(nm_known_hosts_bad_lines(kh), 1);
    CHECK_INT(check(kh, "ok.example.com", 22, ed), NM_HOSTKEY_MATCH);
    nm_known_hosts_destroy(kh);
    free(text);

    /* Pathological wildcards stay fast (no exponential backtracking). */
    text = nm_xasprintf("*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b ssh-ed25519 %s\n", edb64);
    CHECK_INT(nm_known_hosts_parse("mem", text, strlen(text), &kh, NULL), 0);
    CHECK_INT(check(kh, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 22, ed),
              NM_HOSTKEY_UNKNOWN);
    CHECK_INT(check(kh, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab", 22, ed),
              NM_HOSTKEY_MATCH);
    nm_known_hosts_destroy(kh);
    free(text);

    /* A lone "!" pattern or an empty list element matches nothing. */
    text = nm_xasprintf("!,,x?.example.com ssh-ed25519 %s\n", edb64);
    CHECK_INT(nm_known_hosts_parse("mem", text, strlen(text), &kh, NULL), 0);
    CHECK_INT(check(kh, "xy.example.com", 22, ed), NM_HOSTKEY_MATCH);
    CHECK_INT(check(kh, "x.example.com", 22, ed), NM_HOSTKEY_UNKNOWN);
    nm_known_hosts_destroy(kh);
    free(text);

    /* Empty input and the size cap. */
    CHECK_INT(nm_known_hosts_parse("mem", NULL, 0, &kh, NULL), 0);
    CHECK_INT(check(kh, "alpha.example.com", 22, ed), NM_HOSTKEY_UNKNOWN);
    nm_known_hosts_destroy(kh);
    kh = NULL;
    /* The length alone is refused, before any byte is read. */
    CHECK_INT(nm_known_hosts_parse("mem", "", (size_t)17 * 1024 * 1024, &kh, NULL), NM_ERR_TOOBIG);
    CHECK(kh == NULL);
    nm_known_hosts_destroy(NULL);
    CHECK_INT(nm_known_hosts_bad_lines(NULL), 0);

    free(edb64);
}

static void test_missing(void)
{
    struct nm_known_hosts *kh = NULL;
    nm_diag d = {""};
    CHECK_INT(nm_known_hosts_load(DIR_KH "does-not-exist", &kh, &d), 0);
    CHECK(kh != NULL);
    CHECK_INT(check(kh, "alpha.example.com", 22, ed), NM_HOSTKEY_UNKNOWN);
    CHECK_INT(nm_known_hosts_bad_lines(kh), 0);
    char buf[8] = "x";
    CHECK_INT(nm_known_hosts_algorithms(kh, "alpha.example.com", 22, buf, sizeof buf), 0);
    CHECK_STR(buf, "");
    nm_known_hosts_destroy(kh);

    kh = NULL;
    /* A directory is not a missing file. */
    CHECK(nm_known_hosts_load(DIR_KH, &kh, &d) < 0);
    CHECK(kh == NULL);
}

static char *make_tmpdir(void)
{
    char tmpl[] = "/tmp/nm-kh-XXXXXX";
    CHECK(mkdtemp(tmpl) != NULL);
    return nm_xstrdup(tmpl);
}

static void rm_rf(const char *path)
{
    DIR *dir = opendir(path);
    if (dir) {
        struct dirent *de;
        while ((de = readdir(dir))) {
            if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
                continue;
            char *sub = nm_xasprintf("%s/%s", path, de->d_name);
            rm_rf(sub);
            free(sub);
        }
        closedir(dir);
        rmdir(path);
    } else {
        unlink(path);
    }
}

static void test_append(void)
{
    char *dir = make_tmpdir();
    char *sshdir = nm_xasprintf("%s/home/.ssh", dir);
    char *path = nm_xasprintf("%s/known_hosts", sshdir);
    struct nm_known_hosts *kh = load(path);
    nm_diag d = {""};
    struct stat st;

    CHECK_INT(check(kh, "new.example.com", 22, ed), NM_HOSTKEY_UNKNOWN);
    CHECK_INT(nm_known_hosts_append(kh, path, "New.Example.com", 22, ed.blob, ed.len, &d), 0);
    CHECK_INT(check(kh, "new.example.com", 22, ed), NM_HOSTKEY_MATCH);
    CHECK_INT(check(kh, "new.example.com", 22, ec), NM_HOSTKEY_MISMATCH);
    CHECK_INT(nm_known_hosts_append(kh, path, "new.example.com", 2222, ec.blob, ec.len, &d), 0);
    CHECK_INT(check(kh, "new.example.com", 2222, ec), NM_HOSTKEY_MATCH);
    CHECK_INT(check(kh, "new.example.com", 22, ec), NM_HOSTKEY_MISMATCH);

    CHECK(stat(sshdir, &st) == 0 && (st.st_mode & 0777) == 0700);
    CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);

    char *pubed = slurp(DIR_KH "host_ed25519.pub", NULL);
    char *pubec = slurp(DIR_KH "host_ecdsa.pub", NULL);
    pubed[strcspn(pubed, " ") + 1 + strcspn(strchr(pubed, ' ') + 1, " \n")] = '\0';
    pubec[strcspn(pubec, " ") + 1 + strcspn(strchr(pubec, ' ') + 1, " \n")] = '\0';
    char *want = nm_xasprintf("new.example.com %s\n[new.example.com]:2222 %s\n", pubed, pubec);
    char *got = slurp(path, NULL);
    CHECK_STR(got, want);
    free(got);
    free(want);

    /* Read back: what we wrote is what we parse. */
    struct nm_known_hosts *again = load(path);
    size_t line = 0;
    CHECK_INT(nm_known_hosts_bad_lines(again), 0);
    CHECK_INT(check(again, "new.example.com", 22, ed), NM_HOSTKEY_MATCH);
    CHECK_INT(nm_known_hosts_check(again, "new.example.com", 2222, ed.blob, ed.len, &line),
              NM_HOSTKEY_MISMATCH);
    CHECK_INT(line, 2);
    nm_known_hosts_destroy(again);
    /* In memory the appended lines carry the same numbers. */
    line = 0;
    CHECK_INT(nm_known_hosts_check(kh, "new.example.com", 2222, ed.blob, ed.len, &line),
              NM_HOSTKEY_MISMATCH);
    CHECK_INT(line, 2);

    /* Names that would not read back as one host are refused. */
    static const char *refused[] = {"",     "a b",      "a,b", "*.x",  "!x",    "[x]:2",
                                    "|1|x", "@revoked", "#x",  "a\nb", "tab\tx"};
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++)
        CHECK_INT(nm_known_hosts_append(kh, path, refused[i], 22, ed.blob, ed.len, NULL),
                  NM_ERR_INVAL);
    CHECK_INT(nm_known_hosts_append(kh, path, "ok", 65536, ed.blob, ed.len, NULL), NM_ERR_INVAL);
    CHECK_INT(nm_known_hosts_append(kh, path, "ok", -1, ed.blob, ed.len, NULL), NM_ERR_INVAL);
    CHECK_INT(nm_known_hosts_append(kh, path, "ok", 22, ed.blob, 3, NULL), NM_ERR_INVAL);
    got = slurp(path, NULL);
    CHECK_INT(strlen(got), strlen(pubed) + strlen(pubec) + 41);
    free(got);
    nm_known_hosts_destroy(kh);

    /* A file without a final newline gets one before the new line; no kh. */
    char *path2 = nm_xasprintf("%s/kh2", dir);
    CHECK_INT(nm_write_atomic(path2, "# no newline", 12, 0644, NULL), 0);
    CHECK_INT(nm_known_hosts_append(NULL, path2, "x.example.com", 22, ed.blob, ed.len, &d), 0);
    got = slurp(path2, NULL);
    want = nm_xasprintf("# no newline\nx.example.com %s\n", pubed);
    CHECK_STR(got, want);
    free(got);
    free(want);
    kh = load(path2);
    CHECK_INT(check(kh, "x.example.com", 22, ed), NM_HOSTKEY_MATCH);
    nm_known_hosts_destroy(kh);
    CHECK(stat(path2, &st) == 0 && (st.st_mode & 0777) == 0644); /* mode kept */

    /* A parent that cannot be made is an error, with a message. */
    char *bad = nm_xasprintf("%s/kh2/sub/known_hosts", dir);
    d.msg[0] = '\0';
    CHECK(nm_known_hosts_append(NULL, bad, "x", 22, ed.blob, ed.len, &d) < 0);
    CHECK(d.msg[0] != '\0');

    free(bad);
    free(pubed);
    free(pubec);
    free(path2);
    rm_rf(dir);
    free(path);
    free(sshdir);
    free(dir);
}

/* ---- concurrency: checkers run while one thread appends ---- */

#define N_APPEND   40
#define N_CHECKERS 4

struct conc {
    struct nm_known_hosts *kh;
    const char *path;
    int errors;
};

struct checker {
    struct conc *c;
    int errors;
    long rounds;
};

static void *checker_main(void *arg)
{
    struct checker *ch = arg;
    char buf[256];
    for (long i = 0; i < 400; i++) {
        /* Always-known answers must never waver while the set grows. */
        if (check(ch->c->kh, "alpha.example.com", 22, ed) != NM_HOSTKEY_MATCH)
            ch->errors++;
        if (check(ch->c->kh, "delta.example.com", 22, rev) != NM_HOSTKEY_REVOKED)
            ch->errors++;
        char host[64];
        snprintf(host, sizeof host, "h%ld.example.net", i % N_APPEND);
        enum nm_hostkey_verdict v = check(ch->c->kh, host, 22, ed);
        if (v != NM_HOSTKEY_MATCH && v != NM_HOSTKEY_UNKNOWN)
            ch->errors++;
        if (nm_known_hosts_algorithms(ch->c->kh, "alpha.example.com", 22, buf, sizeof buf) != 0)
            ch->errors++;
        ch->rounds++;
    }
    return NULL;
}

static void *appender_main(void *arg)
{
    struct conc *c = arg;
    for (int i = 0; i < N_APPEND; i++) {
        char host[64];
        snprintf(host, sizeof host, "h%d.example.net", i);
        if (nm_known_hosts_append(c->kh, c->path, host, 22, ed.blob, ed.len, NULL) != 0)
            c->errors++;
    }
    return NULL;
}

static void test_concurrent(void)
{
    char *dir = make_tmpdir();
    char *path = nm_xasprintf("%s/known_hosts", dir);
    size_t len;
    char *fixture = slurp(DIR_KH "known_hosts.hashed", &len);
    CHECK_INT(nm_write_atomic(path, fixture, len, 0600, NULL), 0);
    free(fixture);

    struct conc c = {.kh = load(path), .path = path};
    struct checker ch[N_CHECKERS];
    pthread_t t[N_CHECKERS], ta;
    for (int i = 0; i < N_CHECKERS; i++) {
        ch[i] = (struct checker){.c = &c};
        CHECK(pthread_create(&t[i], NULL, checker_main, &ch[i]) == 0);
    }
    CHECK(pthread_create(&ta, NULL, appender_main, &c) == 0);
    pthread_join(ta, NULL);
    for (int i = 0; i < N_CHECKERS; i++) {
        pthread_join(t[i], NULL);
        CHECK_INT(ch[i].errors, 0);
        CHECK_INT(ch[i].rounds, 400);
    }
    CHECK_INT(c.errors, 0);

    for (int i = 0; i < N_APPEND; i++) {
        char host[64];
        snprintf(host, sizeof host, "h%d.example.net", i);
        CHECK_INT(check(c.kh, host, 22, ed), NM_HOSTKEY_MATCH);
    }
    nm_known_hosts_destroy(c.kh);

    /* Every appended line arrived whole. */
    struct nm_known_hosts *kh = load(path);
    CHECK_INT(nm_known_hosts_bad_lines(kh), 0);
    for (int i = 0; i < N_APPEND; i++) {
        char host[64];
        snprintf(host, sizeof host, "h%d.example.net", i);
        CHECK_INT(check(kh, host, 22, ed), NM_HOSTKEY_MATCH);
    }
    nm_known_hosts_destroy(kh);

    rm_rf(dir);
    free(path);
    free(dir);
}

static char *pub_line(const char *name)
{
    char *path = nm_xasprintf(DIR_KH "%s.pub", name);
    char *pub = slurp(path, NULL);
    free(path);
    /* "type base64", the comment dropped. */
    char *sp = strchr(pub, ' ');
    CHECK(sp != NULL);
    sp[1 + strcspn(sp + 1, " \n")] = '\0';
    return pub;
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    fputs(text, f);
    fclose(f);
}

/* The user file and the global ones (ssh's UserKnownHostsFile and
 * GlobalKnownHostsFile) read together. */
static void test_global(void)
{
    char *dir = make_tmpdir();
    char *user = nm_xasprintf("%s/known_hosts", dir);
    char *g1 = nm_xasprintf("%s/ssh_known_hosts", dir);
    char *g2 = nm_xasprintf("%s/ssh_known_hosts2", dir);
    char *ped = pub_line("host_ed25519"), *pec = pub_line("host_ecdsa");
    char *prsa = pub_line("host_rsa"), *pca = pub_line("ca_ed25519");
    char *prev = pub_line("revoked_ed25519");

    char *u = nm_xasprintf("# user\nboth.example.com %s\nuseronly.example.com %s\n"
                           "changed.example.com %s\n",
                           pec, ped, ped);
    char *t1 = nm_xasprintf("both.example.com %s\nglobal.example.com %s\n"
                            "changed.example.com %s\n@revoked useronly.example.com %s\n"
                            "@cert-authority *.corp.example.com,[*.corp.example.com]:2222 %s\n",
                            ped, pec, pec, ped, pca);
    char *t2 = nm_xasprintf("\n\nsecond.example.com %s\nglobal.example.com %s\n", prsa, prev);
    write_text(user, u);
    write_text(g1, t1);
    write_text(g2, t2);

    struct nm_known_hosts *kh = load(user), *global = NULL;
    nm_diag d = {""};
    const char *paths[] = {g1, g2, "/nonexistent/ssh_known_hosts"};
    CHECK_INT(nm_known_hosts_load_files(paths, 3, &global, &d), 0);
    struct nm_hostkey_check c;

    /* Without the global set, only the user file speaks. */
    CHECK_INT(check(kh, "global.example.com", 22, ec), NM_HOSTKEY_UNKNOWN);
    nm_known_hosts_set_global(kh, global);
    nm_known_hosts_set_global(kh, kh); /* never itself */

    /* A key in the global file verifies like one in the user file. */
    CHECK_INT(check(kh, "global.example.com", 22, ec), NM_HOSTKEY_MATCH);
    CHECK_INT(check(kh, "second.example.com", 22, rsa), NM_HOSTKEY_MATCH);
    /* Each file holds one of the keys of both.example.com: both verify. */
    CHECK_INT(check(kh, "both.example.com", 22, ec), NM_HOSTKEY_MATCH);
    CHECK_INT(check(kh, "both.example.com", 22, ed), NM_HOSTKEY_MATCH);

    /* Mismatch in the global file alone, with its file and line. */
    nm_known_hosts_verify(kh, "second.example.com", 22, ed.blob, ed.len, &c);
    CHECK_INT(c.verdict, NM_HOSTKEY_MISMATCH);
    CHECK_STR(c.at.file, g2);
    CHECK_INT(c.at.line, 3);
    /* Another key of the same type is pointed at first, whichever file. */
    nm_known_hosts_verify(kh, "changed.example.com", 22, rsa.blob, rsa.len, &c);
    CHECK_INT(c.verdict, NM_HOSTKEY_MISMATCH);
    CHECK_STR(c.at.file, user);
    CHECK_INT(c.at.line, 4);
    nm_known_hosts_verify(kh, "changed.example.com", 22, ec.blob, ec.len, &c);
    CHECK_INT(c.verdict, NM_HOSTKEY_MATCH);

    /* @revoked in the global file rejects a key the user file lists. */
    nm_known_hosts_verify(kh, "useronly.example.com", 22, ed.blob, ed.len, &c);
    CHECK_INT(c.verdict, NM_HOSTKEY_REVOKED);
    CHECK_STR(c.at.file, g1);
    CHECK_INT(c.at.line, 4);
    /* A revoked key listed as a host's key in the global file never matches
     * (the @revoked line is in the other file: rev is not revoked there). */
    CHECK_INT(check(kh, "global.example.com", 22, rev), NM_HOSTKEY_MATCH);

    /* @cert-authority: never a match, but named for an unknown host, with
     * [host]:port for other ports as ssh looks CA lines up. */
    nm_known_hosts_verify(kh, "web1.corp.example.com", 22, ed.blob, ed.len, &c);
    CHECK_INT(c.verdict, NM_HOSTKEY_UNKNOWN);
    CHECK_STR(c.ca.file, g1);
    CHECK_INT(c.ca.line, 5);
    nm_known_hosts_verify(kh, "web1.corp.example.com", 2222, ca.blob, ca.len, &c);
    CHECK_INT(c.verdict, NM_HOSTKEY_UNKNOWN);
    CHECK_INT(c.ca.line, 5);
    nm_known_hosts_verify(kh, "web1.corp.example.com", 2200, ed.blob, ed.len, &c);
    CHECK_INT(c.verdict, NM_HOSTKEY_UNKNOWN);
    CHECK(c.ca.file == NULL && c.ca.line == 0);
    nm_known_hosts_verify(kh, "other.example.com", 22, ed.blob, ed.len, &c);
    CHECK(c.ca.file == NULL && c.ca.line == 0);

    /* Algorithms come from both sets. */
    char algs[256];
    CHECK_INT(nm_known_hosts_algorithms(kh, "both.example.com", 22, algs, sizeof algs), 0);
    CHECK_STR(algs, "ecdsa-sha2-nistp256,ssh-ed25519");
    CHECK_INT(nm_known_hosts_algorithms(kh, "second.example.com", 22, algs, sizeof algs), 0);
    CHECK_STR(algs, "rsa-sha2-512,rsa-sha2-256,ssh-rsa");

    /* Appends go to the user file only, numbered in it. */
    char *g1_before = slurp(g1, NULL);
    CHECK_INT(nm_known_hosts_append(kh, user, "fresh.example.com", 22, ed.blob, ed.len, &d), 0);
    nm_known_hosts_verify(kh, "fresh.example.com", 22, ec.blob, ec.len, &c);
    CHECK_INT(c.verdict, NM_HOSTKEY_MISMATCH);
    CHECK_STR(c.at.file, user);
    CHECK_INT(c.at.line, 5);
    char *g1_after = slurp(g1, NULL);
    CHECK_STR(g1_after, g1_before);
    char *u_after = slurp(user, NULL);
    CHECK(strstr(u_after, "fresh.example.com ssh-ed25519 ") != NULL);

    /* The environment names the global files, space-separated; empty: none. */
    char *list = nm_xasprintf("  %s\t%s ", g1, g2);
    setenv("NEARMISS_GLOBAL_KNOWN_HOSTS", list, 1);
    struct nm_known_hosts *genv = NULL;
    CHECK_INT(nm_known_hosts_load_global(&genv, &d), 0);
    CHECK_INT(check(genv, "second.example.com", 22, rsa), NM_HOSTKEY_MATCH);
    nm_known_hosts_destroy(genv);
    setenv("NEARMISS_GLOBAL_KNOWN_HOSTS", "", 1);
    genv = NULL;
    CHECK_INT(nm_known_hosts_load_global(&genv, &d), 0);
    CHECK_INT(check(genv, "second.example.com", 22, rsa), NM_HOSTKEY_UNKNOWN);
    /* Certificates are never recorded as if they were keys. */
    static const unsigned char cert[] = {0,   0,   0,   32,  's', 's', 'h', '-', 'e', 'd',
                                         '2', '5', '5', '1', '9', '-', 'c', 'e', 'r', 't',
                                         '-', 'v', '0', '1', '@', 'o', 'p', 'e', 'n', 's',
                                         's', 'h', '.', 'c', 'o', 'm', 0,   0,   0,   0};
    CHECK_INT(nm_known_hosts_append(kh, user, "cert.example.com", 22, cert, sizeof cert, &d),
              NM_ERR_INVAL);
    CHECK(strstr(d.msg, "is a certificate (ssh-ed25519-cert-v01@openssh.com)") != NULL);
    /* A set of no files still names the file an append went to. */
    char *extra = nm_xasprintf("%s/extra", dir);
    CHECK_INT(nm_known_hosts_append(genv, extra, "x.example.com", 22, ed.blob, ed.len, &d), 0);
    nm_known_hosts_verify(genv, "x.example.com", 22, ec.blob, ec.len, &c);
    CHECK_INT(c.verdict, NM_HOSTKEY_MISMATCH);
    CHECK_STR(c.at.file, extra);
    CHECK_INT(c.at.line, 1);
    free(extra);
    nm_known_hosts_destroy(genv);
    unsetenv("NEARMISS_GLOBAL_KNOWN_HOSTS");
    CHECK_STR(nm_known_hosts_global_paths(), "/etc/ssh/ssh_known_hosts /etc/ssh/ssh_known_hosts2");

    free(list);
    free(u_after);
    free(g1_after);
    free(g1_before);
    nm_known_hosts_destroy(kh);
    nm_known_hosts_destroy(global);
    free(u);
    free(t1);
    free(t2);
    free(ped);
    free(pec);
    free(prsa);
    free(pca);
    free(prev);
    rm_rf(dir);
    free(user);
    free(g1);
    free(g2);
    free(dir);
}

int main(void)
{
    ed = load_pub("host_ed25519");
    ec = load_pub("host_ecdsa");
    rsa = load_pub("host_rsa");
    rev = load_pub("revoked_ed25519");
    ca = load_pub("ca_ed25519");

    test_plain();
    test_hashed();
    test_algorithms();
    test_fingerprints();
    test_parse_edges();
    test_missing();
    test_append();
    test_global();
    test_concurrent();

    free(ed.blob);
    free(ec.blob);
    free(rsa.blob);
    free(rev.blob);
    free(ca.blob);
    return test_result();
}
