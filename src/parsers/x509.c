/*
 * x509_files: certificate files fetched from a host by the x509-files probe
 * of the cert-* checks (checks/, the probe's one text), one item per
 * distinct certificate (see docs/certificates.md).
 *
 * The probe frames every file with its length, so content may be binary:
 *
 *     --- nm-file <size> <realpath> <path> [mode=<ls perms>] [uid=<n>] ---\n
 *     <exactly size bytes>\n
 *     --- nm-file-error <path> <reason> [<size>] ---\n
 *
 * Paths are percent-encoded (at least '%', space and tab), so header fields
 * are separated by single spaces.  The parser never trusts a size: a size
 * past the end of the input is reported and the parser looks for the next
 * header after the header line, so nothing is read out of bounds and a lying
 * frame cannot hide the ones after it.
 *
 * Each file is read as PEM (every CERTIFICATE block, and PKCS7 blocks; other
 * blocks are skipped, a PRIVATE KEY block only sets has_private_key), else as
 * DER (a certificate, else a PKCS#7 bag).  Certificates are merged by SHA-256
 * across files, so the same intermediate in twenty fullchain.pem files is one
 * item with twenty paths, and files with the same realpath are parsed once.
 *
 * Work is bounded by the input size (each byte is scanned a constant number
 * of times: an unterminated PEM block ends the scan of its file) and by
 * X509_MAX_CERTS decoded certificates per input.
 */
#include <arpa/inet.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pkcs7.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "parsers/cursor.h"
#include "nearmiss/certdesc.h"
#include "nearmiss/digest.h"
#include "nearmiss/utf8.h"
#include "nearmiss/util.h"
#include "parsers/builtin.h"

#define X509_MAX_CERTS     10000       /* certificate blocks decoded per input */
#define X509_MAX_FRAMES    10000       /* file frames per input (the probe sends <= 500) */
#define X509_MAX_FILE      (16u << 20) /* the probe sends <= 1 MiB; other feeders get slack */
#define X509_MAX_PATHS     64          /* paths listed per certificate */
#define X509_MAX_PATH      4096        /* bytes of a decoded path */
#define X509_MAX_HEADER    (64u << 10) /* a header line longer than this is not one */
#define X509_MAX_LABEL     80          /* PEM label ("CERTIFICATE", "EC PRIVATE KEY") */
#define X509_PROBE_SUBJECT "x509_files probe output"

/* ------------------------------------------------------------------ */
/* The "now" option: absent or null = the real clock; a string in the
 * time form, or an integer of unix seconds. */

static int now_option(const json_t *options, int64_t *ret, nm_diag *d)
{
    const json_t *v = options ? json_object_get(options, "now") : NULL;
    int64_t now;
    if (!v || json_is_null(v)) {
        now = (int64_t)time(NULL);
    } else if (json_is_integer(v)) {
        now = json_integer_value(v);
    } else if (json_is_string(v)) {
        if (nm_utc_parsen(json_string_value(v), json_string_length(v), &now) < 0)
            return nm_diag_set(d, NM_ERR_INVAL, "option now: \"%s\" is not YYYY-MM-DDTHH:MM:SSZ",
                               json_string_value(v));
    } else {
        return nm_diag_set(d, NM_ERR_INVAL, "option now: expected a string or an integer");
    }
    *ret = now;
    return 0;
}

/* ------------------------------------------------------------------ */
/* Growth by doubling: arrays here reach 10 000 entries, and growing them one
 * element at a time is quadratic wherever realloc moves the block. */
static void *grow(void *p, size_t n, size_t *cap, size_t size)
{
    if (n < *cap)
        return p;
    *cap = *cap ? *cap * 2 : 8;
    return nm_xreallocarray(p, *cap, size);
}

/* ------------------------------------------------------------------ */
/* A small open-addressing table: byte-string key -> index */

struct htab_ent {
    uint64_t hash;
    char *key; /* owned copy; NULL = empty slot */
    size_t klen;
    size_t val;
};

struct htab {
    struct htab_ent *e;
    size_t cap; /* power of two */
    size_t n;
};

static uint64_t fnv1a(const void *key, size_t len)
{
    const unsigned char *p = key;
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < len; i++)
        h = (h ^ p[i]) * 1099511628211ull;
    return h;
}

static void htab_finish(struct htab *t)
{
    for (size_t i = 0; i < t->cap; i++)
        free(t->e[i].key);
    free(t->e);
    t->e = NULL;
    t->cap = t->n = 0;
}

