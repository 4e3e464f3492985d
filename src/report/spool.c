/* Hosts kept on disk during a run (nearmiss/spool.h). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nearmiss/outdir.h"
#include "nearmiss/spool.h"
#include "nearmiss/util.h"

struct slot {
    uint64_t off;
    size_t len;  /* on disk: its bytes; 0 = not on disk */
    json_t *mem; /* or in memory (owned reference) */
    size_t cost; /* what mem counts against the budget */
};

struct nm_spool {
    int dir_fd; /* our own copy: the spool is removed even after the outdir closed */
    int wfd, rfd;
    char *tmp;
    char *dir_path;
    struct slot *slots;
    size_t n;
    uint64_t end;  /* where the next host goes */
    size_t budget; /* bytes of hosts kept in memory at most (estimated) */
    size_t used;   /* ...and kept now */
    pthread_mutex_t mu;
};

int nm_spool_create(struct nm_outdir *od, size_t n, struct nm_spool **ret, nm_diag *d)
{
    char *tmp = NULL;
    int wfd = nm_outdir_temp(od, NM_SPOOL_NAME, &tmp, d);
    if (wfd < 0)
        return wfd;
    int rfd = openat(od->dir_fd, tmp, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    int dfd = rfd < 0 ? -1 : fcntl(od->dir_fd, F_DUPFD_CLOEXEC, 0);
    if (rfd < 0 || dfd < 0) {
        int r = nm_diag_set(d, NM_ERR_IO, "%s/%s: %s", od->path, tmp, strerror(errno));
        if (rfd >= 0)
            close(rfd);
        close(wfd);
        unlinkat(od->dir_fd, tmp, 0);
        free(tmp);
        return r;
    }
    struct nm_spool *sp = nm_xcalloc(1, sizeof *sp);
    sp->dir_fd = dfd;
    sp->wfd = wfd;
    sp->rfd = rfd;
    sp->tmp = tmp;
    sp->dir_path = nm_xstrdup(od->path);
    sp->n = n;
    sp->slots = nm_xcalloc(n ? n : 1, sizeof *sp->slots);
    sp->budget = NM_SPOOL_MEMORY_DEFAULT;
    pthread_mutex_init(&sp->mu, NULL);
    *ret = sp;
    return 0;
}

void nm_spool_destroy(struct nm_spool *sp)
{
    if (!sp)
        return;
    close(sp->wfd);
    close(sp->rfd);
    unlinkat(sp->dir_fd, sp->tmp, 0);
    close(sp->dir_fd);
    pthread_mutex_destroy(&sp->mu);
    for (size_t i = 0; i < sp->n; i++)
        json_decref(sp->slots[i].mem);
    free(sp->slots);
    free(sp->tmp);
    free(sp->dir_path);
    free(sp);
}

size_t nm_spool_size(const struct nm_spool *sp)
{
    return sp->n;
}

const char *nm_spool_name(const struct nm_spool *sp)
{
    return sp->tmp;
}

bool nm_spool_has(const struct nm_spool *sp, size_t i)
{
    return i < sp->n && (sp->slots[i].len > 0 || sp->slots[i].mem);
}

void nm_spool_set_memory(struct nm_spool *sp, size_t bytes)
{
    sp->budget = bytes;
}

size_t nm_spool_in_memory(const struct nm_spool *sp)
{
    size_t k = 0;
    for (size_t i = 0; i < sp->n; i++)
        k += sp->slots[i].mem != NULL;
    return k;
}

/*
 * What a host costs in memory, roughly: jansson's node, malloc's header and
 * the hash table slot of every value, plus its text.  Only compared with the
 * budget, so it needs to be proportional, not exact; a walk is far cheaper
 * than the serialising it decides about.  Hosts nest a handful of levels;
 * anything deeper than the cap is counted as one node.
 */
#define NM_SPOOL_NODE_COST 72
static size_t json_cost(const json_t *v, int depth)
{
    size_t c = NM_SPOOL_NODE_COST;
    if (depth > 32)
        return c;
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        const char *k;
        size_t klen;
        json_t *x;
        json_object_keylen_foreach ((json_t *)v, k, klen, x)
            c += NM_SPOOL_NODE_COST / 2 + klen + json_cost(x, depth + 1);
        break;
    }
    case JSON_ARRAY: {
        size_t i;
        json_t *x;
        json_array_foreach (v, i, x)
            c += sizeof(json_t *) + json_cost(x, depth + 1);
        break;
    }
    case JSON_STRING:
        c += json_string_length(v);
        break;
    default:
        break;
    }
    return c;
}

