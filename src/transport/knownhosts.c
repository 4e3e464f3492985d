/*
 * OpenSSH known_hosts, written from sshd(8) "SSH_KNOWN_HOSTS FILE FORMAT" and
 * following the client's behaviour where the man page is silent:
 *
 *  - the name looked up is the lowercased host for port 22 and
 *    "[host]:port" otherwise; a "[host]:22" line is never looked up (ssh
 *    does not either);
 *  - a pattern list matches when one pattern matches and no "!pattern" does;
 *  - a hashed name "|1|salt|hmac" matches when HMAC-SHA1(salt, name) == hmac;
 *  - "@revoked" lines apply to the hosts their patterns match, and a revoked
 *    key loses even when a plain line lists it;
 *  - any non-CA line for the host that holds another key, of whatever type,
 *    makes a mismatch (check_hostkeys_by_key_or_type() in hostfile.c).
 *
 * The whole file is parsed once into memory.  Checks run from many scanner
 * threads while --accept-new appends, so the set carries a rwlock: checks
 * read, appends write.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "nearmiss/digest.h"
#include "nearmiss/knownhosts.h"
#include "nearmiss/util.h"

#define KH_FILE_MAX (16u * 1024 * 1024)
/* The longest real line is a certificate or a 16384-bit RSA key, a few KiB. */
#define KH_LINE_MAX   (64u * 1024)
#define KH_TYPE_MAX   128  /* key type names, as OpenSSH's ktype[128] */
#define KH_HOST_MAX   1024 /* longer names are not host names */
#define KH_SHA1_LEN   20
#define KH_HASH_MAGIC "|1|"
#define KH_GLOBAL_MAX 16

enum kh_marker {
    KH_MARK_NONE,
    KH_MARK_CA,
    KH_MARK_REVOKED,
};

struct kh_entry {
    size_t line;   /* 1-based */
    unsigned file; /* index in the set's files */
    enum kh_marker marker;
    bool hashed;
    char *patterns;                    /* plain: the comma list as written */
    unsigned char salt[KH_SHA1_LEN];   /* hashed: HMAC key ... */
    unsigned char digest[KH_SHA1_LEN]; /* ... and HMAC-SHA1(salt, name) */
    char type[KH_TYPE_MAX];            /* key type field == type inside the blob */
    unsigned char *blob;
    size_t bloblen;
};

struct nm_known_hosts {
    /*
     * Taken for reading by check and algorithms, for writing by append.
     * Those two take a const set: the lock is the one member they change,
     * and the set is always heap-allocated, never a const object.
     */
    pthread_rwlock_t lock;
    struct kh_entry *entries;
    size_t n_entries;
    size_t alloc;
    size_t bad_lines;
    size_t lines; /* lines of files[0], to number appended entries */
    char **files; /* names for messages; files[0] is the one appends go to */
    size_t n_files;
    /* Consulted after this set's own entries; borrowed, never appended to. */
    const struct nm_known_hosts *global;
};

static pthread_rwlock_t *kh_lock(const struct nm_known_hosts *kh)
{
    return (pthread_rwlock_t *)&kh->lock;
}

static char ascii_lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static bool is_blank(char c)
{
    return c == ' ' || c == '\t';
}

/* ---- base64 and wire-format blobs ---- */

static bool b64_char(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
           c == '/';
}

/*
 * Strict padded base64.  EVP_DecodeBlock takes '=' anywhere as a zero
 * digit and counts the padding in its output length, so the alphabet and
 * the padding are checked here and the real length computed from the '='s.
 */
static int b64_decode(const char *s, size_t n, unsigned char **ret, size_t *ret_len)
{
    if (n == 0 || n % 4 != 0 || n > INT32_MAX)
        return NM_ERR_PARSE;
    size_t pad = 0;
    if (s[n - 1] == '=')
        pad = s[n - 2] == '=' ? 2 : 1;
    for (size_t i = 0; i < n - pad; i++)
        if (!b64_char((unsigned char)s[i]))
            return NM_ERR_PARSE;
    unsigned char *out = nm_xmalloc(n / 4 * 3 + 1);
    int r = EVP_DecodeBlock(out, (const unsigned char *)s, (int)n);
    if (r < 0 || (size_t)r != n / 4 * 3) {
        free(out);
        return NM_ERR_PARSE;
    }
    *ret = out;
    *ret_len = (size_t)r - pad;
    return 0;
}