static struct htab_ent *htab_slot(struct htab *t, uint64_t h, const void *key, size_t len)
{
    for (size_t i = h & (t->cap - 1);; i = (i + 1) & (t->cap - 1)) {
        struct htab_ent *e = &t->e[i];
        if (!e->key || (e->hash == h && e->klen == len && memcmp(e->key, key, len) == 0))
            return e;
    }
}

static bool htab_get(struct htab *t, const void *key, size_t len, size_t *ret)
{
    if (t->cap == 0)
        return false;
    struct htab_ent *e = htab_slot(t, fnv1a(key, len), key, len);
    if (!e->key)
        return false;
    *ret = e->val;
    return true;
}

static void htab_put(struct htab *t, const void *key, size_t len, size_t val)
{
    if ((t->n + 1) * 2 > t->cap) {
        struct htab old = *t;
        t->cap = old.cap ? old.cap * 2 : 64;
        t->e = nm_xcalloc(t->cap, sizeof *t->e);
        t->n = 0;
        for (size_t i = 0; i < old.cap; i++) {
            if (old.e[i].key) {
                *htab_slot(t, old.e[i].hash, old.e[i].key, old.e[i].klen) = old.e[i];
                t->n++;
            }
        }
        free(old.e);
    }
    uint64_t h = fnv1a(key, len);
    struct htab_ent *e = htab_slot(t, h, key, len);
    if (!e->key) {
        e->hash = h;
        e->key = nm_xmalloc(len ? len : 1);
        memcpy(e->key, key, len);
        e->klen = len;
        t->n++;
    }
    e->val = val;
}

/* ------------------------------------------------------------------ */
/* Parse state */

struct file_meta {
    const char *path;     /* sanitized, as found */
    const char *realpath; /* sanitized */
    char mode[16];        /* "-rw-r--r--" or "" when the probe did not say */
    int64_t uid;          /* -1 when unknown */
};

/* Items a file produced, so a second frame for the same realpath only adds
 * its path to them. */
struct file_rec {
    struct file_ent {
        size_t item;
        size_t position; /* SIZE_MAX: not a certificate (an error item) */
    } * e;
    size_t n, cap;
    bool has_key;
};

struct xstate {
    int64_t now;
    json_t *items;
    struct htab by_sha;      /* sha256 -> index in items */
    struct htab decoded;     /* sha256 of every certificate decoded so far */
    struct htab by_realpath; /* realpath -> index in files */
    struct file_rec *files;
    size_t nfiles, files_cap;
    size_t ncerts; /* certificate blocks decoded (the cap) */
    size_t nframes;
    bool capped;
};

static bool key_world_readable(const struct file_meta *m, bool has_key)
{
    /* "-rw-r--r--": others' read bit is the 8th character. */
    return has_key && strlen(m->mode) >= 10 && m->mode[7] == 'r';
}

static void add_meta(json_t *o, const struct file_meta *m)
{
    if (m->mode[0])
        json_object_set_new(o, "mode", json_string(m->mode));
    if (m->uid >= 0)
        json_object_set_new(o, "uid", json_integer(m->uid));
}

static void item_add_path(json_t *item, const char *path)
{
    json_t *paths = json_object_get(item, "paths");
    size_t i;
    json_t *v;
    json_array_foreach (paths, i, v) {
        if (strcmp(json_string_value(v), path) == 0)
            return;
    }
    if (json_array_size(paths) >= X509_MAX_PATHS)
        json_object_set_new(item, "paths_truncated", json_true());
    else
        json_array_append_new(paths, json_string(path));
}

static void file_rec_add(struct xstate *s, size_t file, size_t item, size_t position)
{
    if (file == SIZE_MAX)
        return;
    struct file_rec *f = &s->files[file];
    f->e = grow(f->e, f->n, &f->cap, sizeof *f->e);
    f->e[f->n].item = item;
    f->e[f->n].position = position;
    f->n++;
}

static size_t push_item(struct xstate *s, size_t file, json_t *item, size_t position)
{
    size_t idx = json_array_size(s->items);
    json_array_append_new(s->items, item);
    file_rec_add(s, file, idx, position);
    return idx;
}

/* An item for something that is not a certificate: unreadable file, file
 * without certificates, undecodable block, broken frame. */
