/*
 * pagerduty:ROUTING_KEY — Events API v2: POST BASE/v2/enqueue with
 * event_action "trigger" for open and update (the same dedup_key updates the
 * same alert) and "resolve" for resolve.  202 means accepted.
 */
#include <string.h>

#include "nearmiss/tickets.h"
#include "tickets/sink.h"

/* PagerDuty knows four severities; nearmiss's low and info are both "info". */
static const char *pd_severity(const char *s)
{
    if (strcmp(s, "critical") == 0)
        return "critical";
    if (strcmp(s, "high") == 0)
        return "error";
    if (strcmp(s, "medium") == 0)
        return "warning";
    return "info";
}

static json_t *str_or_null(const char *s)
{
    return *s ? json_string(s) : json_null();
}

static json_t *body_for(const struct nm_sink_call *c)
{
    const json_t *e = c->event;
    const char *action = nm_ev_str(e, "action");
    bool resolve = strcmp(action, "resolve") == 0;
    json_t *b = json_object();
    json_object_set_new(b, "routing_key", json_string(c->t->arg));
    json_object_set_new(b, "event_action", json_string(resolve ? "resolve" : "trigger"));
    json_object_set_new(b, "dedup_key", json_string(nm_ev_str(e, "dedup_key")));
    if (resolve)
        return b;
    json_t *details = json_object();
    static const char *const keys[] = {"check",   "subject",  "severity",    "previous_severity",
                                       "message", "evidence", "remediation", "first_seen",
                                       "category"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        json_object_set_new(details, keys[i], str_or_null(nm_ev_str(e, keys[i])));
    json_object_set_new(details, "nearmiss_action", json_string(action));
    if (json_is_array(json_object_get(e, "hosts")))
        json_object_set(details, "hosts", json_object_get(e, "hosts"));
    const char *summary = nm_ev_str(e, "summary");
    const char *host = nm_ev_str(e, "host");
    /* summary is limited to 1024 characters by the API. */
    char sum[1025];
    snprintf(sum, sizeof sum, "%s", *summary ? summary : nm_ev_str(e, "dedup_key"));
    json_t *payload = json_pack(
        "{s:s, s:s, s:s, s:s, s:s, s:o}", "summary", sum, "source", *host ? host : "fleet",
        "severity", pd_severity(nm_ev_str(e, "severity")), "component", nm_ev_str(e, "check"),
        "class", nm_ev_str(e, "category"), "custom_details", details);
    json_object_set_new(b, "payload", payload ? payload : json_object());
    json_object_set_new(b, "client", json_string("nearmiss"));
    return b;
}

int nm_sink_pagerduty(struct nm_sink_call *c, nm_diag *d)
{
    const char *base = c->o->pagerduty_url ? c->o->pagerduty_url : NM_TICKET_DEFAULT_PAGERDUTY_URL;
    char *url = nm_http_url(base, "/v2/enqueue");
    json_t *b = body_for(c);
    char *body = json_dumps(b, JSON_COMPACT);
    static const char *const headers[] = {"Content-Type: application/json",
                                          "Accept: application/json", NULL};
    const char *secrets[] = {c->t->arg, NULL};
    long status = 0;
    char *resp = NULL;
    int r = nm_http_request(c->o, "POST", url, headers, NULL, body, &status, &resp, d);
    if (r == 0 && (status < 200 || status > 299))
        r = nm_http_fail(d, "POST", url, status, resp, secrets);
    free(body);
    free(resp);
    free(url);
    json_decref(b);
    return r;
}