/* Exact decode into a fixed buffer (hash salts and digests). */
static int b64_decode_fixed(const char *s, size_t n, unsigned char *out, size_t want)
{
    unsigned char *tmp;
    size_t len;
    int r = b64_decode(s, n, &tmp, &len);
    if (r < 0)
        return r;
    if (len == want)
        memcpy(out, tmp, want);
    else
        r = NM_ERR_PARSE;
    free(tmp);
    return r;
}

static char *b64_encode(const unsigned char *data, size_t len)
{
    if (len > INT32_MAX / 2)
        return NULL;
    char *out = nm_xmalloc((len + 2) / 3 * 4 + 1);
    EVP_EncodeBlock((unsigned char *)out, data, (int)len);
    return out;
}

int nm_hostkey_type_name(const unsigned char *blob, size_t bloblen, char *buf, size_t buflen)
{
    if (!blob || !buf)
        return NM_ERR_INVAL;
    if (bloblen < 4)
        return NM_ERR_PARSE;
    uint32_t n = (uint32_t)blob[0] << 24 | (uint32_t)blob[1] << 16 | (uint32_t)blob[2] << 8 |
                 (uint32_t)blob[3];
    if (n == 0 || n > bloblen - 4 || n >= KH_TYPE_MAX)
        return NM_ERR_PARSE;
    /* Printable and space-free: the name goes back into known_hosts lines. */
    for (uint32_t i = 0; i < n; i++)
        if (blob[4 + i] <= ' ' || blob[4 + i] >= 0x7f)
            return NM_ERR_PARSE;
    if (buflen <= n)
        return NM_ERR_TOOBIG;
    memcpy(buf, blob + 4, n);
    buf[n] = '\0';
    return 0;
}

int nm_hostkey_fingerprint(const unsigned char *blob, size_t bloblen, char *buf, size_t buflen)
{
    static const char prefix[] = "SHA256:";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    char b64[(EVP_MAX_MD_SIZE + 2) / 3 * 4 + 1];

    if (!blob || !buf)
        return NM_ERR_INVAL;
    if (EVP_Digest(blob, bloblen, md, &mdlen, nm_sha256_md(), NULL) != 1)
        return NM_ERR_INVAL;
    int n = EVP_EncodeBlock((unsigned char *)b64, md, (int)mdlen);
    while (n > 0 && b64[n - 1] == '=') /* ssh-keygen prints it unpadded */
        n--;
    if (buflen < sizeof prefix + (size_t)n)
        return NM_ERR_TOOBIG;
    memcpy(buf, prefix, sizeof prefix - 1);
    memcpy(buf + sizeof prefix - 1, b64, (size_t)n);
    buf[sizeof prefix - 1 + (size_t)n] = '\0';
    return 0;
}

/* ---- host name matching ---- */

/* `*` and `?` glob, case-insensitive on the pattern side (s is lowercase).
 * Iterative with one backtrack point, so no pattern makes it exponential. */
static bool glob_match(const char *pat, size_t plen, const char *s)
{
    size_t pi = 0, si = 0, star_p = SIZE_MAX, star_s = 0;
    while (s[si] != '\0') {
        if (pi < plen && pat[pi] == '*') {
            star_p = pi++;
            star_s = si;
        } else if (pi < plen && (pat[pi] == '?' || ascii_lower(pat[pi]) == s[si])) {
            pi++;
            si++;
        } else if (star_p != SIZE_MAX) {
            pi = star_p + 1;
            si = ++star_s;
        } else {
            return false;
        }
    }
    while (pi < plen && pat[pi] == '*')
        pi++;
    return pi == plen;
}

/* As OpenSSH's match_hostname(): 1 positive, 0 none, -1 negated match. */
static int match_pattern_list(const char *list, const char *name)
{
    int got = 0;
    for (const char *p = list;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        bool negated = len > 0 && p[0] == '!';
        if (glob_match(p + negated, len - negated, name)) {
            if (negated)
                return -1;
            got = 1;
        }
        if (!comma)
            break;
        p = comma + 1;
    }
    return got;
}