/*
 * The file holds each host in a compact binary form, not JSON text: a tag
 * byte per value, lengths and counts as LEB128 varints, integers as
 * zigzag varints, reals as their eight bytes (so every double reads back
 * exactly), strings and keys as their bytes (NUL included).  Reading it
 * back skips the lexing and number parsing a JSON parser does, and the
 * writers read every host several times.  The decoder trusts nothing: every
 * length is checked against what is left, nesting is capped, and strings
 * and keys are checked for UTF-8 as jansson checks them.
 */
enum {
    T_OBJECT = 'o',
    T_ARRAY = 'a',
    T_STRING = 's',
    T_INT = 'i',
    T_REAL = 'r',
    T_TRUE = 't',
    T_FALSE = 'f',
    T_NULL = 'n'
};
#define CODEC_DEPTH_MAX 512

struct enc {
    char *p;
    size_t len, alloc;
};

static void enc_reserve(struct enc *e, size_t more)
{
    if (e->len + more <= e->alloc)
        return;
    size_t a = e->alloc ? e->alloc : 4096;
    while (a < e->len + more)
        a *= 2;
    e->p = nm_xrealloc(e->p, a);
    e->alloc = a;
}

static void enc_byte(struct enc *e, unsigned char b)
{
    enc_reserve(e, 1);
    e->p[e->len++] = (char)b;
}

static void enc_uvar(struct enc *e, uint64_t v)
{
    enc_reserve(e, 10);
    do {
        unsigned char b = v & 0x7f;
        v >>= 7;
        e->p[e->len++] = (char)(b | (v ? 0x80 : 0));
    } while (v);
}

static void enc_bytes(struct enc *e, const char *b, size_t n)
{
    enc_uvar(e, n);
    enc_reserve(e, n);
    memcpy(e->p + e->len, b, n);
    e->len += n;
}

static void encode(struct enc *e, const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        const char *k;
        size_t klen;
        json_t *x;
        enc_byte(e, T_OBJECT);
        enc_uvar(e, json_object_size(v));
        json_object_keylen_foreach ((json_t *)v, k, klen, x) {
            enc_bytes(e, k, klen);
            encode(e, x);
        }
        break;
    }
    case JSON_ARRAY: {
        size_t i;
        json_t *x;
        enc_byte(e, T_ARRAY);
        enc_uvar(e, json_array_size(v));
        json_array_foreach (v, i, x)
            encode(e, x);
        break;
    }
    case JSON_STRING:
        enc_byte(e, T_STRING);
        enc_bytes(e, json_string_value(v), json_string_length(v));
        break;
    case JSON_INTEGER: {
        int64_t i = (int64_t)json_integer_value(v);
        enc_byte(e, T_INT);
        enc_uvar(e, ((uint64_t)i << 1) ^ (uint64_t)(i >> 63));
        break;
    }
    case JSON_REAL: {
        double d = json_real_value(v);
        enc_byte(e, T_REAL);
        enc_reserve(e, sizeof d);
        memcpy(e->p + e->len, &d, sizeof d);
        e->len += sizeof d;
        break;
    }
    case JSON_TRUE:
        enc_byte(e, T_TRUE);
        break;
    case JSON_FALSE:
        enc_byte(e, T_FALSE);
        break;
    default:
        enc_byte(e, T_NULL);
        break;
    }
}

struct dec {
    const unsigned char *p, *end;
};

/* Only the shortest spelling of a number is taken, so that every value has
 * exactly one form. */
static bool dec_uvar(struct dec *c, uint64_t *ret)
{
    uint64_t v = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
        if (c->p >= c->end)
            return false;
        unsigned char b = *c->p++;
        if (shift == 63 && b > 1)
            return false; /* past 64 bits */
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            if (b == 0 && shift > 0)
                return false; /* a needless trailing zero group */
            *ret = v;
            return true;
        }
    }
    return false;
}

static bool dec_bytes(struct dec *c, const char **ret, size_t *ret_len)
{
    uint64_t n;
    if (!dec_uvar(c, &n) || n > (uint64_t)(c->end - c->p))
        return false;
    *ret = (const char *)c->p;
    *ret_len = (size_t)n;
    c->p += n;
    return true;
}

