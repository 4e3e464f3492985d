/*
 * The jump-host connection pool (src/transport/bastion.c) without SSH: who
 * logs in, who waits and for how long, what a failed login gives the hosts
 * that waited for it, the per-connection channel cap and the cap on
 * connections, closing broken connections, and many threads borrowing at
 * once (run this one under -Db_sanitize=thread too).  The pool with real
 * sshd jump hosts is tests/fleet/test-jump-share.sh.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#include "nearmiss/error.h"
#include "nearmiss/time.h"
#include "test.h"
#include "transport/bastion.h"

/* Stands for a logged-in session. */
struct fake_conn {
    atomic_int in_use; /* slots taken, counted by the borrowers themselves */
    atomic_int max_in_use;
    atomic_int holders; /* threads inside its lock */
    int id;
    struct nm_bastion *outer; /* the connection it is tunnelled through */
};

static atomic_int closed;
static atomic_int close_order[8];
static atomic_int n_close_order;

static void fake_close(void *p)
{
    struct fake_conn *c = p;
    int k = atomic_fetch_add(&n_close_order, 1);
    if (k < 8)
        atomic_store(&close_order[k], c->id);
    atomic_fetch_add(&closed, 1);
    nm_bastion_release(c->outer);
    free(c);
}

static struct fake_conn *fake_new(int id)
{
    struct fake_conn *c = calloc(1, sizeof *c);
    c->id = id;
    return c;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Until n slots are taken on b: the waiters started are waiting. */
static void wait_users(struct nm_bastion *b, size_t n)
{
    for (int i = 0; i < 10000 && nm_bastion_users(b) < n; i++)
        sleep_ms(1);
}

struct take {
    struct nm_bastion_pool *p;
    const char *key;
    int64_t deadline;
    bool log_in; /* a connector logs in (after a while) by itself */
    /* out */
    int r;
    struct nm_bastion *b;
    bool connect;
    enum nm_host_status st;
    char msg[128];
    int64_t ended;
};

static void *take_thread(void *arg)
{
    struct take *t = arg;
    t->r = nm_bastion_acquire(t->p, t->key, t->deadline, &t->b, &t->connect, &t->st, t->msg,
                              sizeof t->msg);
    t->ended = nm_now_ms();
    if (t->r == 0 && t->connect && t->log_in) {
        sleep_ms(50);
        nm_bastion_established(t->b, fake_new(2), fake_close);
    }
    return NULL;
}

static void start_takers(struct take *t, pthread_t *th, size_t n, struct nm_bastion_pool *p,
                         const char *key, int64_t deadline)
{
    for (size_t i = 0; i < n; i++) {
        t[i] = (struct take){.p = p, .key = key, .deadline = deadline};
        pthread_create(&th[i], NULL, take_thread, &t[i]);
    }
}

static void test_sharing_and_cap(void)
{
    struct nm_bastion_pool *p = nm_bastion_pool_create_ex(3, 4);
    struct nm_bastion *b[5];
    bool connect = false;
    enum nm_host_status st;
    char msg[64];
    int64_t dl = nm_now_ms() + 5000;

    CHECK_INT(nm_bastion_acquire(p, "jump-a", dl, &b[0], &connect, &st, msg, sizeof msg), 0);
    CHECK(connect);
    nm_bastion_established(b[0], fake_new(1), fake_close);
    /* The next two share it; the fourth finds it full and logs in anew. */
    CHECK_INT(nm_bastion_acquire(p, "jump-a", dl, &b[1], &connect, &st, msg, sizeof msg), 0);
    CHECK(!connect && b[1] == b[0]);
    CHECK_INT(nm_bastion_acquire(p, "jump-a", dl, &b[2], &connect, &st, msg, sizeof msg), 0);
    CHECK(!connect && b[2] == b[0]);
    CHECK_INT(nm_bastion_acquire(p, "jump-a", dl, &b[3], &connect, &st, msg, sizeof msg), 0);
    CHECK(connect && b[3] != b[0]);
    nm_bastion_established(b[3], fake_new(2), fake_close);
    /* Another key is another bastion: a second hop, logged in to (as in
     * ssh.c) before the first hop's connection it runs over, so that it
     * holds a slot there. */
    CHECK_INT(nm_bastion_acquire(p, "jump-b", dl, &b[4], &connect, &st, msg, sizeof msg), 0);
    CHECK(connect && b[4] != b[0] && b[4] != b[3]);
    struct nm_bastion *hop1;
    CHECK_INT(nm_bastion_acquire(p, "jump-c", dl, &hop1, &connect, &st, msg, sizeof msg), 0);
    CHECK(connect);
    nm_bastion_established(hop1, fake_new(4), fake_close);
    struct fake_conn *hop2 = fake_new(3);
    hop2->outer = hop1;
    nm_bastion_established(b[4], hop2, fake_close);
    /* A slot given back is taken again before any new login. */
    nm_bastion_release(b[1]);
    CHECK_INT(nm_bastion_acquire(p, "jump-a", dl, &b[1], &connect, &st, msg, sizeof msg), 0);
    CHECK(!connect && (b[1] == b[0] || b[1] == b[3]));
    for (size_t i = 0; i < 5; i++)
        nm_bastion_release(b[i]);
    CHECK_INT(atomic_load(&closed), 0); /* idle connections stay for the next hosts */
    atomic_store(&closed, 0);
    atomic_store(&n_close_order, 0);
    nm_bastion_pool_destroy(p);
    CHECK_INT(atomic_load(&closed), 4);
    /* The second hop goes before the first hop it runs over. */
    int pos3 = -1, pos4 = -1;
    for (int i = 0; i < 4; i++) {
        if (atomic_load(&close_order[i]) == 3)
            pos3 = i;
        if (atomic_load(&close_order[i]) == 4)
            pos4 = i;
    }
    CHECK(pos3 >= 0 && pos4 > pos3);
    atomic_store(&closed, 0);
}

static void test_waiters_share_one_login(void)
{
    struct nm_bastion_pool *p = nm_bastion_pool_create_ex(4, 4);
    struct take t[6];
    pthread_t th[6];
    int64_t dl = nm_now_ms() + 10000;

    start_takers(t, th, 1, p, "k", dl);
    pthread_join(th[0], NULL);
    CHECK(t[0].r == 0 && t[0].connect);
    /* While it logs in, five more hosts arrive: three wait for it (4
     * slots), the other two cannot fit and start a second login. */
    for (size_t i = 1; i < 6; i++) {
        t[i] = (struct take){.p = p, .key = "k", .deadline = dl, .log_in = true};
        pthread_create(&th[i], NULL, take_thread, &t[i]);
    }
    wait_users(t[0].b, 4);
    nm_bastion_established(t[0].b, fake_new(1), fake_close);
    int connects = 0, on_first = 0;
    for (size_t i = 1; i < 6; i++) {
        pthread_join(th[i], NULL);
        CHECK_INT(t[i].r, 0);
        connects += t[i].connect;
        on_first += t[i].b == t[0].b;
    }
    CHECK_INT(on_first, 3);
    CHECK_INT(connects, 1);
    for (size_t i = 0; i < 6; i++)
        nm_bastion_release(t[i].b);
    nm_bastion_pool_destroy(p);
    atomic_store(&closed, 0);
}

static void test_failed_logins(void)
{
    struct nm_bastion_pool *p = nm_bastion_pool_create_ex(8, 4);
    struct take t[4];
    pthread_t th[4];
    int64_t dl = nm_now_ms() + 10000;

    /* A refused key: the hosts that waited get it as theirs, and so does
     * every later one, without another attempt. */
    start_takers(t, th, 1, p, "bad", dl);
    pthread_join(th[0], NULL);
    CHECK(t[0].connect);
    start_takers(t + 1, th + 1, 2, p, "bad", dl);
    wait_users(t[0].b, 3);
    nm_bastion_failed(t[0].b, NM_HOST_HOSTKEY_MISMATCH, NM_ERR_HOSTKEY_MISMATCH, "KEY CHANGED");
    for (size_t i = 1; i < 3; i++) {
        pthread_join(th[i], NULL);
        CHECK_INT(t[i].r, NM_ERR_HOSTKEY_MISMATCH);
        CHECK_INT(t[i].st, NM_HOST_HOSTKEY_MISMATCH);
        CHECK_STR(t[i].msg, "KEY CHANGED");
    }
    start_takers(t + 3, th + 3, 1, p, "bad", dl);
    pthread_join(th[3], NULL);
    CHECK_INT(t[3].r, NM_ERR_HOSTKEY_MISMATCH);
    CHECK_STR(t[3].msg, "KEY CHANGED");

    /* A connection refused: the waiters share it; a later host tries again. */
    start_takers(t, th, 1, p, "down", dl);
    pthread_join(th[0], NULL);
    start_takers(t + 1, th + 1, 1, p, "down", dl);
    wait_users(t[0].b, 2);
    nm_bastion_failed(t[0].b, NM_HOST_UNREACHABLE, NM_ERR_CONNECT, "refused");
    pthread_join(th[1], NULL);
    CHECK_INT(t[1].r, NM_ERR_CONNECT);
    CHECK_INT(t[1].st, NM_HOST_UNREACHABLE);
    start_takers(t + 2, th + 2, 1, p, "down", dl);
    pthread_join(th[2], NULL);
    CHECK(t[2].r == 0 && t[2].connect);
    nm_bastion_failed(t[2].b, NM_HOST_UNREACHABLE, NM_ERR_CONNECT, "refused");

    /* The connector ran out of its own time: a waiter with time left logs
     * in itself instead of inheriting the timeout. */
    start_takers(t, th, 1, p, "slow", dl);
    pthread_join(th[0], NULL);
    start_takers(t + 1, th + 1, 1, p, "slow", dl);
    wait_users(t[0].b, 2);
    nm_bastion_failed(t[0].b, NM_HOST_TIMEOUT, NM_ERR_TIMEOUT, "deadline");
    pthread_join(th[1], NULL);
    CHECK(t[1].r == 0 && t[1].connect);
    nm_bastion_established(t[1].b, fake_new(1), fake_close);
    nm_bastion_release(t[1].b);

    /* A failure further out (msg NULL) is each host's own to meet. */
    start_takers(t, th, 1, p, "inner", dl);
    pthread_join(th[0], NULL);
    start_takers(t + 1, th + 1, 1, p, "inner", dl);
    wait_users(t[0].b, 2);
    nm_bastion_failed(t[0].b, NM_HOST_OK, NM_ERR_CONNECT, NULL);
    pthread_join(th[1], NULL);
    CHECK(t[1].r == 0 && t[1].connect);
    nm_bastion_failed(t[1].b, NM_HOST_OK, NM_ERR_CONNECT, NULL);
    nm_bastion_pool_destroy(p);
    atomic_store(&closed, 0);
}

struct lock_try {
    struct nm_bastion *b;
    int64_t deadline;
    int r;
    int64_t ended;
};

static void *lock_thread(void *arg)
{
    struct lock_try *l = arg;
    l->r = nm_bastion_lock(l->b, l->deadline);
    l->ended = nm_now_ms();
    if (l->r == 0)
        nm_bastion_unlock(l->b);
    return NULL;
}

static void test_deadlines(void)
{
    struct nm_bastion_pool *p = nm_bastion_pool_create_ex(1, 1);
    struct take t[2];
    pthread_t th[2];

    /* A login that never ends: a waiter leaves at its own deadline. */
    start_takers(t, th, 1, p, "hung", nm_now_ms() + 10000);
    pthread_join(th[0], NULL);
    int64_t dl = nm_now_ms() + 200;
    start_takers(t + 1, th + 1, 1, p, "hung", dl);
    pthread_join(th[1], NULL);
    CHECK_INT(t[1].r, NM_ERR_TIMEOUT);
    CHECK(t[1].ended >= dl && t[1].ended < dl + 5000);
    nm_bastion_established(t[0].b, fake_new(1), fake_close);

    /* Every channel and every connection busy: a host waits for a slot,
     * within its deadline; a slot given back is its. */
    dl = nm_now_ms() + 200;
    start_takers(t + 1, th + 1, 1, p, "hung", dl);
    pthread_join(th[1], NULL);
    CHECK_INT(t[1].r, NM_ERR_TIMEOUT);
    CHECK(t[1].ended >= dl && t[1].ended < dl + 5000);
    start_takers(t + 1, th + 1, 1, p, "hung", nm_now_ms() + 10000);
    sleep_ms(50);
    nm_bastion_release(t[0].b);
    pthread_join(th[1], NULL);
    CHECK(t[1].r == 0 && !t[1].connect && t[1].b == t[0].b);

    /* The lock too is given up at the deadline. */
    CHECK_INT(nm_bastion_lock(t[1].b, nm_now_ms() + 1000), 0);
    struct lock_try l = {.b = t[1].b, .deadline = nm_now_ms() + 150};
    pthread_t lt;
    pthread_create(&lt, NULL, lock_thread, &l);
    pthread_join(lt, NULL);
    CHECK_INT(l.r, NM_ERR_TIMEOUT);
    CHECK(l.ended >= l.deadline && l.ended < l.deadline + 5000);
    nm_bastion_unlock(t[1].b);
    l.deadline = nm_now_ms() + 1000;
    pthread_create(&lt, NULL, lock_thread, &l);
    pthread_join(lt, NULL);
    CHECK_INT(l.r, 0);

    /* A broken connection is closed by its last borrower and never handed
     * out again. */
    atomic_store(&t[1].b->broken, true);
    nm_bastion_release(t[1].b);
    CHECK_INT(atomic_load(&closed), 1);
    start_takers(t, th, 1, p, "hung", nm_now_ms() + 1000);
    pthread_join(th[0], NULL);
    CHECK(t[0].r == 0 && t[0].connect);
    nm_bastion_established(t[0].b, fake_new(2), fake_close);
    nm_bastion_release(t[0].b);
    nm_bastion_pool_destroy(p);
    CHECK_INT(atomic_load(&closed), 2);
    atomic_store(&closed, 0);
}

/* Many hosts borrowing at once: never more than K on a connection, never
 * more connections than allowed, each slot's user alone under the lock. */
#define STRESS_K     3
#define STRESS_CONNS 2
static atomic_int connections_made;
static atomic_int lock_overlap;

static void *stress_thread(void *arg)
{
    struct nm_bastion_pool *p = arg;
    for (int i = 0; i < 200; i++) {
        struct nm_bastion *b;
        bool connect;
        enum nm_host_status st;
        char msg[32];
        if (nm_bastion_acquire(p, i % 3 ? "x" : "y", nm_now_ms() + 20000, &b, &connect, &st, msg,
                               sizeof msg) != 0)
            continue;
        if (connect) {
            atomic_fetch_add(&connections_made, 1);
            nm_bastion_established(b, fake_new(0), fake_close);
        }
        struct fake_conn *c = b->conn;
        int now = atomic_fetch_add(&c->in_use, 1) + 1;
        int was = atomic_load(&c->max_in_use);
        while (now > was && !atomic_compare_exchange_weak(&c->max_in_use, &was, now))
            ;
        if (nm_bastion_lock(b, nm_now_ms() + 20000) == 0) {
            if (atomic_fetch_add(&c->holders, 1) != 0)
                atomic_store(&lock_overlap, 1);
            atomic_fetch_sub(&c->holders, 1);
            nm_bastion_unlock(b);
        }
        if (i % 50 == 49)
            atomic_store(&b->broken, true); /* dropped now and then */
        atomic_fetch_sub(&c->in_use, 1);
        if (atomic_load(&c->max_in_use) > STRESS_K)
            atomic_store(&lock_overlap, 2);
        nm_bastion_release(b);
    }
    return NULL;
}

static void test_stress(void)
{
    struct nm_bastion_pool *p = nm_bastion_pool_create_ex(STRESS_K, STRESS_CONNS);
    pthread_t th[12];
    for (size_t i = 0; i < 12; i++)
        pthread_create(&th[i], NULL, stress_thread, p);
    for (size_t i = 0; i < 12; i++)
        pthread_join(th[i], NULL);
    CHECK_INT(atomic_load(&lock_overlap), 0);
    CHECK(atomic_load(&connections_made) >= 2);
    nm_bastion_pool_destroy(p);
    /* Every connection made was closed exactly once: broken ones by their
     * last borrower, the rest by the pool. */
    CHECK_INT(atomic_load(&closed), atomic_load(&connections_made));
    atomic_store(&closed, 0);
}

int main(void)
{
    test_sharing_and_cap();
    test_waiters_share_one_login();
    test_failed_logins();
    test_deadlines();
    test_stress();
    return test_result();
}