/* Per-check HMAC state: an EVP_MAC_CTX is not shareable between threads. */
struct kh_hmac {
    EVP_MAC *mac;
    EVP_MAC_CTX *ctx;
    bool keyed_once;
    bool failed;
};

static void kh_hmac_finish(struct kh_hmac *h)
{
    EVP_MAC_CTX_free(h->ctx);
    EVP_MAC_free(h->mac);
}

static bool hashed_match(struct kh_hmac *h, const struct kh_entry *e, const char *name)
{
    unsigned char out[EVP_MAX_MD_SIZE];
    size_t outlen = 0;

    if (h->failed)
        return false;
    if (!h->ctx) {
        h->mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
        h->ctx = h->mac ? EVP_MAC_CTX_new(h->mac) : NULL;
        if (!h->ctx) {
            /* No HMAC-SHA1 (a FIPS-only provider, say): hashed lines cannot
             * name this host, which errs towards "unknown", never "match". */
            h->failed = true;
            return false;
        }
    }
    /* The digest is set once; later inits only change the key. */
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA1", 0),
        OSSL_PARAM_construct_end(),
    };
    if (EVP_MAC_init(h->ctx, e->salt, sizeof e->salt, h->keyed_once ? NULL : params) != 1 ||
        EVP_MAC_update(h->ctx, (const unsigned char *)name, strlen(name)) != 1 ||
        EVP_MAC_final(h->ctx, out, &outlen, sizeof out) != 1 || outlen != KH_SHA1_LEN) {
        h->failed = true;
        return false;
    }
    h->keyed_once = true;
    return CRYPTO_memcmp(out, e->digest, KH_SHA1_LEN) == 0;
}

static bool entry_matches(struct kh_hmac *h, const struct kh_entry *e, const char *name)
{
    if (e->hashed)
        return hashed_match(h, e, name);
    return match_pattern_list(e->patterns, name) == 1;
}

/* The name ssh would look up: "host" for port 22 (or 0), else "[host]:port",
 * lowercased as ssh does before any lookup. */
static bool lookup_name(const char *host, int port, char *buf, size_t buflen)
{
    size_t hlen = strlen(host);
    if (hlen == 0 || hlen >= KH_HOST_MAX)
        return false;
    struct nm_buf b;
    nm_buf_init(&b, buflen - 1);
    int r;
    if (port == 22 || port == 0)
        r = nm_buf_append(&b, host, hlen);
    else
        r = nm_buf_appendf(&b, "[%s]:%d", host, port);
    if (r == 0) {
        for (size_t i = 0; i < b.len; i++)
            buf[i] = ascii_lower(b.data[i]);
        buf[b.len] = '\0';
    }
    nm_buf_finish(&b);
    return r == 0;
}

/* ---- parsing ---- */

static void entry_finish(struct kh_entry *e)
{
    free(e->patterns);
    free(e->blob);
}

static const char *token_end(const char *p, const char *end)
{
    while (p < end && !is_blank(*p))
        p++;
    return p;
}

static const char *skip_blanks(const char *p, const char *end)
{
    while (p < end && is_blank(*p))
        p++;
    return p;
}

static int parse_hashed(const char *p, size_t n, struct kh_entry *e)
{
    const size_t magic = sizeof KH_HASH_MAGIC - 1;
    if (n <= magic || memcmp(p, KH_HASH_MAGIC, magic) != 0)
        return NM_ERR_PARSE;
    p += magic;
    n -= magic;
    const char *bar = memchr(p, '|', n);
    if (!bar)
        return NM_ERR_PARSE;
    size_t saltlen = (size_t)(bar - p);
    if (b64_decode_fixed(p, saltlen, e->salt, sizeof e->salt) < 0 ||
        b64_decode_fixed(bar + 1, n - saltlen - 1, e->digest, sizeof e->digest) < 0)
        return NM_ERR_PARSE;
    e->hashed = true;
    return 0;
}

enum line_kind { LINE_ENTRY, LINE_SKIP, LINE_BAD };

/*
 * [marker] hostpatterns keytype base64key [comment], fields separated by
 * spaces or tabs.  On LINE_ENTRY *e is filled and owns its memory.
 */