static json_t *decode(struct dec *c, int depth)
{
    if (c->p >= c->end || depth > CODEC_DEPTH_MAX)
        return NULL;
    unsigned char tag = *c->p++;
    uint64_t n;
    const char *b;
    size_t blen;
    switch (tag) {
    case T_OBJECT: {
        /* Each member takes at least two bytes: a count past that is a lie. */
        if (!dec_uvar(c, &n) || n > (uint64_t)(c->end - c->p) / 2)
            return NULL;
        json_t *o = json_object();
        for (uint64_t k = 0; k < n; k++) {
            json_t *x = NULL;
            if (!dec_bytes(c, &b, &blen) || !(x = decode(c, depth + 1)) ||
                json_object_setn_new(o, b, blen, x) < 0) {
                json_decref(o);
                return NULL;
            }
        }
        if (json_object_size(o) != n) { /* a key given twice */
            json_decref(o);
            return NULL;
        }
        return o;
    }
    case T_ARRAY: {
        if (!dec_uvar(c, &n) || n > (uint64_t)(c->end - c->p))
            return NULL;
        json_t *a = json_array();
        for (uint64_t k = 0; k < n; k++) {
            json_t *x = decode(c, depth + 1);
            if (!x || json_array_append_new(a, x) < 0) {
                json_decref(a);
                return NULL;
            }
        }
        return a;
    }
    case T_STRING:
        return dec_bytes(c, &b, &blen) ? json_stringn(b, blen) : NULL;
    case T_INT:
        if (!dec_uvar(c, &n))
            return NULL;
        return json_integer((json_int_t)(int64_t)((n >> 1) ^ (~(n & 1) + 1)));
    case T_REAL: {
        double d;
        if ((size_t)(c->end - c->p) < sizeof d)
            return NULL;
        memcpy(&d, c->p, sizeof d);
        c->p += sizeof d;
        return json_real(d);
    }
    case T_TRUE:
        return json_true();
    case T_FALSE:
        return json_false();
    case T_NULL:
        return json_null();
    default:
        return NULL;
    }
}

void nm_spool_encode(const json_t *v, char **ret, size_t *ret_len)
{
    struct enc e = {0};
    encode(&e, v);
    *ret = e.p;
    *ret_len = e.len;
}

json_t *nm_spool_decode(const void *data, size_t len)
{
    struct dec c = {data, (const unsigned char *)data + len};
    json_t *v = decode(&c, 0);
    if (v && c.p != c.end) {
        json_decref(v);
        v = NULL;
    }
    return v;
}

/* Every byte or none: a short write past what the file may hold is undone
 * by not advancing the end, so the next host overwrites it. */
