/*
 * Many host scans on one thread.
 *
 * A scan spends nearly all of a host's time waiting for the host: a thread
 * per session pays for that wait with a sleep and a wakeup of its own each
 * time (a context switch), a malloc arena, an OpenSSL random generator and
 * lock contention, all in the kernel or in locks.  Fibers instead run many
 * sessions on one thread, each with its own stack, and switch only where a
 * session would wait: a thread sleeps once for all of them, in one
 * epoll_wait.
 *
 * The code of a session does not know whether it runs in a fiber: it waits
 * with the functions below, which wait the plain way on a thread of its
 * own.  Nothing may wait in any other way while in a fiber (poll, a
 * condition variable, a blocking lock): the other sessions on the thread
 * would stop with it.  A pthread mutex held across a wait is allowed: the
 * others take it with nm_mutex_lock_until, which never blocks the thread.
 */
#ifndef NEARMISS_FIBER_H
#define NEARMISS_FIBER_H

#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Runs n fibers on the calling thread, each calling body(arg) on a stack of
 * stack_size bytes (plus a guard page), and returns when all have returned.
 * Returns 0, or -1 (nothing ran) when not even one fiber could be made. */
int nm_fibers_run(size_t n, size_t stack_size, void (*body)(void *arg), void *arg);

/* True inside a fiber of nm_fibers_run. */
bool nm_in_fiber(void);

/* poll() on one descriptor; in a fiber the others run meanwhile.  A negative
 * p->fd only sleeps.  Returns as poll does (1, 0 at the timeout, -1). */
int nm_poll1(struct pollfd *p, int timeout_ms);

/* Sleeps ms milliseconds (the others run meanwhile). */
void nm_sleep_ms(int64_t ms);

/*
 * pthread_cond_wait until deadline_ms on the monotonic clock (INT64_MAX:
 * none; cv must then be on CLOCK_MONOTONIC unless there is no deadline).
 * Returns 0 or ETIMEDOUT.  In a fiber, mu is let go for a short sleep and
 * taken again: a spurious wakeup, which every caller of a condition
 * variable already expects, and no wakeup can be missed for longer.
 */
int nm_cond_wait_until(pthread_cond_t *cv, pthread_mutex_t *mu, int64_t deadline_ms);

/* pthread_mutex_lock until deadline_ms (monotonic): 0, or ETIMEDOUT. */
int nm_mutex_lock_until(pthread_mutex_t *mu, int64_t deadline_ms);

#endif