static void error_item(struct xstate *s, size_t file, const char *subject, const char *path,
                       const char *error, const char *evidence, size_t evlen,
                       const struct file_meta *m, bool has_key)
{
    json_t *o = json_object();
    json_object_set_new(o, "subject", json_string(subject));
    json_t *paths = json_array();
    if (path)
        json_array_append_new(paths, json_string(path));
    json_object_set_new(o, "paths", paths);
    json_object_set_new(o, "error", json_string(error));
    json_object_set_new(o, "has_private_key", json_boolean(has_key));
    if (m) {
        json_object_set_new(o, "key_world_readable", json_boolean(key_world_readable(m, has_key)));
        add_meta(o, m);
    }
    json_object_set_new(o, "evidence", nm_span_evidence((struct nm_span){evidence, evlen}));
    push_item(s, file, o, SIZE_MAX);
}

static char *occurrence_subject(const char *path, size_t position)
{
    return position == 0 ? nm_xstrdup(path) : nm_xasprintf("%s#%zu", path, position);
}

/*
 * A certificate seen before (a copy, a symlink, the same intermediate in
 * another chain) is one item with every path.  Its subject is the smallest of
 * the candidate subjects, so it does not depend on the order of files.
 */
static void merge_occurrence(struct xstate *s, size_t idx, size_t position,
                             const struct file_meta *m, bool has_key)
{
    json_t *item = json_array_get(s->items, idx);
    char *subject = occurrence_subject(m->path, position);
    const char *cur = json_string_value(json_object_get(item, "subject"));
    if (strcmp(subject, cur) < 0) {
        json_object_set_new(item, "subject", json_string(subject));
        json_object_set_new(item, "position", json_integer((json_int_t)position));
        json_object_del(item, "mode");
        json_object_del(item, "uid");
        add_meta(item, m);
    }
    item_add_path(item, m->path);
    if (has_key)
        json_object_set_new(item, "has_private_key", json_true());
    if (key_world_readable(m, has_key))
        json_object_set_new(item, "key_world_readable", json_true());
    free(subject);
}

/*
 * One occurrence of a certificate.  md is the SHA-256 of its DER bytes; x is
 * NULL when the same bytes were decoded before (the table then has it).
 */
static void add_cert(struct xstate *s, size_t file, X509 *x, const unsigned char *md,
                     size_t position, const struct file_meta *m, bool has_key)
{
    char *subject;
    size_t idx;

    if (htab_get(&s->by_sha, md, NM_CERT_SHA256_LEN, &idx)) {
        merge_occurrence(s, idx, position, m, has_key);
        file_rec_add(s, file, idx, position);
        return;
    }
    if (!x)
        return; /* cannot happen: a NULL x always has a table entry */
    subject = occurrence_subject(m->path, position);
    json_t *o = nm_cert_describe(x, s->now);
    json_object_set_new(o, "subject", json_string(subject));
    json_t *paths = json_array();
    json_array_append_new(paths, json_string(m->path));
    json_object_set_new(o, "paths", paths);
    json_object_set_new(o, "position", json_integer((json_int_t)position));
    json_object_set_new(o, "has_private_key", json_boolean(has_key));
    json_object_set_new(o, "key_world_readable", json_boolean(key_world_readable(m, has_key)));
    add_meta(o, m);
    htab_put(&s->by_sha, md, NM_CERT_SHA256_LEN, push_item(s, file, o, position));
    free(subject);
}

/* ------------------------------------------------------------------ */
/* File content: PEM blocks, DER, PKCS#7 */

/* RFC 7468 lax base64: whitespace anywhere, '=' padding only at the end. */
static int b64_decode(const char *p, size_t len, unsigned char **ret, size_t *ret_len)
{
    unsigned char *out = nm_xmalloc(len / 4 * 3 + 3);
    size_t n = 0;
    uint32_t acc = 0;
    int bits = 0;
    bool pad = false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)p[i];
        int v;
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f')
            continue;
        if (c == '=') {
            pad = true;
            continue;
        }
        if (pad)
            goto bad;
        if (c >= 'A' && c <= 'Z')
            v = c - 'A';
        else if (c >= 'a' && c <= 'z')
            v = c - 'a' + 26;
        else if (c >= '0' && c <= '9')
            v = c - '0' + 52;
        else if (c == '+')
            v = 62;
        else if (c == '/')
            v = 63;
        else
            goto bad;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[n++] = (unsigned char)(acc >> bits);
        }
    }
    *ret = out;
    *ret_len = n;
    return 0;
bad:
    free(out);
    return NM_ERR_PARSE;
}