static int write_at(struct nm_spool *sp, const char *p, size_t len, uint64_t off, nm_diag *d)
{
    while (len > 0) {
        ssize_t w = pwrite(sp->wfd, p, len, (off_t)off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return nm_diag_set(d, NM_ERR_IO, "%s/%s: cannot write a host: %s", sp->dir_path,
                               sp->tmp, w < 0 ? strerror(errno) : "no space");
        p += w;
        len -= (size_t)w;
        off += (uint64_t)w;
    }
    return 0;
}

/* Host i leaves memory (the caller holds sp->mu); returns the reference to
 * drop once the lock is released. */
static json_t *take_mem(struct nm_spool *sp, size_t i)
{
    json_t *old = sp->slots[i].mem;
    sp->used -= sp->slots[i].cost;
    sp->slots[i].mem = NULL;
    sp->slots[i].cost = 0;
    return old;
}

int nm_spool_put(struct nm_spool *sp, size_t i, const json_t *host, nm_diag *d)
{
    if (i >= sp->n)
        return nm_diag_set(d, NM_ERR_INVAL, "host %zu is outside the spool (%zu hosts)", i, sp->n);
    /* While the hosts kept fit the budget they stay as they are: a small
     * fleet never pays for serialising and parsing them back.  Past it they
     * go to the file, and memory stays flat whatever the fleet's size. */
    if (sp->budget) {
        size_t cost = json_cost(host, 0);
        pthread_mutex_lock(&sp->mu);
        if (sp->used - sp->slots[i].cost + cost <= sp->budget) {
            json_t *old = take_mem(sp, i);
            sp->slots[i] = (struct slot){.mem = json_incref((json_t *)host), .cost = cost};
            sp->used += cost;
            pthread_mutex_unlock(&sp->mu);
            json_decref(old);
            return 0;
        }
        pthread_mutex_unlock(&sp->mu);
    }
    char *text;
    size_t len;
    nm_spool_encode(host, &text, &len);
    /* Serialised outside the lock; only the file's end is shared. */
    json_t *old = NULL;
    pthread_mutex_lock(&sp->mu);
    uint64_t off = sp->end;
    int r = write_at(sp, text, len, off, d);
    if (r == 0) {
        sp->end = off + len;
        old = take_mem(sp, i);
        sp->slots[i] = (struct slot){off, len, NULL, 0};
    }
    pthread_mutex_unlock(&sp->mu);
    json_decref(old);
    free(text);
    return r;
}

int nm_spool_get(struct nm_spool *sp, size_t i, json_t **ret_host, nm_diag *d)
{
    if (!nm_spool_has(sp, i))
        return nm_diag_set(d, NM_ERR_NOTFOUND, "host %zu is not in the spool", i);
    pthread_mutex_lock(&sp->mu);
    struct slot s = sp->slots[i];
    if (s.mem)
        json_incref(s.mem);
    pthread_mutex_unlock(&sp->mu);
    if (s.mem) {
        *ret_host = s.mem;
        return 0;
    }
    char *buf = nm_xmalloc(s.len);
    size_t got = 0;
    while (got < s.len) {
        ssize_t n = pread(sp->rfd, buf + got, s.len - got, (off_t)(s.off + got));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            int r = nm_diag_set(d, NM_ERR_IO, "%s/%s: cannot read host %zu back: %s", sp->dir_path,
                                sp->tmp, i, n < 0 ? strerror(errno) : "short file");
            free(buf);
            return r;
        }
        got += (size_t)n;
    }
    json_t *host = nm_spool_decode(buf, s.len);
    free(buf);
    if (!host)
        return nm_diag_set(d, NM_ERR_PARSE,
                           "%s/%s: host %zu does not read back (the file was "
                           "changed under the run)",
                           sp->dir_path, sp->tmp, i);
    *ret_host = host;
    return 0;
}

static int spool_next(void *ctx, const json_t **ret_host, nm_diag *d)
{
    struct nm_host_iter_spool_state *st = ctx;
    json_decref(st->cur);
    st->cur = NULL;
    if (st->pos >= nm_spool_size(st->sp)) {
        *ret_host = NULL;
        return 0;
    }
    json_t *h = NULL;
    int r = nm_spool_get(st->sp, st->pos, &h, d);
    if (r < 0)
        return r;
    st->pos++;
    st->cur = h;
    *ret_host = h;
    return 0;
}

static int spool_rewind(void *ctx, nm_diag *d)
{
    (void)d;
    struct nm_host_iter_spool_state *st = ctx;
    json_decref(st->cur);
    st->cur = NULL;
    st->pos = 0;
    return 0;
}

void nm_host_iter_spool(struct nm_host_iter *it, struct nm_host_iter_spool_state *st,
                        struct nm_spool *sp)
{
    st->sp = sp;
    st->pos = 0;
    st->cur = NULL;
    it->next = spool_next;
    it->rewind = spool_rewind;
    it->ctx = st;
    it->n_hosts = nm_spool_size(sp);
}

void nm_host_iter_spool_finish(struct nm_host_iter_spool_state *st)
{
    if (!st)
        return;
    json_decref(st->cur);
    st->cur = NULL;
}

size_t nm_spool_json_cost(const json_t *v)
{
    return json_cost(v, 0);
}

int nm_spool_memory_env(size_t *ret, nm_diag *d)
{
    const char *env = getenv("NEARMISS_SPOOL_MEMORY");
    if (!env || !*env) {
        *ret = NM_SPOOL_MEMORY_DEFAULT;
        return 0;
    }
    char *end;
    errno = 0;
    unsigned long long mib = strtoull(env, &end, 10);
    if (errno || *end || end == env || *env == '-' || mib > 1u << 20)
        return nm_diag_set(d, NM_ERR_INVAL,
                           "NEARMISS_SPOOL_MEMORY=\"%.40s\" is not a number of MiB (0 to 1048576)",
                           env);
    *ret = (size_t)mib << 20;
    return 0;
}
