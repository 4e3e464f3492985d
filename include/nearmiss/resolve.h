/*
 * Name resolution inside a deadline.  getaddrinfo() has no timeout of its
 * own: a resolver that never answers holds the caller for the resolver's
 * own retries (resolv.conf timeout x attempts x servers), far past a host's
 * deadline.  Here a name that is not an address literal is looked up on a
 * thread of its own while the caller waits at most until its deadline; a
 * lookup that loses the race finishes in the background and frees its own
 * result.  Address literals never leave the calling thread.
 */
#ifndef NEARMISS_RESOLVE_H
#define NEARMISS_RESOLVE_H

#include <netdb.h>
#include <stdint.h>

/*
 * getaddrinfo(host, port, hints) answered before deadline_ms (the
 * nm_now_ms() clock).  0 and *ret (free it with freeaddrinfo) on success;
 * NM_ERR_TIMEOUT when no answer came in time; NM_ERR_NOTFOUND with
 * *ret_gai_error set to getaddrinfo's code when it failed, or
 * NM_ERR_NOMEM (*ret_gai_error EAI_MEMORY) when no lookup thread could start.
 */
int nm_resolve(const char *host, const char *port, const struct addrinfo *hints,
               int64_t deadline_ms, struct addrinfo **ret, int *ret_gai_error);

#endif