static enum line_kind parse_line(const char *p, const char *end, struct kh_entry *e)
{
    memset(e, 0, sizeof *e);
    if (end > p && end[-1] == '\r') /* tolerate CRLF files */
        end--;
    if ((size_t)(end - p) > KH_LINE_MAX || memchr(p, '\0', (size_t)(end - p)))
        return LINE_BAD;
    p = skip_blanks(p, end);
    if (p == end || *p == '#')
        return LINE_SKIP;

    if (*p == '@') {
        const char *m = p;
        p = token_end(p, end);
        size_t n = (size_t)(p - m);
        if (n == strlen("@cert-authority") && memcmp(m, "@cert-authority", n) == 0)
            e->marker = KH_MARK_CA;
        else if (n == strlen("@revoked") && memcmp(m, "@revoked", n) == 0)
            e->marker = KH_MARK_REVOKED;
        else
            return LINE_BAD;
        p = skip_blanks(p, end);
        if (p < end && *p == '@') /* only one marker is allowed */
            return LINE_BAD;
    }

    const char *hosts = p;
    p = token_end(p, end);
    size_t hostslen = (size_t)(p - hosts);
    p = skip_blanks(p, end);
    if (hostslen == 0 || p == end || *p == '#')
        return LINE_BAD;

    const char *type = p;
    p = token_end(p, end);
    size_t typelen = (size_t)(p - type);
    p = skip_blanks(p, end);
    const char *key = p;
    p = token_end(p, end);
    size_t keylen = (size_t)(p - key);
    /* Whatever follows is a comment. */
    if (keylen == 0 || typelen >= KH_TYPE_MAX)
        return LINE_BAD;

    if (b64_decode(key, keylen, &e->blob, &e->bloblen) < 0)
        return LINE_BAD;
    if (nm_hostkey_type_name(e->blob, e->bloblen, e->type, sizeof e->type) < 0 ||
        strlen(e->type) != typelen || memcmp(e->type, type, typelen) != 0)
        goto bad;
    if (hosts[0] == '|') {
        if (parse_hashed(hosts, hostslen, e) < 0)
            goto bad;
    } else {
        e->patterns = nm_xstrndup(hosts, hostslen);
    }
    return LINE_ENTRY;
bad:
    entry_finish(e);
    memset(e, 0, sizeof *e);
    return LINE_BAD;
}

static void add_entry(struct nm_known_hosts *kh, struct kh_entry *e)
{
    if (kh->n_entries == kh->alloc) {
        kh->alloc = kh->alloc ? kh->alloc * 2 : 16;
        kh->entries = nm_xreallocarray(kh->entries, kh->alloc, sizeof *kh->entries);
    }
    kh->entries[kh->n_entries++] = *e;
}

static struct nm_known_hosts *set_new(nm_diag *d)
{
    struct nm_known_hosts *kh = nm_xcalloc(1, sizeof *kh);
    int r = pthread_rwlock_init(&kh->lock, NULL);
    if (r != 0) {
        free(kh);
        nm_diag_set(d, NM_ERR_NOMEM, "known_hosts: cannot create lock: %s", strerror(r));
        return NULL;
    }
    return kh;
}

/* Adds one file's lines to a set not yet shared with other threads. */
static int parse_into(struct nm_known_hosts *kh, const char *name, const char *data, size_t len,
                      nm_diag *d)
{
    if (!data && len > 0)
        return nm_diag_set(d, NM_ERR_INVAL, "known_hosts: no data");
    if (len > KH_FILE_MAX)
        return nm_diag_set(d, NM_ERR_TOOBIG, "%s: larger than %u bytes",
                           name ? name : "known_hosts", KH_FILE_MAX);
    unsigned file = (unsigned)kh->n_files;
    kh->files = nm_xreallocarray(kh->files, kh->n_files + 1, sizeof *kh->files);
    kh->files[kh->n_files++] = nm_xstrdup(name ? name : "known_hosts");
    const char *p = data, *end = data + len;
    size_t lines = 0;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *eol = nl ? nl : end;
        struct kh_entry e;
        lines++;
        switch (parse_line(p, eol, &e)) {
        case LINE_ENTRY:
            e.line = lines;
            e.file = file;
            add_entry(kh, &e);
            break;
        case LINE_BAD:
            kh->bad_lines++;
            break;
        case LINE_SKIP:
            break;
        }
        p = nl ? nl + 1 : end;
    }
    if (file == 0)
        kh->lines = lines;
    return 0;
}

