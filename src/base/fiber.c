/* Many host scans on one thread (nearmiss/fiber.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include "nearmiss/fiber.h"
#include "nearmiss/time.h"
#include "nearmiss/util.h"

/* A sanitizer or valgrind must be told when the stack changes under it. */
#if defined(__SANITIZE_ADDRESS__)
#define NM_ASAN_FIBERS 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define NM_ASAN_FIBERS 1
#endif
#endif
#ifdef NM_ASAN_FIBERS
#include <sanitizer/common_interface_defs.h>
#endif
#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define NM_VALGRIND_STACKS 1
#endif
#endif

/* How long a fiber sleeps between two looks at a condition variable or a
 * lock another thread holds: the longest a wakeup is late, and no cost
 * worth counting (only --max-per, jump hosts and DNS lookups wait so). */
#define COND_SLICE_MS 2
/* Slices of a plain timed lock, on the wall clock (see nm_mutex_lock_until). */
#define LOCK_SLICE_MS 50

enum fiber_state { FIBER_READY, FIBER_WAITING, FIBER_DONE };

struct fiber {
    ucontext_t ctx;
    char *map; /* the mapping: guard page, then the stack */
    size_t map_len;
    enum fiber_state state;
    int wait_fd;       /* -1: a sleep */
    short want, got;   /* poll events asked for, and those that came */
    int64_t wake_at;   /* nm_now_ms() at which the wait ends; INT64_MAX: never */
    void *asan_fake;   /* AddressSanitizer's state of this stack while away */
    unsigned vg_stack; /* valgrind's id of the stack */
};

struct sched {
    ucontext_t main;
    struct fiber *fibers;
    size_t n, live;
    struct fiber *cur;
    int epfd;
    void (*body)(void *);
    void *arg;
    /* The thread's own stack, for AddressSanitizer. */
    const void *main_bottom;
    size_t main_size;
    void *main_fake;
};

static _Thread_local struct sched *tls_sched;

static void switch_begin(void **save, const void *bottom, size_t size)
{
#ifdef NM_ASAN_FIBERS
    __sanitizer_start_switch_fiber(save, bottom, size);
#else
    (void)save, (void)bottom, (void)size;
#endif
}

static void switch_end(void *save, const void **old_bottom, size_t *old_size)
{
#ifdef NM_ASAN_FIBERS
    __sanitizer_finish_switch_fiber(save, old_bottom, old_size);
#else
    (void)save, (void)old_bottom, (void)old_size;
#endif
}

static size_t page_size(void)
{
    long p = sysconf(_SC_PAGESIZE);
    return p > 0 ? (size_t)p : 4096;
}

/* From the fiber to the scheduler; back when the scheduler resumes it. */
static void yield(struct sched *s)
{
    struct fiber *f = s->cur;
    switch_begin(&f->asan_fake, s->main_bottom, s->main_size);
    swapcontext(&f->ctx, &s->main);
    switch_end(f->asan_fake, NULL, NULL);
}

static void fiber_main(void)
{
    struct sched *s = tls_sched;
    switch_end(NULL, &s->main_bottom, &s->main_size);
    s->body(s->arg);
    struct fiber *f = s->cur;
    f->state = FIBER_DONE;
    s->live--;
    /* Never resumed: the stack goes with it (NULL: nothing to keep). */
    switch_begin(NULL, s->main_bottom, s->main_size);
    swapcontext(&f->ctx, &s->main);
    abort(); /* unreachable */
}

static void resume(struct sched *s, struct fiber *f)
{
    s->cur = f;
    switch_begin(&s->main_fake, f->map + page_size(), f->map_len - page_size());
    swapcontext(&s->main, &f->ctx);
    switch_end(s->main_fake, NULL, NULL);
    s->cur = NULL;
}

static bool fiber_make(struct fiber *f, size_t stack_size)
{
    size_t pg = page_size();
    size_t len = pg + (stack_size + pg - 1) / pg * pg;
    char *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (m == MAP_FAILED)
        return false;
    /* A stack overflow faults on the guard page instead of writing into
     * whatever lies below. */
    if (mprotect(m, pg, PROT_NONE) < 0 || getcontext(&f->ctx) < 0) {
        munmap(m, len);
        return false;
    }
    f->map = m;
    f->map_len = len;
    f->ctx.uc_stack.ss_sp = m + pg;
    f->ctx.uc_stack.ss_size = len - pg;
    f->ctx.uc_link = NULL;
    makecontext(&f->ctx, fiber_main, 0);
    f->state = FIBER_READY;
    f->wait_fd = -1;
    f->wake_at = INT64_MAX;
#ifdef NM_VALGRIND_STACKS
    f->vg_stack = VALGRIND_STACK_REGISTER(m + pg, m + len);
#endif
    return true;
}