enum blk_kind { BLK_OTHER, BLK_CERT, BLK_TRUSTED, BLK_PKCS7, BLK_KEY };

static enum blk_kind classify_label(const char *l, size_t n)
{
#define LABEL_IS(s) (n == sizeof(s) - 1 && memcmp(l, s, n) == 0)
    if (LABEL_IS("CERTIFICATE") || LABEL_IS("X509 CERTIFICATE") || LABEL_IS("X.509 CERTIFICATE"))
        return BLK_CERT;
    if (LABEL_IS("TRUSTED CERTIFICATE"))
        return BLK_TRUSTED;
    if (LABEL_IS("PKCS7") || LABEL_IS("PKCS #7 SIGNED DATA") || LABEL_IS("CMS"))
        return BLK_PKCS7;
#undef LABEL_IS
    /* "PRIVATE KEY", "EC PRIVATE KEY", "ENCRYPTED PRIVATE KEY", "OPENSSH
     * PRIVATE KEY", "PGP PRIVATE KEY BLOCK"... */
    if (memmem(l, n, "PRIVATE KEY", 11))
        return BLK_KEY;
    return BLK_OTHER;
}

/* What one file holds: its certificates in order, and what went wrong. */
struct found {
    struct found_cert {
        X509 *x; /* NULL: these bytes were decoded before */
        unsigned char md[NM_CERT_SHA256_LEN];
        size_t pos; /* position among the file's certificate blocks */
    } * certs;
    size_t n, certs_cap;
    size_t positions; /* certificate positions used (good and bad) */
    bool has_key;
    bool any_pem;
    char labels[128]; /* PEM labels seen, for the evidence of an empty result */
    /* problems, reported as error items after the certificates */
    struct problem {
        size_t position; /* SIZE_MAX: about the file, not a block */
        char msg[96];
        char ev[96];
    } * problems;
    size_t nproblems, problems_cap;
};

static void found_problem(struct found *f, size_t position, const char *msg, const char *ev,
                          size_t evlen)
{
    struct problem *p;
    f->problems = grow(f->problems, f->nproblems, &f->problems_cap, sizeof *f->problems);
    p = &f->problems[f->nproblems++];
    p->position = position;
    snprintf(p->msg, sizeof p->msg, "%s", msg);
    if (!ev || evlen >= sizeof p->ev)
        evlen = ev ? sizeof p->ev - 1 : 0;
    if (evlen)
        memcpy(p->ev, ev, evlen);
    p->ev[evlen] = '\0';
}

static void found_finish(struct found *f)
{
    for (size_t i = 0; i < f->n; i++)
        X509_free(f->certs[i].x);
    free(f->certs);
    free(f->problems);
}

/* False once the per-input cap is reached: stop decoding. */
static bool take_position(struct xstate *s, struct found *f)
{
    if (s->ncerts >= X509_MAX_CERTS) {
        s->capped = true;
        return false;
    }
    s->ncerts++;
    f->positions++;
    return true;
}

/* Call right after a successful take_position(); takes x (may be NULL). */
static void found_cert(struct found *f, X509 *x, const unsigned char *md)
{
    f->certs = grow(f->certs, f->n, &f->certs_cap, sizeof *f->certs);
    f->certs[f->n].x = x;
    memcpy(f->certs[f->n].md, md, NM_CERT_SHA256_LEN);
    f->certs[f->n].pos = f->positions - 1;
    f->n++;
}

/* Length of the outer DER SEQUENCE at p (a certificate), or 0. */
static size_t der_extent(const unsigned char *p, size_t len)
{
    if (len < 2 || p[0] != 0x30)
        return 0;
    size_t l = p[1], hdr = 2;
    if (l & 0x80) {
        size_t n = l & 0x7f;
        if (n == 0 || n > 4 || len < 2 + n)
            return 0;
        l = 0;
        for (size_t i = 0; i < n; i++)
            l = (l << 8) | p[2 + i];
        hdr = 2 + n;
    }
    return l <= len - hdr ? hdr + l : 0;
}

/*
 * Decoding a certificate is the expensive step (OpenSSL 3.0 builds a
 * decoder context for every public key), so the bytes are hashed first and a
 * certificate seen before is not decoded again: the same intermediate in
 * every chain file, or one certificate repeated, costs a hash.  For DER the
 * hash is the certificate's SHA-256 fingerprint.
 */