int nm_known_hosts_parse(const char *name, const char *data, size_t len,
                         struct nm_known_hosts **ret, nm_diag *d)
{
    if (!ret || (!data && len > 0))
        return nm_diag_set(d, NM_ERR_INVAL, "known_hosts: no data");
    if (len > KH_FILE_MAX)
        return nm_diag_set(d, NM_ERR_TOOBIG, "%s: larger than %u bytes",
                           name ? name : "known_hosts", KH_FILE_MAX);
    struct nm_known_hosts *kh = set_new(d);
    if (!kh)
        return NM_ERR_NOMEM;
    int r = parse_into(kh, name, data, len, d);
    if (r < 0) {
        nm_known_hosts_destroy(kh);
        return r;
    }
    *ret = kh;
    return 0;
}

static int load_into(struct nm_known_hosts *kh, const char *path, nm_diag *d)
{
    char *data = NULL;
    size_t len = 0;
    nm_diag rd;
    int r = nm_read_file(path, KH_FILE_MAX, &data, &len, &rd);
    if (r == NM_ERR_NOTFOUND)
        return parse_into(kh, path, "", 0, d);
    if (r < 0)
        return nm_diag_set(d, r, "%s", rd.msg);
    r = parse_into(kh, path, data, len, d);
    free(data);
    return r;
}

int nm_known_hosts_load_files(const char *const *paths, size_t n, struct nm_known_hosts **ret,
                              nm_diag *d)
{
    if ((!paths && n > 0) || !ret)
        return nm_diag_set(d, NM_ERR_INVAL, "known_hosts: no path");
    for (size_t i = 0; i < n; i++)
        if (!paths[i])
            return nm_diag_set(d, NM_ERR_INVAL, "known_hosts: no path");
    struct nm_known_hosts *kh = set_new(d);
    if (!kh)
        return NM_ERR_NOMEM;
    for (size_t i = 0; i < n; i++) {
        int r = load_into(kh, paths[i], d);
        if (r < 0) {
            nm_known_hosts_destroy(kh);
            return r;
        }
    }
    *ret = kh;
    return 0;
}

int nm_known_hosts_load(const char *path, struct nm_known_hosts **ret, nm_diag *d)
{
    if (!path || !ret)
        return nm_diag_set(d, NM_ERR_INVAL, "known_hosts: no path");
    return nm_known_hosts_load_files(&path, 1, ret, d);
}

const char *nm_known_hosts_global_paths(void)
{
    const char *env = getenv("NEARMISS_GLOBAL_KNOWN_HOSTS");
    return env ? env : NM_KNOWN_HOSTS_GLOBAL_DEFAULT;
}

int nm_known_hosts_load_global(struct nm_known_hosts **ret, nm_diag *d)
{
    if (!ret)
        return nm_diag_set(d, NM_ERR_INVAL, "known_hosts: no result");
    char *list = nm_xstrdup(nm_known_hosts_global_paths());
    const char *paths[KH_GLOBAL_MAX];
    size_t n = 0;
    int r = 0;
    for (char *p = list; *p;) {
        p += strspn(p, " \t");
        if (!*p)
            break;
        if (n == KH_GLOBAL_MAX) {
            r = nm_diag_set(d, NM_ERR_CONFIG, "global known_hosts: more than %d files",
                            KH_GLOBAL_MAX);
            goto out;
        }
        const char *path = p;
        p += strcspn(p, " \t");
        if (*p)
            *p++ = '\0';
        /* ssh skips a system file it may not read; so do we (its hosts stay
         * unknown, never trusted). */
        if (access(path, R_OK) < 0 && errno == EACCES)
            continue;
        paths[n++] = path;
    }
    r = nm_known_hosts_load_files(paths, n, ret, d);
out:
    free(list);
    return r;
}

void nm_known_hosts_set_global(struct nm_known_hosts *kh, const struct nm_known_hosts *global)
{
    if (kh && global != kh)
        kh->global = global;
}

