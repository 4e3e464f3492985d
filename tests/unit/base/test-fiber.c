/*
 * Fibers (nearmiss/fiber.h): waits let the other fibers of the thread run,
 * wakeups reach every fiber waiting on a descriptor, a lock held across a
 * wait does not stop the thread, and a fiber's wait ends at its timeout.
 *
 * No test here measures time: each wait that must end by an event has a
 * timeout of seconds, so a broken scheduler shows up as a wait that timed
 * out (revents 0), not as a slow run.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "nearmiss/fiber.h"
#include "nearmiss/time.h"
#include "test.h"

#define STACK    (256u << 10)
#define PATIENCE 10000 /* ms: far more than any wait here needs */

/* Fibers of one run take their part from a shared counter. */
struct ctx {
    int fd[2];
    atomic_int next;
    int order[16];
    atomic_int n_order;
    int got[16];
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int flag;
    bool in_fiber;
};

static void note(struct ctx *c, int v)
{
    int i = atomic_fetch_add(&c->n_order, 1);
    if (i < 16)
        c->order[i] = v;
}

/* Fiber 0 waits for a byte that fiber 1 sends only after it first ran:
 * with a thread blocked in fiber 0's wait, the byte never comes. */
static void pass_body(void *arg)
{
    struct ctx *c = arg;
    int me = atomic_fetch_add(&c->next, 1);
    c->in_fiber = nm_in_fiber();
    if (me == 0) {
        note(c, 0);
        struct pollfd p = {.fd = c->fd[0], .events = POLLIN};
        c->got[0] = nm_poll1(&p, PATIENCE);
        c->got[1] = p.revents;
        note(c, 2);
    } else {
        note(c, 1);
        CHECK_INT(write(c->fd[1], "x", 1), 1);
    }
}

static void test_wait_lets_others_run(void)
{
    struct ctx c = {0};
    CHECK_INT(socketpair(AF_UNIX, SOCK_STREAM, 0, c.fd), 0);
    CHECK_INT(nm_fibers_run(2, STACK, pass_body, &c), 0);
    CHECK_INT(c.got[0], 1);
    CHECK(c.got[1] & POLLIN);
    CHECK_INT(atomic_load(&c.n_order), 3);
    CHECK_INT(c.order[0], 0);
    CHECK_INT(c.order[1], 1);
    CHECK_INT(c.order[2], 2);
    CHECK(c.in_fiber);
    CHECK(!nm_in_fiber());
    close(c.fd[0]);
    close(c.fd[1]);
}

/* A wait nobody answers ends at its timeout, with nothing ready. */
static void timeout_body(void *arg)
{
    struct ctx *c = arg;
    int me = atomic_fetch_add(&c->next, 1);
    struct pollfd p = {.fd = c->fd[0], .events = POLLIN};
    c->got[me] = nm_poll1(&p, 30);
    c->got[2 + me] = p.revents;
}

static void test_timeout(void)
{
    struct ctx c = {0};
    CHECK_INT(socketpair(AF_UNIX, SOCK_STREAM, 0, c.fd), 0);
    int64_t t0 = nm_now_ms();
    CHECK_INT(nm_fibers_run(2, STACK, timeout_body, &c), 0);
    CHECK(nm_now_ms() - t0 >= 30);
    CHECK_INT(c.got[0], 0);
    CHECK_INT(c.got[1], 0);
    CHECK_INT(c.got[2], 0);
    CHECK_INT(c.got[3], 0);
    close(c.fd[0]);
    close(c.fd[1]);
}

/*
 * Three fibers on one descriptor (hosts behind one jump host wait on its
 * socket): two for input, one for room to write.  The writer is answered
 * at once; both readers, when the byte comes, although the one-shot
 * registration fired first for the writer alone.
 */