static void fiber_unmake(struct fiber *f)
{
#ifdef NM_VALGRIND_STACKS
    VALGRIND_STACK_DEREGISTER(f->vg_stack);
#endif
    munmap(f->map, f->map_len);
}

static uint32_t to_epoll(short ev)
{
    return (ev & POLLIN ? EPOLLIN : 0u) | (ev & POLLOUT ? EPOLLOUT : 0u) |
           (ev & POLLPRI ? EPOLLPRI : 0u);
}

static short from_epoll(uint32_t ev)
{
    return (short)((ev & EPOLLIN ? POLLIN : 0) | (ev & EPOLLOUT ? POLLOUT : 0) |
                   (ev & EPOLLPRI ? POLLPRI : 0) | (ev & EPOLLERR ? POLLERR : 0) |
                   (ev & EPOLLHUP ? POLLHUP : 0));
}

/*
 * Watches fd for what every fiber waiting on it wants, once (EPOLLONESHOT:
 * a descriptor nobody waits on any more stays quiet, and one closed is
 * forgotten by the kernel).  Two fibers of a thread may wait on one
 * descriptor (hosts behind one jump host share its socket).
 */
static int arm(struct sched *s, int fd)
{
    short want = 0;
    for (size_t i = 0; i < s->n; i++)
        if (s->fibers[i].state == FIBER_WAITING && s->fibers[i].wait_fd == fd)
            want |= s->fibers[i].want;
    if (!want)
        return 0;
    struct epoll_event e = {.events = to_epoll(want) | EPOLLONESHOT, .data.fd = fd};
    if (epoll_ctl(s->epfd, EPOLL_CTL_MOD, fd, &e) == 0)
        return 0;
    if (errno != ENOENT)
        return -1;
    return epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &e);
}

int nm_poll1(struct pollfd *p, int timeout_ms)
{
    struct sched *s = tls_sched;
    if (!s || !s->cur)
        return poll(p, 1, timeout_ms);
    struct fiber *f = s->cur;
    f->state = FIBER_WAITING;
    f->wait_fd = p->fd;
    f->want = p->events;
    f->got = 0;
    f->wake_at = timeout_ms < 0 ? INT64_MAX : nm_now_ms() + timeout_ms;
    if (p->fd >= 0 && arm(s, p->fd) < 0) {
        /* A descriptor epoll cannot watch (a regular file): the plain way. */
        f->state = FIBER_READY;
        f->wait_fd = -1;
        return poll(p, 1, timeout_ms);
    }
    yield(s);
    p->revents = f->got;
    f->wait_fd = -1;
    return f->got ? 1 : 0;
}

void nm_sleep_ms(int64_t ms)
{
    if (ms < 0)
        ms = 0;
    if (!nm_in_fiber()) {
        struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
            ;
        return;
    }
    struct pollfd p = {.fd = -1};
    nm_poll1(&p, ms > INT32_MAX ? INT32_MAX : (int)ms);
}

bool nm_in_fiber(void)
{
    return tls_sched && tls_sched->cur;
}