void nm_known_hosts_destroy(struct nm_known_hosts *kh)
{
    if (!kh)
        return;
    for (size_t i = 0; i < kh->n_entries; i++)
        entry_finish(&kh->entries[i]);
    free(kh->entries);
    for (size_t i = 0; i < kh->n_files; i++)
        free(kh->files[i]);
    free(kh->files);
    pthread_rwlock_destroy(&kh->lock);
    free(kh);
}

size_t nm_known_hosts_bad_lines(const struct nm_known_hosts *kh)
{
    if (!kh)
        return 0;
    pthread_rwlock_rdlock(kh_lock(kh));
    size_t n = kh->bad_lines;
    pthread_rwlock_unlock(kh_lock(kh));
    return n;
}

/* ---- verification ---- */

struct kh_acc {
    const char *name; /* the lookup name */
    const unsigned char *blob;
    size_t bloblen;
    const char *type;
    struct kh_hmac h;
    bool revoked, matched;
    struct nm_hostkey_where revoked_at, other_at, same_type_at, ca_at;
};

static void where_set(struct nm_hostkey_where *w, const struct nm_known_hosts *kh,
                      const struct kh_entry *e)
{
    w->file = kh->files[e->file];
    w->line = e->line;
}

/* One set's entries (its own lock held for reading) into the running verdict. */
static void check_set(const struct nm_known_hosts *kh, struct kh_acc *a)
{
    pthread_rwlock_rdlock(kh_lock(kh));
    for (size_t i = 0; i < kh->n_entries && !a->revoked; i++) {
        const struct kh_entry *e = &kh->entries[i];
        if (e->marker == KH_MARK_CA) {
            /* Never a match for a plain key; only remembered to explain an
             * unknown host. */
            if (!a->ca_at.line && entry_matches(&a->h, e, a->name))
                where_set(&a->ca_at, kh, e);
            continue;
        }
        bool equal = e->bloblen == a->bloblen && memcmp(e->blob, a->blob, a->bloblen) == 0;
        /* A revoked line holding another key can change nothing. */
        if (e->marker == KH_MARK_REVOKED && !equal)
            continue;
        if (!entry_matches(&a->h, e, a->name))
            continue;
        if (e->marker == KH_MARK_REVOKED) {
            a->revoked = true;
            where_set(&a->revoked_at, kh, e);
        } else if (equal) {
            a->matched = true;
        } else {
            if (!a->other_at.line)
                where_set(&a->other_at, kh, e);
            if (!a->same_type_at.line && strcmp(e->type, a->type) == 0)
                where_set(&a->same_type_at, kh, e);
        }
    }
    pthread_rwlock_unlock(kh_lock(kh));
}

void nm_known_hosts_verify(const struct nm_known_hosts *kh, const char *host, int port,
                           const unsigned char *blob, size_t bloblen, struct nm_hostkey_check *ret)
{
    char name[KH_HOST_MAX + 16];
    char type[KH_TYPE_MAX] = "";

    if (!ret)
        return;
    memset(ret, 0, sizeof *ret);
    ret->verdict = NM_HOSTKEY_UNKNOWN;
    if (!kh || !host || !blob || !lookup_name(host, port, name, sizeof name))
        return;
    /* A blob without a readable type still compares; it just has no type. */
    (void)nm_hostkey_type_name(blob, bloblen, type, sizeof type);

    /* As ssh loads the user files and then the system ones into one list: a
     * key listed in either verifies, a revocation in either rejects. */
    struct kh_acc a = {.name = name, .blob = blob, .bloblen = bloblen, .type = type};
    check_set(kh, &a);
    if (kh->global && !a.revoked)
        check_set(kh->global, &a);
    kh_hmac_finish(&a.h);

    ret->ca = a.ca_at;
    if (a.revoked) {
        ret->verdict = NM_HOSTKEY_REVOKED;
        ret->at = a.revoked_at;
    } else if (a.matched) {
        ret->verdict = NM_HOSTKEY_MATCH;
    } else if (a.other_at.line) {
        /* Point at the line the user most likely has to fix: the old key of
         * the same type if there is one. */
        ret->verdict = NM_HOSTKEY_MISMATCH;
        ret->at = a.same_type_at.line ? a.same_type_at : a.other_at;
    }
}