static void shared_body(void *arg)
{
    struct ctx *c = arg;
    int me = atomic_fetch_add(&c->next, 1);
    if (me < 2) {
        struct pollfd p = {.fd = c->fd[0], .events = POLLIN};
        c->got[me] = nm_poll1(&p, PATIENCE) == 1 && (p.revents & POLLIN);
        return;
    }
    if (me == 2) {
        struct pollfd p = {.fd = c->fd[0], .events = POLLOUT};
        c->got[2] = nm_poll1(&p, PATIENCE) == 1 && (p.revents & POLLOUT);
        nm_sleep_ms(20); /* the readers wait on, their registration re-armed */
        CHECK_INT(write(c->fd[1], "y", 1), 1);
    }
}

static void test_shared_descriptor(void)
{
    struct ctx c = {0};
    CHECK_INT(socketpair(AF_UNIX, SOCK_STREAM, 0, c.fd), 0);
    CHECK_INT(nm_fibers_run(3, STACK, shared_body, &c), 0);
    CHECK_INT(c.got[0], 1);
    CHECK_INT(c.got[1], 1);
    CHECK_INT(c.got[2], 1);
    close(c.fd[0]);
    close(c.fd[1]);
}

/* A fiber holds a mutex across a wait; its neighbour takes it afterwards
 * with nm_mutex_lock_until instead of blocking the thread for good. */
static void lock_body(void *arg)
{
    struct ctx *c = arg;
    int me = atomic_fetch_add(&c->next, 1);
    if (me == 0) {
        CHECK_INT(nm_mutex_lock_until(&c->mu, nm_now_ms() + PATIENCE), 0);
        note(c, 0);
        nm_sleep_ms(30);
        note(c, 1);
        pthread_mutex_unlock(&c->mu);
    } else if (me == 1) {
        /* Held by fiber 0 for 30 ms: a 5 ms deadline passes first. */
        c->got[1] = nm_mutex_lock_until(&c->mu, nm_now_ms() + 5);
        c->got[2] = nm_mutex_lock_until(&c->mu, nm_now_ms() + PATIENCE);
        note(c, 2);
        if (c->got[2] == 0)
            pthread_mutex_unlock(&c->mu);
    }
}

static void test_lock_across_wait(void)
{
    struct ctx c = {0};
    pthread_mutex_init(&c.mu, NULL);
    CHECK_INT(nm_fibers_run(2, STACK, lock_body, &c), 0);
    CHECK_INT(c.got[1], ETIMEDOUT);
    CHECK_INT(c.got[2], 0);
    CHECK_INT(atomic_load(&c.n_order), 3);
    CHECK_INT(c.order[0], 0);
    CHECK_INT(c.order[1], 1);
    CHECK_INT(c.order[2], 2);
    pthread_mutex_destroy(&c.mu);
}

/* A condition variable: the waiter is a fiber, the one that signals its
 * neighbour on the same thread. */
static void cond_body(void *arg)
{
    struct ctx *c = arg;
    int me = atomic_fetch_add(&c->next, 1);
    pthread_mutex_lock(&c->mu);
    if (me == 0) {
        int64_t deadline = nm_now_ms() + PATIENCE;
        int w = 0;
        while (!c->flag && w != ETIMEDOUT)
            w = nm_cond_wait_until(&c->cv, &c->mu, deadline);
        c->got[0] = c->flag;
        /* Nobody signals again: the deadline ends the wait (the wakeups
         * before it are spurious ones, which callers expect). */
        int64_t end = nm_now_ms() + 10;
        do
            w = nm_cond_wait_until(&c->cv, &c->mu, end);
        while (w == 0);
        c->got[1] = w;
    } else {
        c->flag = 1;
        pthread_cond_broadcast(&c->cv);
    }
    pthread_mutex_unlock(&c->mu);
}

static void test_cond(void)
{
    struct ctx c = {0};
    pthread_mutex_init(&c.mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&c.cv, &ca);
    pthread_condattr_destroy(&ca);
    CHECK_INT(nm_fibers_run(2, STACK, cond_body, &c), 0);
    CHECK_INT(c.got[0], 1);
    CHECK_INT(c.got[1], ETIMEDOUT);
    /* Outside a fiber: the plain timed wait. */
    pthread_mutex_lock(&c.mu);
    CHECK_INT(nm_cond_wait_until(&c.cv, &c.mu, nm_now_ms() + 5), ETIMEDOUT);
    pthread_mutex_unlock(&c.mu);
    pthread_cond_destroy(&c.cv);
    pthread_mutex_destroy(&c.mu);
}

