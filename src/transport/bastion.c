#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nearmiss/error.h"
#include "nearmiss/fiber.h"
#include "nearmiss/time.h"
#include "nearmiss/util.h"
#include "transport/bastion.h"

/* A bastion that refused us for good: later hosts get the same answer
 * without another login attempt (a key does not change mid-scan). */
struct refusal {
    struct refusal *next;
    char *key;
    enum nm_host_status status;
    int code;
    char msg[768];
};

struct nm_bastion_pool {
    pthread_mutex_t mu;
    pthread_cond_t cv; /* any entry's state or slot count changed */
    struct nm_bastion *entries;
    struct refusal *refusals;
    size_t channels;
    size_t connections;
    bool closing;
};

struct nm_bastion_pool *nm_bastion_pool_create_ex(size_t channels, size_t connections)
{
    struct nm_bastion_pool *p = nm_xcalloc(1, sizeof *p);
    pthread_condattr_t ca;
    pthread_mutex_init(&p->mu, NULL);
    /* Waits end at deadlines on the monotonic clock (nm_now_ms). */
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&p->cv, &ca);
    pthread_condattr_destroy(&ca);
    p->channels = channels ? channels : 1;
    p->connections = connections ? connections : 1;
    return p;
}

struct nm_bastion_pool *nm_bastion_pool_create(void)
{
    return nm_bastion_pool_create_ex(NM_BASTION_CHANNELS, NM_BASTION_CONNECTIONS);
}

static void entry_free(struct nm_bastion *b)
{
    pthread_mutex_destroy(&b->lock);
    free(b->key);
    free(b);
}

/* Under p->mu. */
static void unlink_entry(struct nm_bastion_pool *p, struct nm_bastion *b)
{
    for (struct nm_bastion **pp = &p->entries; *pp; pp = &(*pp)->next)
        if (*pp == b) {
            *pp = b->next;
            return;
        }
}

void nm_bastion_pool_destroy(struct nm_bastion_pool *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    p->closing = true; /* releases from the closes below free nothing */
    pthread_mutex_unlock(&p->mu);
    /* A connection tunnelled through another holds a slot on it until it is
     * closed: close those nobody holds, until none is left.  The last
     * sweep closes whatever is still held (none, unless a borrower forgot
     * to give its slot back). */
    for (bool sweep_all = false;;) {
        struct nm_bastion *next = NULL;
        pthread_mutex_lock(&p->mu);
        for (struct nm_bastion *b = p->entries; b && !next; b = b->next)
            if (b->conn && (sweep_all || b->users == 0))
                next = b;
        void *conn = next ? next->conn : NULL;
        if (next)
            next->conn = NULL;
        pthread_mutex_unlock(&p->mu);
        if (!next) {
            if (sweep_all)
                break;
            sweep_all = true;
            continue;
        }
        if (next->close)
            next->close(conn);
    }
    while (p->entries) {
        struct nm_bastion *b = p->entries;
        p->entries = b->next;
        entry_free(b);
    }
    while (p->refusals) {
        struct refusal *f = p->refusals;
        p->refusals = f->next;
        free(f->key);
        free(f);
    }
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    free(p);
}

/* Under p->mu: false once the deadline has passed. */
static bool wait_until(struct nm_bastion_pool *p, int64_t deadline_ms)
{
    if (nm_now_ms() >= deadline_ms)
        return false;
    return nm_cond_wait_until(&p->cv, &p->mu, deadline_ms) != ETIMEDOUT ||
           nm_now_ms() < deadline_ms;
}

/* Under p->mu: one slot of a failed entry given back; the last frees it. */
static void drop_failed(struct nm_bastion_pool *p, struct nm_bastion *b)
{
    if (--b->users == 0 && !p->closing) {
        unlink_entry(p, b);
        entry_free(b);
    }
}

/* Messages are cut at the caller's size (they end in valid UTF-8 at the
 * transport's size, which callers use). */
static void copy_msg(char *dst, size_t len, const char *src)
{
    if (!len)
        return;
    size_t n = strnlen(src, len - 1);
    memcpy(dst, src, n);
    dst[n] = '\0';
}

