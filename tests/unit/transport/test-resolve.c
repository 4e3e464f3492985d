/*
 * nm_resolve: address literals answer at once, whatever the deadline; a
 * name is looked up only while the deadline lasts; getaddrinfo's own errors
 * come back as they are. The resolver that never answers is
 * tests/fleet/test-dns.sh (it needs a mount namespace).
 */
#include <netdb.h>
#include <pthread.h>
#include <stdlib.h>

#include "nearmiss/error.h"
#include "nearmiss/resolve.h"
#include "nearmiss/util.h"
#include "test.h"

static const struct addrinfo tcp = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};

static void *resolve_localhost(void *arg)
{
    struct addrinfo *res = NULL;
    int gai = 0;
    int r = nm_resolve("localhost", "22", &tcp, nm_now_ms() + 10000, &res, &gai);
    freeaddrinfo(res);
    *(int *)arg = r;
    return NULL;
}

int main(void)
{
    struct addrinfo *res = NULL;
    int gai = 0;

    /* A literal never waits: even with the deadline long gone. */
    CHECK_INT(nm_resolve("127.0.0.1", "22", &tcp, nm_now_ms() - 1000, &res, &gai), 0);
    CHECK(res && res->ai_family == AF_INET);
    freeaddrinfo(res);
    res = NULL;
    CHECK_INT(nm_resolve("::1", "22", &tcp, nm_now_ms() - 1000, &res, &gai), 0);
    CHECK(res && res->ai_family == AF_INET6);
    freeaddrinfo(res);
    res = NULL;

    /* A name with no time left is not looked up at all. */
    CHECK_INT(nm_resolve("host.nearmiss.test", "22", &tcp, nm_now_ms() - 1, &res, &gai),
              NM_ERR_TIMEOUT);
    CHECK(res == NULL);

    /* A name when only literals are allowed: getaddrinfo's answer. */
    struct addrinfo numeric_only = tcp;
    numeric_only.ai_flags |= AI_NUMERICHOST;
    CHECK_INT(nm_resolve("localhost", "22", &numeric_only, nm_now_ms() + 5000, &res, &gai),
              NM_ERR_NOTFOUND);
    CHECK_INT(gai, EAI_NONAME);

    /* A bad service is getaddrinfo's error too, not a timeout. */
    CHECK_INT(nm_resolve("127.0.0.1", "no-such-port", &tcp, nm_now_ms() + 5000, &res, &gai),
              NM_ERR_NOTFOUND);

    /* /etc/hosts names go through the lookup thread; many at once. */
    enum { N = 32 };
    pthread_t t[N];
    int r[N];
    for (int i = 0; i < N; i++) {
        r[i] = 1;
        CHECK_INT(pthread_create(&t[i], NULL, resolve_localhost, &r[i]), 0);
    }
    for (int i = 0; i < N; i++) {
        pthread_join(t[i], NULL);
        CHECK_INT(r[i], 0);
    }
    return test_result();
}