static void take_der_cert(struct xstate *s, struct found *f, const unsigned char *der,
                          size_t derlen, bool trusted, const char *begin, size_t beginlen)
{
    unsigned char md[NM_CERT_SHA256_LEN];
    size_t ext = der_extent(der, derlen), idx;
    size_t position = f->positions - 1;
    bool hashed = ext > 0;
    if (hashed)
        nm_sha256(der, ext, md);
    if (hashed && htab_get(&s->decoded, md, sizeof md, &idx)) {
        found_cert(f, NULL, md);
        return;
    }
    const unsigned char *q = der;
    X509 *x = derlen > LONG_MAX ? NULL
              : trusted         ? d2i_X509_AUX(NULL, &q, (long)derlen)
                                : d2i_X509(NULL, &q, (long)derlen);
    if (x && (hashed || nm_cert_sha256(x, md) == 0)) {
        htab_put(&s->decoded, md, sizeof md, 0);
        found_cert(f, x, md);
        return;
    }
    X509_free(x);
    found_problem(f, position, "certificate block cannot be decoded", begin, beginlen);
}

static void take_pkcs7(struct xstate *s, struct found *f, PKCS7 *p7)
{
    STACK_OF(X509) *certs = NULL;
    if (p7 && PKCS7_type_is_signed(p7) && p7->d.sign)
        certs = p7->d.sign->cert;
    for (int i = 0; certs && i < sk_X509_num(certs); i++) {
        if (!take_position(s, f))
            break;
        X509 *x = sk_X509_value(certs, i);
        unsigned char md[NM_CERT_SHA256_LEN];
        if (nm_cert_sha256(x, md) < 0)
            continue;
        X509_up_ref(x);
        found_cert(f, x, md);
    }
}

static void decode_block(struct xstate *s, struct found *f, enum blk_kind kind, const char *body,
                         size_t len, const char *begin, size_t beginlen)
{
    unsigned char *der = NULL;
    size_t derlen = 0;
    if (kind == BLK_KEY) {
        /* The probe strips key bodies before they leave the host; only the
         * presence of a key matters here. */
        f->has_key = true;
        return;
    }
    if (kind == BLK_OTHER)
        return;
    if (kind == BLK_PKCS7) {
        if (b64_decode(body, len, &der, &derlen) == 0) {
            const unsigned char *q = der;
            PKCS7 *p7 = d2i_PKCS7(NULL, &q, (long)derlen);
            size_t before = f->n;
            take_pkcs7(s, f, p7);
            if (!p7 || (f->n == before && !s->capped))
                found_problem(f, SIZE_MAX, "PKCS#7 block without certificates", begin, beginlen);
            PKCS7_free(p7);
        } else {
            found_problem(f, SIZE_MAX, "PKCS#7 block is not valid base64", begin, beginlen);
        }
        free(der);
        return;
    }
    if (!take_position(s, f))
        return;
    size_t position = f->positions - 1;
    if (b64_decode(body, len, &der, &derlen) < 0) {
        found_problem(f, position, "certificate block is not valid base64", begin, beginlen);
        return;
    }
    take_der_cert(s, f, der, derlen, kind == BLK_TRUSTED, begin, beginlen);
    free(der);
}

static void note_label(struct found *f, const char *label, size_t llen)
{
    size_t have = strlen(f->labels);
    char one[X509_MAX_LABEL + 1];
    memcpy(one, label, llen);
    one[llen] = '\0';
    for (char *c = one; *c; c++)
        if (*c < 0x20 || *c > 0x7e)
            *c = '?';
    /* Short list, no repeats; the rest is not worth the bytes. */
    for (const char *p = f->labels; (p = strstr(p, one)); p += llen)
        if ((p == f->labels || p[-2] == ',') && (p[llen] == '\0' || p[llen] == ','))
            return;
    if (have + llen + 3 >= sizeof f->labels)
        return;
    snprintf(f->labels + have, sizeof f->labels - have, "%s%s", have ? ", " : "", one);
}

