/*
 * Inside the tickets stage: the targets ("sinks") an event is delivered to,
 * and the helpers they share.  One function per kind of target, each
 * delivering exactly one event with at most one outward side effect that
 * counts (a created issue, a comment, a close), so that a retry after a
 * failure repeats nothing that already happened.
 *
 * Return codes of a sink: 0 delivered; NM_ERR_CONNECT or NM_ERR_TIMEOUT when
 * the target itself is unreachable (the rest of its queue waits for the next
 * run); any other negative code when this event failed (its ticket's later
 * events wait, other tickets go on).
 *
 * jansson ownership: the event is borrowed.
 */
#ifndef NM_TICKETS_SINK_H
#define NM_TICKETS_SINK_H

#include <jansson.h>
#include <stdint.h>

#include "nearmiss/error.h"
#include "nearmiss/tickets.h"
#include "nearmiss/util.h"

struct nm_sink_call {
    const struct nm_ticket_options *o;
    const struct nm_ticket_target *t;
    const json_t *event;
    int64_t event_id;      /* ticket_queue.id: stable across retries */
    const char *remote_id; /* the ticket's issue number / key, NULL before it exists */
    char *new_remote_id;   /* set (malloc'd) by a sink that created the remote ticket */
};

int nm_sink_exec(struct nm_sink_call *c, nm_diag *d);
int nm_sink_dir(struct nm_sink_call *c, nm_diag *d);
int nm_sink_pagerduty(struct nm_sink_call *c, nm_diag *d);
int nm_sink_github(struct nm_sink_call *c, nm_diag *d);
int nm_sink_jira(struct nm_sink_call *c, nm_diag *d);

/* ---- HTTP (libcurl) ---- */

#define NM_HTTP_BODY_CAP (1u << 20)

struct nm_http_auth {
    const char *bearer; /* Authorization: Bearer */
    const char *user;   /* basic auth, with password */
    const char *password;
};

/* One request with TLS verified, no redirects, http/https only, connect and
 * total deadlines from o, the response body capped.  *ret_status is the HTTP
 * status (any); *ret_body the body (malloc'd, NUL-terminated).  Transport
 * failures are NM_ERR_CONNECT / NM_ERR_TIMEOUT / NM_ERR_IO; diagnostics name
 * the method and URL, never a credential. */
int nm_http_request(const struct nm_ticket_options *o, const char *method, const char *url,
                    const char *const *headers, const struct nm_http_auth *auth, const char *body,
                    long *ret_status, char **ret_body, nm_diag *d);
/* A diagnostic for a non-2xx answer: method, URL, status and the start of the
 * body made printable, with every secret in secrets[] (NULL-terminated)
 * blanked out.  Returns NM_ERR_IO. */
int nm_http_fail(nm_diag *d, const char *method, const char *url, long status, const char *body,
                 const char *const *secrets);
/* The base URL without trailing slashes, followed by the printf-formatted path. */
char *nm_http_url(const char *base, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- Text ---- */

/* The ticket as Markdown (title line, fields, message, evidence, remediation;
 * host text escaped or fenced so it renders as text).  Appends to b. */
void nm_ticket_markdown(const json_t *event, struct nm_buf *b);
/* Inline Markdown-safe text: punctuation backslash-escaped, control
 * characters as spaces. */
void nm_md_inline(struct nm_buf *b, const char *s);
/* s inside a fenced code block whose fence is longer than any run of
 * backticks in s. */
void nm_md_fenced(struct nm_buf *b, const char *s);
/* A string member of the event, or "" */
const char *nm_ev_str(const json_t *event, const char *key);

#endif
