/*
 * The pool behind nearmiss/bastion.h, as the transport sees it.  The pool
 * knows nothing of SSH: it hands out slots on opaque connections keyed by a
 * string, decides who connects, makes the others wait (each within its own
 * deadline), and shares a failed login with the hosts that waited for it.
 * ssh.c makes, uses and closes the sessions.
 *
 * Locks: the pool's own mutex guards the list and every entry's state and
 * slot count; an entry's `lock` serialises every libssh2 call on that
 * entry's session (libssh2 sessions are not thread-safe).  A thread may take
 * an entry's lock while holding the lock of an entry tunnelled through it
 * (inner before outer, never the other way), and never takes the pool's
 * mutex while holding an entry's lock.
 */
#ifndef NM_TRANSPORT_BASTION_H
#define NM_TRANSPORT_BASTION_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nearmiss/bastion.h"
#include "nearmiss/model.h"

enum nm_bastion_state {
    NM_BASTION_CONNECTING, /* its first borrower is logging in */
    NM_BASTION_READY,
    NM_BASTION_FAILED, /* the login failed; freed when its last waiter has looked */
};

struct nm_bastion {
    pthread_mutex_t lock; /* held around every libssh2 call on the session */
    void *conn;           /* the session (ssh.c's), set once READY */
    void (*close)(void *conn);
    /* Bytes read off the bastion's socket so far: a host whose data another
     * thread read (libssh2 queues it on the channel) sees it move. */
    atomic_uint_fast64_t rx_gen;
    atomic_bool broken;  /* the connection is gone: never handed out again */
    atomic_bool retired; /* usable by its current borrowers only */
    /* libssh2 keeps one channel open in flight per session: since when
     * (nm_now_ms) the current one waits for the bastion's answer, 0 = none.
     * A connection whose open has hung longer than NM_BASTION_OPEN_PATIENCE_MS
     * (a target that does not answer the bastion) is not handed out. */
    atomic_int_fast64_t opening_since;
    _Atomic(void *) opener; /* who may call the open now */
    /* The rest is the pool's, under its mutex. */
    struct nm_bastion_pool *pool;
    struct nm_bastion *next;
    char *key;
    enum nm_bastion_state state;
    size_t users; /* slots taken, the connector's and waiters' included */
    enum nm_host_status fail_status;
    int fail_code;
    bool fail_shared; /* the waiters take the failure as theirs */
    char fail_msg[768];
};

#define NM_BASTION_OPEN_PATIENCE_MS 1000

/* The pool with other limits than the defaults (tests). */
struct nm_bastion_pool *nm_bastion_pool_create_ex(size_t channels, size_t connections);

/*
 * Takes a slot on a connection for key, waiting at most until deadline_ms
 * (nm_now_ms() clock).  On 0, *ret is the entry and *ret_connect says whether
 * the caller must log in itself (then it ends with nm_bastion_established()
 * or nm_bastion_failed(), and others wait for it meanwhile).  On a failure
 * the caller waited for, or one remembered from earlier (a bastion whose key
 * or login was refused is not tried again), returns its code and writes its
 * status and message (without a prefix); on NM_ERR_TIMEOUT nothing is written.
 */
int nm_bastion_acquire(struct nm_bastion_pool *p, const char *key, int64_t deadline_ms,
                       struct nm_bastion **ret, bool *ret_connect, enum nm_host_status *ret_status,
                       char *msg, size_t msglen);
/* The connector logged in: the entry serves its slots. */
void nm_bastion_established(struct nm_bastion *b, void *conn, void (*close)(void *conn));
/* The connector gave up (its half-made session already torn down): the
 * waiters get status/msg unless it was the connector's own deadline or msg
 * is NULL (a failure further out, which each of them meets itself). */
void nm_bastion_failed(struct nm_bastion *b, enum nm_host_status status, int code, const char *msg);
/* Gives a slot back; the last borrower of a broken or retired connection
 * closes it. */
void nm_bastion_release(struct nm_bastion *b);

/* Slots taken on b now, waiters for its login included (tests). */
size_t nm_bastion_users(struct nm_bastion *b);

/* The entry's lock, given up at deadline_ms: returns 0 or NM_ERR_TIMEOUT. */
int nm_bastion_lock(struct nm_bastion *b, int64_t deadline_ms);
void nm_bastion_unlock(struct nm_bastion *b);

#endif