static void scan_pem(struct xstate *s, struct found *f, const char *data, size_t len)
{
    static const char BEGIN[] = "-----BEGIN ", END[] = "-----END ", DASH[] = "-----";
    const char *p = data, *end = data + len;
    const char *b;
    while (!s->capped && (b = nm_span_find(nm_span_range(p, end), BEGIN))) {
        f->any_pem = true;
        const char *label = b + sizeof BEGIN - 1;
        const char *lend = nm_span_find(nm_span_range(label, end), DASH);
        /* Only between the label and its dashes: a search to the end of the
         * data for every BEGIN would make newline-free input quadratic. */
        if (!lend || lend - label > X509_MAX_LABEL || memchr(label, '\n', (size_t)(lend - label))) {
            p = label; /* not a BEGIN line after all */
            continue;
        }
        size_t llen = (size_t)(lend - label);
        const char *body = lend + sizeof DASH - 1;
        size_t beginlen = (size_t)(body - b);
        /* The END line: "-----END " + the same label + "-----".  When no
         * "-----END " follows at all, no later block can be complete either,
         * so the scan of this file stops: that is what keeps it linear. */
        const char *e = nm_span_find(nm_span_range(body, end), END);
        if (!e) {
            enum blk_kind k = classify_label(label, llen);
            if (k == BLK_KEY)
                f->has_key = true;
            if (k == BLK_CERT || k == BLK_TRUSTED || k == BLK_PKCS7) {
                size_t pos = take_position(s, f) ? f->positions - 1 : SIZE_MAX;
                if (!s->capped)
                    found_problem(f, pos, "truncated PEM block (no END line)", b, beginlen);
            }
            return;
        }
        const char *elabel = e + sizeof END - 1;
        if ((size_t)(end - elabel) < llen + sizeof DASH - 1 || memcmp(elabel, label, llen) != 0 ||
            memcmp(elabel + llen, DASH, sizeof DASH - 1) != 0) {
            enum blk_kind k = classify_label(label, llen);
            if (k == BLK_CERT || k == BLK_TRUSTED) {
                if (take_position(s, f))
                    found_problem(f, f->positions - 1, "PEM block ends with another label", b,
                                  beginlen);
            }
            p = elabel;
            continue;
        }
        note_label(f, label, llen);
        decode_block(s, f, classify_label(label, llen), body, (size_t)(e - body), b, beginlen);
        p = elabel + llen + sizeof DASH - 1;
    }
}

static void scan_der(struct xstate *s, struct found *f, const char *data, size_t len)
{
    const unsigned char *q = (const unsigned char *)data;
    if (len < 2 || q[0] != 0x30 || len > LONG_MAX)
        return;
    X509 *x = d2i_X509(NULL, &q, (long)len);
    if (x) {
        unsigned char md[NM_CERT_SHA256_LEN];
        if (nm_cert_sha256(x, md) == 0 && take_position(s, f))
            found_cert(f, x, md);
        else
            X509_free(x);
        return;
    }
    q = (const unsigned char *)data;
    PKCS7 *p7 = d2i_PKCS7(NULL, &q, (long)len);
    take_pkcs7(s, f, p7);
    PKCS7_free(p7);
}

static void parse_file(struct xstate *s, size_t file, const char *data, size_t len,
                       const struct file_meta *m)
{
    struct found f = {0};
    ERR_set_mark();
    scan_pem(s, &f, data, len);
    if (!f.any_pem && !s->capped)
        scan_der(s, &f, data, len);
    ERR_pop_to_mark();

    s->files[file].has_key = f.has_key;
    for (size_t i = 0; i < f.n; i++)
        add_cert(s, file, f.certs[i].x, f.certs[i].md, f.certs[i].pos, m, f.has_key);
    /* Good and bad blocks share one position counter, so "path#2" is the
     * third certificate whatever happened to the second. */
    for (size_t i = 0; i < f.nproblems; i++) {
        struct problem *p = &f.problems[i];
        char *subject = p->position == SIZE_MAX || p->position == 0
                            ? nm_xstrdup(m->path)
                            : nm_xasprintf("%s#%zu", m->path, p->position);
        error_item(s, file, subject, m->path, p->msg, p->ev, strlen(p->ev), m, f.has_key);
        free(subject);
    }
    if (f.n == 0 && f.nproblems == 0 && !s->capped) {
        /* Say what the file is without quoting it: it may hold a key. */
        char ev[200];
        if (f.labels[0])
            snprintf(ev, sizeof ev, "%zu bytes; PEM blocks: %s", len, f.labels);
        else
            snprintf(ev, sizeof ev, "%zu bytes; %s", len,
                     len == 0 ? "empty" : "neither PEM nor a DER certificate");
        error_item(s, file, m->path, m->path, "no certificate found", ev, strlen(ev), m, f.has_key);
    }
    found_finish(&f);
}