static struct timespec mono_abs(int64_t ms)
{
    if (ms < 0)
        ms = 0;
    return (struct timespec){.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
}

int nm_cond_wait_until(pthread_cond_t *cv, pthread_mutex_t *mu, int64_t deadline_ms)
{
    if (!nm_in_fiber()) {
        if (deadline_ms == INT64_MAX)
            return pthread_cond_wait(cv, mu);
        struct timespec ts = mono_abs(deadline_ms);
        return pthread_cond_timedwait(cv, mu, &ts) == ETIMEDOUT ? ETIMEDOUT : 0;
    }
    int64_t left = deadline_ms == INT64_MAX ? COND_SLICE_MS : deadline_ms - nm_now_ms();
    if (left <= 0)
        return ETIMEDOUT;
    pthread_mutex_unlock(mu);
    nm_sleep_ms(left < COND_SLICE_MS ? left : COND_SLICE_MS);
    pthread_mutex_lock(mu);
    return 0;
}

int nm_mutex_lock_until(pthread_mutex_t *mu, int64_t deadline_ms)
{
    if (pthread_mutex_trylock(mu) == 0)
        return 0;
    for (;;) {
        int64_t left = deadline_ms - nm_now_ms();
        if (left <= 0)
            return ETIMEDOUT;
        if (nm_in_fiber()) {
            /* The holder may be a fiber of this very thread: it can only
             * let go if this one lets the thread run. */
            nm_sleep_ms(left < COND_SLICE_MS ? left : COND_SLICE_MS);
            if (pthread_mutex_trylock(mu) == 0)
                return 0;
            continue;
        }
        /* pthread_mutex_timedlock counts on the wall clock; the deadline is
         * on the monotonic one.  Short slices, each checked against the
         * deadline, keep a step of the wall clock from stretching the wait.
         * (pthread_mutex_clocklock would avoid the slices, but
         * ThreadSanitizer does not see it.) */
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        int64_t until = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000 +
                        (left < LOCK_SLICE_MS ? left : LOCK_SLICE_MS);
        struct timespec ts = mono_abs(until);
        int e = pthread_mutex_timedlock(mu, &ts);
        if (e == 0)
            return 0;
        if (e != ETIMEDOUT)
            return ETIMEDOUT;
    }
}

/* The fibers whose waits end: the events epoll gave, then the clock. */
static void wake(struct sched *s, const struct epoll_event *ev, int k)
{
    for (int e = 0; e < k; e++) {
        int fd = ev[e].data.fd;
        short got = from_epoll(ev[e].events);
        bool left_waiting = false;
        for (size_t i = 0; i < s->n; i++) {
            struct fiber *f = &s->fibers[i];
            if (f->state != FIBER_WAITING || f->wait_fd != fd)
                continue;
            short mine = (short)(got & (f->want | POLLERR | POLLHUP));
            if (mine) {
                f->got = mine;
                f->state = FIBER_READY;
            } else {
                left_waiting = true;
            }
        }
        /* One-shot: the others on fd (another direction) need it again. */
        if (left_waiting)
            arm(s, fd);
    }
    int64_t now = nm_now_ms();
    for (size_t i = 0; i < s->n; i++) {
        struct fiber *f = &s->fibers[i];
        if (f->state == FIBER_WAITING && f->wake_at <= now) {
            f->got = 0;
            f->state = FIBER_READY;
        }
    }
}

int nm_fibers_run(size_t n, size_t stack_size, void (*body)(void *arg), void *arg)
{
    struct sched s = {.epfd = -1, .body = body, .arg = arg};
    if (n == 0)
        return 0;
    s.epfd = epoll_create1(EPOLL_CLOEXEC);
    if (s.epfd < 0)
        return -1;
    s.fibers = nm_xcalloc(n, sizeof *s.fibers);
    while (s.n < n && fiber_make(&s.fibers[s.n], stack_size))
        s.n++;
    if (s.n == 0) {
        free(s.fibers);
        close(s.epfd);
        return -1;
    }
    s.live = s.n;
    tls_sched = &s;
    struct epoll_event ev[64];
    while (s.live) {
        for (size_t i = 0; i < s.n; i++)
            if (s.fibers[i].state == FIBER_READY)
                resume(&s, &s.fibers[i]);
        if (!s.live)
            break;
        /* Every fiber waits now: until the first of their timeouts. */
        int64_t first = INT64_MAX;
        for (size_t i = 0; i < s.n; i++)
            if (s.fibers[i].state == FIBER_WAITING && s.fibers[i].wake_at < first)
                first = s.fibers[i].wake_at;
        int timeout = -1;
        if (first != INT64_MAX) {
            int64_t left = first - nm_now_ms();
            timeout = left <= 0 ? 0 : left > INT32_MAX ? INT32_MAX : (int)left;
        }
        int k = epoll_wait(s.epfd, ev, (int)(sizeof ev / sizeof ev[0]), timeout);
        wake(&s, ev, k > 0 ? k : 0);
    }
    tls_sched = NULL;
    for (size_t i = 0; i < s.n; i++)
        fiber_unmake(&s.fibers[i]);
    free(s.fibers);
    close(s.epfd);
    return 0;
}