int nm_bastion_acquire(struct nm_bastion_pool *p, const char *key, int64_t deadline_ms,
                       struct nm_bastion **ret, bool *ret_connect, enum nm_host_status *ret_status,
                       char *msg, size_t msglen)
{
    int r = 0;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        if (p->closing) {
            r = NM_ERR_INVAL;
            break;
        }
        const struct refusal *f = p->refusals;
        while (f && strcmp(f->key, key) != 0)
            f = f->next;
        if (f) {
            *ret_status = f->status;
            copy_msg(msg, msglen, f->msg);
            r = f->code;
            break;
        }
        struct nm_bastion *room = NULL, *pending = NULL;
        size_t live = 0;
        for (struct nm_bastion *b = p->entries; b; b = b->next) {
            if (b->state == NM_BASTION_FAILED || atomic_load(&b->broken) ||
                atomic_load(&b->retired) || strcmp(b->key, key) != 0)
                continue;
            live++;
            if (b->users >= p->channels)
                continue;
            int64_t since = atomic_load(&b->opening_since);
            if (since && nm_now_ms() - since > NM_BASTION_OPEN_PATIENCE_MS)
                continue; /* counts, but cannot open a channel for us now */
            if (b->state == NM_BASTION_READY && !room)
                room = b;
            else if (b->state == NM_BASTION_CONNECTING && !pending)
                pending = b;
        }
        if (room) {
            room->users++;
            *ret = room;
            *ret_connect = false;
            break;
        }
        if (pending) {
            /* Its login is under way: a slot on it is taken now, so that
             * the K hosts arriving first share it and the next one opens
             * the second connection. */
            pending->users++;
            while (pending->state == NM_BASTION_CONNECTING && wait_until(p, deadline_ms))
                ;
            if (pending->state == NM_BASTION_READY) {
                *ret = pending;
                *ret_connect = false;
                break;
            }
            if (pending->state == NM_BASTION_CONNECTING) {
                pending->users--;
                r = NM_ERR_TIMEOUT;
                break;
            }
            if (pending->fail_shared) {
                *ret_status = pending->fail_status;
                copy_msg(msg, msglen, pending->fail_msg);
                r = pending->fail_code;
                drop_failed(p, pending);
                break;
            }
            /* The connector ran out of its own time: try with ours. */
            drop_failed(p, pending);
            continue;
        }
        if (live < p->connections) {
            struct nm_bastion *b = nm_xcalloc(1, sizeof *b);
            pthread_mutex_init(&b->lock, NULL);
            atomic_init(&b->rx_gen, 0);
            atomic_init(&b->broken, false);
            atomic_init(&b->retired, false);
            atomic_init(&b->opening_since, 0);
            atomic_init(&b->opener, NULL);
            b->pool = p;
            b->key = nm_xstrdup(key);
            b->state = NM_BASTION_CONNECTING;
            b->users = 1;
            b->next = p->entries;
            p->entries = b;
            *ret = b;
            *ret_connect = true;
            break;
        }
        if (!wait_until(p, deadline_ms)) {
            r = NM_ERR_TIMEOUT;
            break;
        }
    }
    pthread_mutex_unlock(&p->mu);
    return r;
}

void nm_bastion_established(struct nm_bastion *b, void *conn, void (*close)(void *conn))
{
    struct nm_bastion_pool *p = b->pool;
    pthread_mutex_lock(&p->mu);
    b->conn = conn;
    b->close = close;
    b->state = NM_BASTION_READY;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

void nm_bastion_failed(struct nm_bastion *b, enum nm_host_status status, int code, const char *msg)
{
    struct nm_bastion_pool *p = b->pool;
    pthread_mutex_lock(&p->mu);
    b->state = NM_BASTION_FAILED;
    b->fail_status = status;
    b->fail_code = code;
    b->fail_shared = msg && status != NM_HOST_TIMEOUT;
    copy_msg(b->fail_msg, sizeof b->fail_msg, msg ? msg : "");
    if (msg && (status == NM_HOST_HOSTKEY_MISMATCH || status == NM_HOST_HOSTKEY_UNKNOWN ||
                status == NM_HOST_AUTH_FAILED)) {
        struct refusal *f = nm_xcalloc(1, sizeof *f);
        f->key = nm_xstrdup(b->key);
        f->status = status;
        f->code = code;
        copy_msg(f->msg, sizeof f->msg, msg);
        f->next = p->refusals;
        p->refusals = f;
    }
    drop_failed(p, b);
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

void nm_bastion_release(struct nm_bastion *b)
{
    if (!b)
        return;
    struct nm_bastion_pool *p = b->pool;
    bool close_it = false;
    pthread_mutex_lock(&p->mu);
    b->users--;
    if (b->users == 0 && !p->closing && (atomic_load(&b->broken) || atomic_load(&b->retired))) {
        unlink_entry(p, b);
        close_it = true;
    }
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    if (close_it) {
        if (b->conn && b->close)
            b->close(b->conn);
        entry_free(b);
    }
}

size_t nm_bastion_users(struct nm_bastion *b)
{
    pthread_mutex_lock(&b->pool->mu);
    size_t n = b->users;
    pthread_mutex_unlock(&b->pool->mu);
    return n;
}

/* A fiber that holds the lock may wait for its host with it (nearmiss/fiber.h). */
int nm_bastion_lock(struct nm_bastion *b, int64_t deadline_ms)
{
    return nm_mutex_lock_until(&b->lock, deadline_ms) == 0 ? 0 : NM_ERR_TIMEOUT;
}

void nm_bastion_unlock(struct nm_bastion *b)
{
    pthread_mutex_unlock(&b->lock);
}