/* ------------------------------------------------------------------ */
/* Frames */

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Percent-decodes a header field into a sanitized JSON string (new ref). */
static json_t *decode_field(struct nm_span f)
{
    char *out = nm_xmalloc(f.n + 1);
    size_t n = 0;
    for (size_t i = 0; i < f.n; i++) {
        int hi, lo;
        if (f.p[i] == '%' && i + 2 < f.n && (hi = hexval(f.p[i + 1])) >= 0 &&
            (lo = hexval(f.p[i + 2])) >= 0) {
            out[n++] = (char)(hi * 16 + lo);
            i += 2;
        } else {
            out[n++] = f.p[i];
        }
    }
    json_t *j = nm_json_string_sanitized(out, n, X509_MAX_PATH);
    free(out);
    return j;
}

/* Splits inner at single spaces into at most max fields, skipping empty
 * ones.  Not nm_span_split: the probe percent-encodes spaces and tabs in
 * paths, so only ' ' separates, and a raw tab is part of a field. */
static size_t split_fields(struct nm_span inner, struct nm_span *f, size_t max)
{
    size_t n = 0;
    struct nm_span field;
    while (inner.n > 0 && n < max) {
        nm_span_cut(&inner, ' ', &field);
        if (field.n > 0)
            f[n++] = field;
    }
    return n;
}

static void header_error(struct xstate *s, const char *msg, struct nm_span line)
{
    error_item(s, SIZE_MAX, X509_PROBE_SUBJECT, NULL, msg, line.p, line.n < 200 ? line.n : 200,
               NULL, false);
}

static const char *reason_text(struct nm_span r)
{
    static const struct {
        const char *code, *text;
    } reasons[] = {
        {"too-big", "too big"},
        {"unreadable", "unreadable"},
        {"not-found", "not found"},
        {"not-a-file", "not a regular file"},
        {"not-a-certificate", "no certificate found"},
        {"too-many-files", "too many certificate files"},
        {"budget", "probe output budget exhausted"},
    };
    for (size_t i = 0; i < sizeof reasons / sizeof reasons[0]; i++)
        if (nm_span_eq(r, reasons[i].code))
            return reasons[i].text;
    return NULL;
}

static void error_frame(struct xstate *s, struct nm_span line, struct nm_span inner)
{
    struct nm_span fld[4];
    size_t n = split_fields(inner, fld, 4);
    if (n < 2) {
        header_error(s, "malformed frame header", line);
        return;
    }
    json_t *path = decode_field(fld[0]);
    const char *known = reason_text(fld[1]);
    json_t *reason = known ? json_string(known) : nm_span_json(fld[1], 64);
    const char *ps = json_string_value(path);
    error_item(s, SIZE_MAX, ps, ps, json_string_value(reason), line.p, line.n, NULL, false);
    uint64_t size;
    if (n >= 3 && nm_span_to_u64(fld[2], &size) == 0)
        json_object_set_new(json_array_get(s->items, json_array_size(s->items) - 1), "size",
                            json_integer(size > INT64_MAX ? INT64_MAX : (json_int_t)size));
    json_decref(reason);
    json_decref(path);
}

/*
 * One "--- nm-file" frame whose header is line.  *pp points just after the
 * header's newline; on return it points where the next header may start.
 */