enum nm_hostkey_verdict nm_known_hosts_check(const struct nm_known_hosts *kh, const char *host,
                                             int port, const unsigned char *blob, size_t bloblen,
                                             size_t *ret_line)
{
    struct nm_hostkey_check c;
    nm_known_hosts_verify(kh, host, port, blob, bloblen, &c);
    if (c.verdict == NM_HOSTKEY_MISMATCH && ret_line)
        *ret_line = c.at.line;
    return c.verdict;
}

enum {
    ALG_ED25519 = 1 << 0,
    ALG_P256 = 1 << 1,
    ALG_P384 = 1 << 2,
    ALG_P521 = 1 << 3,
    ALG_RSA = 1 << 4,
    ALG_DSS = 1 << 5,
};

static const struct {
    const char *type;
    unsigned bit;
    const char *algs;
} alg_table[] = {
    {"ssh-ed25519", ALG_ED25519, "ssh-ed25519"},
    {"ecdsa-sha2-nistp256", ALG_P256, "ecdsa-sha2-nistp256"},
    {"ecdsa-sha2-nistp384", ALG_P384, "ecdsa-sha2-nistp384"},
    {"ecdsa-sha2-nistp521", ALG_P521, "ecdsa-sha2-nistp521"},
    /* The SHA-2 signatures first: servers that still allow ssh-rsa (SHA-1)
     * signatures accept them too (RFC 8332). */
    {"ssh-rsa", ALG_RSA, "rsa-sha2-512,rsa-sha2-256,ssh-rsa"},
    {"ssh-dss", ALG_DSS, "ssh-dss"},
};

static int algorithms_of(const struct nm_known_hosts *kh, const char *name, struct kh_hmac *h,
                         unsigned *seen, struct nm_buf *out)
{
    int r = 0;
    pthread_rwlock_rdlock(kh_lock(kh));
    for (size_t i = 0; i < kh->n_entries && r == 0; i++) {
        const struct kh_entry *e = &kh->entries[i];
        if (e->marker != KH_MARK_NONE)
            continue;
        size_t t = 0;
        while (t < sizeof alg_table / sizeof alg_table[0] &&
               strcmp(alg_table[t].type, e->type) != 0)
            t++;
        /* Unknown types, security keys and certificates are skipped. */
        if (t == sizeof alg_table / sizeof alg_table[0] || (*seen & alg_table[t].bit))
            continue;
        if (!entry_matches(h, e, name))
            continue;
        *seen |= alg_table[t].bit;
        if (out->len > 0)
            r = nm_buf_append(out, ",", 1);
        if (r == 0)
            r = nm_buf_appends(out, alg_table[t].algs);
    }
    pthread_rwlock_unlock(kh_lock(kh));
    return r;
}

int nm_known_hosts_algorithms(const struct nm_known_hosts *kh, const char *host, int port,
                              char *buf, size_t buflen)
{
    char name[KH_HOST_MAX + 16];
    if (!buf)
        return NM_ERR_INVAL;
    if (buflen == 0)
        return NM_ERR_TOOBIG;

    struct nm_buf out;
    nm_buf_init(&out, buflen - 1);
    int r = 0;
    if (kh && host && lookup_name(host, port, name, sizeof name)) {
        struct kh_hmac h = {0};
        unsigned seen = 0;
        const struct nm_known_hosts *sets[] = {kh, kh->global};
        for (size_t si = 0; si < 2 && sets[si] && r == 0; si++)
            r = algorithms_of(sets[si], name, &h, &seen, &out);
        kh_hmac_finish(&h);
    }
    if (r == 0)
        memcpy(buf, out.data ? out.data : "", out.len + 1);
    nm_buf_finish(&out);
    return r < 0 ? NM_ERR_TOOBIG : 0;
}

/* ---- appending ---- */

/* A name we would write must read back as exactly that one name. */
static bool host_is_plain(const char *host)
{
    size_t n = strlen(host);
    if (n == 0 || n >= KH_HOST_MAX || host[0] == '|' || host[0] == '@' || host[0] == '#')
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)host[i];
        if (c <= ' ' || c >= 0x7f || strchr(",*?![]", c))
            return false;
    }
    return true;
}

