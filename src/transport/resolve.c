/* Name resolution inside a deadline (nearmiss/resolve.h). */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nearmiss/error.h"
#include "nearmiss/fiber.h"
#include "nearmiss/resolve.h"
#include "nearmiss/util.h"

/* NSS modules run on this stack (files, dns, perhaps mdns or systemd). */
#define LOOKUP_STACK (256u << 10)

/*
 * One lookup, shared by the waiting caller and the thread that resolves.
 * Whichever of the two lets go last frees it, so the caller may give up at
 * its deadline without waiting for the thread and without a race on the
 * result: the result is taken or freed under the lock.
 */
struct lookup {
    pthread_mutex_t lock;
    pthread_cond_t answered;
    int holders; /* the caller and the thread, 2 at the start */
    bool done;
    int gai_error;
    struct addrinfo *result;
    struct addrinfo hints;
    char *host, *port;
};

static void lookup_release(struct lookup *l)
{
    /* Called with the lock held; unlocks it. */
    bool last = --l->holders == 0;
    pthread_mutex_unlock(&l->lock);
    if (!last)
        return;
    if (l->result)
        freeaddrinfo(l->result); /* the caller gave up before the answer came */
    pthread_cond_destroy(&l->answered);
    pthread_mutex_destroy(&l->lock);
    free(l->host);
    free(l->port);
    free(l);
}

static void *lookup_thread(void *arg)
{
    struct lookup *l = arg;
    struct addrinfo *res = NULL;
    int g = getaddrinfo(l->host, l->port, &l->hints, &res);
    pthread_mutex_lock(&l->lock);
    l->done = true;
    l->gai_error = g;
    l->result = g == 0 ? res : NULL;
    pthread_cond_signal(&l->answered);
    lookup_release(l);
    return NULL;
}

static struct lookup *lookup_create(const char *host, const char *port,
                                    const struct addrinfo *hints)
{
    struct lookup *l = nm_xcalloc(1, sizeof *l);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    /* The deadline is on the monotonic clock (nm_now_ms). */
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&l->answered, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&l->lock, NULL);
    l->holders = 2;
    l->hints = *hints;
    l->hints.ai_addr = NULL;
    l->hints.ai_canonname = NULL;
    l->hints.ai_next = NULL;
    l->host = nm_xstrdup(host);
    l->port = port ? nm_xstrdup(port) : NULL;
    return l;
}

int nm_resolve(const char *host, const char *port, const struct addrinfo *hints,
               int64_t deadline_ms, struct addrinfo **ret, int *ret_gai_error)
{
    struct addrinfo numeric = *hints, *res = NULL;
    numeric.ai_flags |= AI_NUMERICHOST;
    int g = getaddrinfo(host, port, &numeric, &res);
    if (g == 0) {
        *ret = res;
        return 0;
    }
    if (g != EAI_NONAME || (hints->ai_flags & AI_NUMERICHOST)) {
        *ret_gai_error = g;
        return NM_ERR_NOTFOUND;
    }
    if (nm_now_ms() >= deadline_ms)
        return NM_ERR_TIMEOUT;

    struct lookup *l = lookup_create(host, port, hints);
    pthread_attr_t attr;
    pthread_t tid;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, LOOKUP_STACK);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    int pr = pthread_create(&tid, &attr, lookup_thread, l);
    pthread_attr_destroy(&attr);
    pthread_mutex_lock(&l->lock);
    if (pr != 0) {
        l->holders = 1; /* no thread: the caller is the only holder */
        lookup_release(l);
        *ret_gai_error = EAI_MEMORY;
        return NM_ERR_NOMEM;
    }
    while (!l->done) {
        if (nm_cond_wait_until(&l->answered, &l->lock, deadline_ms) == ETIMEDOUT)
            break;
    }
    int r;
    if (!l->done) {
        r = NM_ERR_TIMEOUT;
    } else if (l->gai_error != 0) {
        *ret_gai_error = l->gai_error;
        r = NM_ERR_NOTFOUND;
    } else {
        *ret = l->result;
        l->result = NULL;
        r = 0;
    }
    lookup_release(l);
    return r;
}