/*
 * A ring of many fibers: fiber i waits for a token on its socket and hands
 * it to fiber i + 1; fiber 0 starts it and waits for it to come round.
 * Every fiber also uses a good part of its stack (a deep frame), which the
 * guard page below must not stop.
 */
#define RING 200
static int ring_fd[RING][2];
static atomic_int ring_next, ring_done;

static void ring_body(void *arg)
{
    (void)arg;
    int me = atomic_fetch_add(&ring_next, 1);
    volatile char frame[64 << 10];
    memset((char *)frame, me & 0xff, sizeof frame);
    char t = 0;
    if (me == 0)
        CHECK_INT(write(ring_fd[1][1], "t", 1), 1);
    struct pollfd p = {.fd = ring_fd[me][0], .events = POLLIN};
    if (nm_poll1(&p, PATIENCE) != 1 || read(ring_fd[me][0], &t, 1) != 1 || t != 't')
        return;
    if (me != 0)
        CHECK_INT(write(ring_fd[(me + 1) % RING][1], "t", 1), 1);
    if (frame[sizeof frame - 1] == (char)(me & 0xff))
        atomic_fetch_add(&ring_done, 1);
}

static void test_ring(void)
{
    for (int i = 0; i < RING; i++)
        CHECK_INT(socketpair(AF_UNIX, SOCK_STREAM, 0, ring_fd[i]), 0);
    CHECK_INT(nm_fibers_run(RING, STACK, ring_body, NULL), 0);
    CHECK_INT(atomic_load(&ring_done), RING);
    for (int i = 0; i < RING; i++) {
        close(ring_fd[i][0]);
        close(ring_fd[i][1]);
    }
}

/* A descriptor epoll cannot watch (a regular file) is waited on the plain
 * way; a negative one only sleeps. */
static void odd_body(void *arg)
{
    struct ctx *c = arg;
    struct pollfd p = {.fd = c->fd[0], .events = POLLIN};
    c->got[0] = nm_poll1(&p, PATIENCE);
    c->got[1] = p.revents;
    struct pollfd q = {.fd = -1, .events = POLLIN};
    c->got[2] = nm_poll1(&q, 5);
}

static void test_odd_descriptors(void)
{
    struct ctx c = {0};
    char path[] = "/tmp/nm-fiber-XXXXXX";
    c.fd[0] = mkstemp(path);
    CHECK(c.fd[0] >= 0);
    unlink(path);
    CHECK_INT(nm_fibers_run(1, STACK, odd_body, &c), 0);
    CHECK_INT(c.got[0], 1);
    CHECK(c.got[1] & POLLIN);
    CHECK_INT(c.got[2], 0);
    close(c.fd[0]);
}

/* Threads of fibers side by side, as a scan runs them. */
static void *thread_main(void *arg)
{
    (void)arg;
    struct ctx c = {0};
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, c.fd) != 0)
        return (void *)1;
    int r = nm_fibers_run(2, STACK, pass_body, &c);
    close(c.fd[0]);
    close(c.fd[1]);
    return r == 0 && c.got[0] == 1 ? NULL : (void *)1;
}

static void test_threads(void)
{
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        CHECK_INT(pthread_create(&t[i], NULL, thread_main, NULL), 0);
    for (int i = 0; i < 4; i++) {
        void *ret = (void *)1;
        pthread_join(t[i], &ret);
        CHECK(ret == NULL);
    }
}

int main(void)
{
    test_wait_lets_others_run();
    test_timeout();
    test_shared_descriptor();
    test_lock_across_wait();
    test_cond();
    test_ring();
    test_odd_descriptors();
    test_threads();
    CHECK_INT(nm_fibers_run(0, STACK, ring_body, NULL), 0);
    return test_result();
}