static int ensure_parent_dir(const char *path, nm_diag *d)
{
    const char *slash = strrchr(path, '/');
    if (!slash || slash == path)
        return 0;
    char *dir = nm_xstrndup(path, (size_t)(slash - path));
    struct stat st;
    int r = 0;
    /* 0700 as ssh makes ~/.ssh; existing directories are left alone. */
    if (stat(dir, &st) < 0 && errno == ENOENT)
        r = nm_mkdir_p(dir, 0700, d);
    free(dir);
    return r;
}

/* Whether the file (opened for reading too) ends in a newline or is empty. */
static bool ends_in_newline(int fd)
{
    struct stat st;
    char c;
    if (fstat(fd, &st) < 0 || st.st_size == 0)
        return true;
    if (pread(fd, &c, 1, st.st_size - 1) != 1)
        return true; /* unreadable: do not invent a blank line */
    return c == '\n';
}


int nm_known_hosts_append(struct nm_known_hosts *kh, const char *path, const char *host, int port,
                          const unsigned char *blob, size_t bloblen, nm_diag *d)
{
    char type[KH_TYPE_MAX];
    char name[KH_HOST_MAX + 16];

    if (!path || !host || !blob)
        return nm_diag_set(d, NM_ERR_INVAL, "known_hosts: missing argument");
    if (!host_is_plain(host))
        return nm_diag_set(d, NM_ERR_INVAL, "%s: cannot record host name \"%.64s\"", path, host);
    if (port < 0 || port > 65535 || !lookup_name(host, port, name, sizeof name))
        return nm_diag_set(d, NM_ERR_INVAL, "%s: bad port %d for %s", path, port, host);
    if (nm_hostkey_type_name(blob, bloblen, type, sizeof type) < 0)
        return nm_diag_set(d, NM_ERR_INVAL, "%s: host key for %s is malformed", path, name);
    /* A certificate line would trust that one certificate, not its CA, and
     * nothing here checks what it says: only plain keys are recorded. */
    if (strstr(type, "-cert-v01@openssh.com"))
        return nm_diag_set(d, NM_ERR_INVAL, "%s: host key for %s is a certificate (%s)", path, name,
                           type);
    char *b64 = b64_encode(blob, bloblen);
    if (!b64)
        return nm_diag_set(d, NM_ERR_TOOBIG, "%s: host key for %s is too large", path, name);
    /* Room for a leading newline in front, so the line goes out in one write. */
    char *line = nm_xasprintf("\n%s %s %s\n", name, type, b64);
    free(b64);
    size_t linelen = strlen(line);
    int r = 0, fd = -1;

    if (kh)
        pthread_rwlock_wrlock(&kh->lock);
    r = ensure_parent_dir(path, d);
    if (r < 0)
        goto out;
    fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0 && errno == EACCES) /* write-only file: skip the newline check */
        fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        r = nm_diag_set(d, NM_ERR_IO, "%s: %s", path, strerror(errno));
        goto out;
    }
    bool nl = ends_in_newline(fd);
    /* One write(2): with O_APPEND the kernel places it at the end whole;
     * nm_write_all's loop only finishes a short write (a full disk), which
     * no retry makes atomic again. */
    if (nm_write_all(fd, nl ? line + 1 : line, nl ? linelen - 1 : linelen) < 0) {
        r = nm_diag_set(d, NM_ERR_IO, "%s: write: %s", path, strerror(errno));
        goto out;
    }
    int fd_ = fd;
    fd = -1;
    if (close(fd_) < 0) {
        r = nm_diag_set(d, NM_ERR_IO, "%s: close: %s", path, strerror(errno));
        goto out;
    }
    if (kh) {
        struct kh_entry e;
        /* Cannot fail: name, type and key were all made just above. */
        if (parse_line(line + 1, line + linelen - 1, &e) == LINE_ENTRY) {
            /* The number it has if the file was only appended to since load. */
            e.line = ++kh->lines;
            e.file = 0;
            if (kh->n_files == 0) { /* a set of no files: this one becomes its first */
                kh->files = nm_xreallocarray(kh->files, 1, sizeof *kh->files);
                kh->files[kh->n_files++] = nm_xstrdup(path);
            }
            add_entry(kh, &e);
        }
    }
out:
    if (fd >= 0)
        close(fd);
    if (kh)
        pthread_rwlock_unlock(&kh->lock);
    free(line);
    return r;
}