static void file_frame(struct xstate *s, struct nm_span line, struct nm_span inner, const char **pp,
                       const char *end)
{
    struct nm_span fld[8];
    size_t n = split_fields(inner, fld, 8);
    uint64_t size;
    if (n < 3 || nm_span_to_u64(fld[0], &size) < 0) {
        header_error(s, "malformed frame header", line);
        return;
    }
    json_t *rp = decode_field(fld[1]);
    json_t *path = decode_field(fld[2]);
    struct file_meta m = {
        .path = json_string_value(path), .realpath = json_string_value(rp), .uid = -1};
    for (size_t i = 3; i < n; i++) {
        uint64_t u;
        if (fld[i].n > 5 && nm_span_has_prefix(fld[i], "mode=") && fld[i].n - 5 < sizeof m.mode) {
            memcpy(m.mode, fld[i].p + 5, fld[i].n - 5);
            m.mode[fld[i].n - 5] = '\0';
            for (char *c = m.mode; *c; c++)
                if (!strchr("-rwxsStTdlcbp+.@", *c))
                    *c = '?';
        } else if (fld[i].n > 4 && nm_span_has_prefix(fld[i], "uid=") &&
                   nm_span_to_u64(nm_span_after(fld[i], 4), &u) == 0 && u <= INT32_MAX) {
            m.uid = (int64_t)u;
        }
    }
    size_t avail = (size_t)(end - *pp);
    if (size > avail) {
        /* A lying or cut-off size: report it and look for the next header
         * right after this one; nothing past the input is touched. */
        char msg[128];
        snprintf(msg, sizeof msg, "frame says %llu bytes but only %zu follow",
                 (unsigned long long)size, avail);
        error_item(s, SIZE_MAX, m.path, m.path, msg, line.p, line.n, &m, false);
        goto out;
    }
    const char *content = *pp;
    *pp += size;
    if (*pp < end && **pp == '\n')
        (*pp)++;
    if (size > X509_MAX_FILE) {
        error_item(s, SIZE_MAX, m.path, m.path, "too big", line.p, line.n, &m, false);
        json_object_set_new(json_array_get(s->items, json_array_size(s->items) - 1), "size",
                            json_integer((json_int_t)size));
        goto out;
    }
    size_t known;
    if (htab_get(&s->by_realpath, m.realpath, strlen(m.realpath), &known)) {
        /* The same file again (a symlink, or a path listed twice). */
        const struct file_rec *f = &s->files[known];
        for (size_t i = 0; i < f->n; i++) {
            if (f->e[i].position == SIZE_MAX)
                item_add_path(json_array_get(s->items, f->e[i].item), m.path);
            else
                merge_occurrence(s, f->e[i].item, f->e[i].position, &m, f->has_key);
        }
        goto out;
    }
    s->files = grow(s->files, s->nfiles, &s->files_cap, sizeof *s->files);
    s->files[s->nfiles] = (struct file_rec){0};
    htab_put(&s->by_realpath, m.realpath, strlen(m.realpath), s->nfiles);
    s->nfiles++;
    parse_file(s, s->nfiles - 1, content, (size_t)size, &m);
out:
    json_decref(path);
    json_decref(rp);
}

int nm_parse_x509_files(const char *data, size_t len, const json_t *options, json_t **ret_items,
                        nm_diag *d)
{
    static const char FILE_HDR[] = "--- nm-file ", ERR_HDR[] = "--- nm-file-error ",
                      TAIL[] = " ---";
    struct xstate s = {0};
    int r = now_option(options, &s.now, d);
    if (r < 0)
        return r;
    s.items = json_array();
    const char *p = data, *end = data + len;
    while (p < end) {
        /* Not nm_span_next_line: a header is exact bytes (a "\r" before
         * its "\n" makes it malformed) and content starts at the byte
         * after the "\n". */
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *next = nl ? nl + 1 : end;
        struct nm_span hdr = nm_span_range(p, nl ? nl : end);
        bool is_file = nm_span_has_prefix(hdr, FILE_HDR);
        bool is_err = nm_span_has_prefix(hdr, ERR_HDR);
        if (!is_file && !is_err) {
            p = next; /* stray output (motd, shell noise): not ours */
            continue;
        }
        if (s.capped)
            break;
        if (++s.nframes > X509_MAX_FRAMES) {
            header_error(&s, "too many frames; the rest of the output is not parsed", hdr);
            break;
        }
        if (hdr.n > X509_MAX_HEADER || !nm_span_has_suffix(hdr, TAIL)) {
            header_error(&s, "malformed frame header", hdr);
            p = next;
            continue;
        }
        /* empty, not negative, when the tail overlaps the head ("--- nm-file ---") */
        const char *inner_end = nm_span_end(hdr) - (sizeof TAIL - 1);
        p = next;
        if (is_err)
            error_frame(&s, hdr, nm_span_range(hdr.p + sizeof ERR_HDR - 1, inner_end));
        else
            file_frame(&s, hdr, nm_span_range(hdr.p + sizeof FILE_HDR - 1, inner_end), &p, end);
    }
    if (s.capped) {
        char msg[128];
        snprintf(msg, sizeof msg, "more than %d certificates; the rest of the output is not parsed",
                 X509_MAX_CERTS);
        error_item(&s, SIZE_MAX, X509_PROBE_SUBJECT, NULL, msg, NULL, 0, NULL, false);
    }

    for (size_t i = 0; i < s.nfiles; i++)
        free(s.files[i].e);
    free(s.files);
    htab_finish(&s.by_sha);
    htab_finish(&s.by_realpath);
    htab_finish(&s.decoded);
    *ret_items = s.items;
    return 0;
}
