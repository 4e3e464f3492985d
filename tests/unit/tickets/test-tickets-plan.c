/*
 * Ticket planning as sequences of runs: each step is a report, the states
 * the previous steps left are carried over as the database would, and the
 * events of the step are compared as "action:fingerprint[:previous>severity]".
 */
#include <stdlib.h>
#include <string.h>

#include "nearmiss/hostiter.h"
#include "nearmiss/model.h"
#include "nearmiss/tickets.h"
#include "nearmiss/util.h"
#include "test.h"

struct states {
    struct nm_ticket_state *v;
    size_t n;
};

static void keep(struct states *s, const struct nm_ticket_state *changed)
{
    for (size_t i = 0; i < s->n; i++) {
        if (strcmp(s->v[i].fingerprint, changed->fingerprint) == 0) {
            nm_ticket_state_finish(&s->v[i]);
            s->v[i] = *changed;
            return;
        }
    }
    s->v = nm_xreallocarray(s->v, s->n + 1, sizeof *s->v);
    s->v[s->n++] = *changed;
}

static void states_free(struct states *s)
{
    for (size_t i = 0; i < s->n; i++)
        nm_ticket_state_finish(&s->v[i]);
    free(s->v);
    s->v = NULL;
    s->n = 0;
}

static json_t *last_events;

/* A run whose hosts wait on disk: report["hosts"] holds summaries (name and
 * status) and the whole hosts come through an iterator.  The events must be
 * those planned from the report held whole. */
static void same_through_iterator(const struct states *s, const json_t *report, int min,
                                  int64_t now, const struct nm_ticket_plan *want)
{
    json_t *slim = json_copy((json_t *)report);
    json_t *sums = json_array();
    size_t i;
    const json_t *h;
    json_array_foreach (json_object_get(report, "hosts"), i, h)
        json_array_append_new(sums, json_pack("{s:O?, s:O?}", "name", json_object_get(h, "name"),
                                              "status", json_object_get(h, "status")));
    json_object_set_new(slim, "hosts", sums);
    struct nm_host_iter_array_state st;
    struct nm_host_iter it;
    nm_host_iter_array(&it, &st, report);
    st.pos = 1; /* planning rewinds first */
    struct nm_ticket_plan p;
    nm_diag d = {{0}};
    CHECK_INT(nm_tickets_plan_events(s->v, s->n, slim, &it, min, now, &p, &d), 0);
    CHECK_INT(p.n_events, want->n_events);
    for (size_t k = 0; k < p.n_events && k < want->n_events; k++)
        CHECK(json_equal(p.events[k], want->events[k]));
    CHECK_INT(p.n_states, want->n_states);
    nm_ticket_plan_finish(&p);
    json_decref(slim);
}

static int failing_next(void *ctx, const json_t **ret_host, nm_diag *d)
{
    (void)ctx;
    (void)ret_host;
    return nm_diag_set(d, NM_ERR_IO, "host 0 does not read back");
}

static int plain_rewind(void *ctx, nm_diag *d)
{
    (void)ctx;
    (void)d;
    return 0;
}

/* Plans one run over report (JSON text) and returns its events in short form. */
static char *step(struct states *s, const char *report_text, int min, int64_t now)
{
    json_error_t err;
    json_t *report = json_loads(report_text, 0, &err);
    if (!report) {
        fprintf(stderr, "bad test report: %s\n", err.text);
        exit(2);
    }
    struct nm_ticket_plan p;
    nm_diag d = {{0}};
    int r = nm_tickets_plan_events(s->v, s->n, report, NULL, min, now, &p, &d);
    CHECK_INT(r, 0);
    if (r == 0)
        same_through_iterator(s, report, min, now, &p);
    struct nm_buf out;
    nm_buf_init(&out, 1u << 20);
    json_decref(last_events);
    last_events = json_array();
    for (size_t i = 0; r == 0 && i < p.n_events; i++) {
        const json_t *e = p.events[i];
        json_array_append(last_events, (json_t *)e);
        const char *prev = json_string_value(json_object_get(e, "previous_severity"));
        nm_buf_appendf(&out, "%s%s:%s", i ? " " : "",
                       json_string_value(json_object_get(e, "action")),
                       json_string_value(json_object_get(e, "dedup_key")));
        if (strcmp(json_string_value(json_object_get(e, "action")), "open") != 0)
            nm_buf_appendf(&out, ":%s>%s", prev ? prev : "null",
                           json_string_value(json_object_get(e, "severity")));
    }
    for (size_t i = 0; r == 0 && i < p.n_states; i++)
        keep(s, &p.states[i]);
    /* The states now belong to s. */
    free(p.states);
    p.states = NULL;
    p.n_states = 0;
    nm_ticket_plan_finish(&p);
    json_decref(report);
    return nm_buf_steal(&out, NULL);
}

#define STEP(s, report, min, expect)                                                               \
    do {                                                                                           \
        char *got_ = step(s, report, min, now);                                                    \
        CHECK_STR(got_, expect);                                                                   \
        free(got_);                                                                                \
        now += 86400;                                                                              \
    } while (0)

/* A report with host web1 (status) and one finding per "fp:severity[:w]". */
static char *report1(const char *status, const char *findings, const char *resolved)
{
    struct nm_buf b;
    nm_buf_init(&b, 1u << 20);
    nm_buf_appendf(&b,
                   "{\"schema\":\"nearmiss.report/1\",\"hosts\":[{\"name\":\"web1\","
                   "\"status\":\"%s\",\"findings\":[",
                   status);
    char *list = nm_xstrdup(findings);
    int n = 0;
    for (char *tok = list, *next; tok && *tok; tok = next) {
        next = strchr(tok, ' ');
        if (next)
            *next++ = '\0';
        char *sev = strchr(tok, ':');
        *sev++ = '\0';
        char *w = strchr(sev, ':');
        if (w)
            *w++ = '\0';
        nm_buf_appendf(&b,
                       "%s{\"check\":\"cert-expiry\",\"category\":\"cert\",\"severity\":\"%s\","
                       "\"subject\":\"/etc/ssl/%s.pem\",\"message\":\"expires soon\","
                       "\"fingerprint\":\"%s\",\"evidence\":\"notAfter=...\","
                       "\"remediation\":\"renew it\",\"change\":\"new\","
                       "\"first_seen\":\"2026-11-01T02:00:00Z\",\"waived\":%s}",
                       n++ ? "," : "", sev, tok, tok, w ? "true" : "false");
    }
    free(list);
    nm_buf_appendf(&b, "]}],\"fleet_findings\":[],\"resolved\":[%s]}", resolved ? resolved : "");
    return nm_buf_steal(&b, NULL);
}

#define RES(fp) "{\"host\":\"web1\",\"fingerprint\":\"" fp "\",\"severity\":\"high\"}"

static void test_lifecycle(void)
{
    struct states s = {0};
    int64_t now = 1795000000;
    char *r;
#define RUN(status, findings, resolved, expect)                                                    \
    do {                                                                                           \
        r = report1(status, findings, resolved);                                                   \
        STEP(&s, r, NM_SEV_HIGH, expect);                                                          \
        free(r);                                                                                   \
    } while (0)
    RUN("ok", "a:medium", NULL, "");                         /* below the minimum: nothing */
    RUN("ok", "a:high", NULL, "open:a");                     /* reaches it: open */
    RUN("ok", "a:high", NULL, "");                           /* nightly: nothing */
    RUN("ok", "a:critical", NULL, "update:a:high>critical"); /* worse: one update */
    RUN("ok", "a:critical", NULL, "");
    RUN("ok", "a:high", NULL, "update:a:critical>high");      /* better but still high: update */
    RUN("unreachable", "", NULL, "");                         /* unknown: nothing */
    RUN("ok", "a:high", NULL, "");                            /* back, unchanged: no reopen */
    RUN("ok", "", RES("a"), "resolve:a:high>high");           /* resolved */
    RUN("ok", "", RES("a"), "");                              /* never twice */
    RUN("ok", "a:critical", NULL, "open:a");                  /* it came back: a new ticket */
    RUN("ok", "a:medium", NULL, "resolve:a:critical>medium"); /* below the minimum */
    RUN("ok", "a:medium", NULL, "");
    RUN("ok", "a:low", NULL, ""); /* closed: changes are silent */
    states_free(&s);
}

static void test_waived(void)
{
    struct states s = {0};
    int64_t now = 1795000000;
    char *r;
    RUN("ok", "w:critical:w", NULL, "");     /* an accepted risk opens nothing */
    RUN("ok", "w:critical", NULL, "open:w"); /* the waiver lapsed */
    RUN("ok", "w:critical:w", NULL, "resolve:w:critical>critical");
    CHECK_STR(json_string_value(json_object_get(json_array_get(last_events, 0), "reason")),
              "waived");
    RUN("ok", "w:critical:w", NULL, "");
    states_free(&s);
}

static void test_many_and_duplicates(void)
{
    struct states s = {0};
    int64_t now = 1795000000;
    char *r;
    RUN("ok", "a:high b:critical c:low a:critical", NULL, "open:a open:b");
    RUN("ok", "a:high b:critical c:critical", RES("zz"), "open:c");
    /* Resolved and still present cannot both hold; presence wins. */
    RUN("ok", "a:high b:critical c:critical", RES("a"), "");
    RUN("ok", "b:high", RES("a") "," RES("c"),
        "update:b:critical>high resolve:a:high>high "
        "resolve:c:critical>high");
    states_free(&s);
}

static void test_min_severity(void)
{
    struct states s = {0};
    int64_t now = 1795000000;
    char *r = report1("ok", "a:high b:critical", NULL);
    STEP(&s, r, NM_SEV_CRITICAL, "open:b");
    free(r);
    r = report1("ok", "a:medium b:critical", NULL);
    STEP(&s, r, NM_SEV_MEDIUM, "open:a");
    free(r);
    states_free(&s);
}

static const char fleet_open[] =
    "{\"hosts\":[{\"name\":\"db1\",\"status\":\"ok\",\"findings\":[]},"
    "{\"name\":\"db2\",\"status\":\"ok\",\"findings\":[]}],"
    "\"fleet_findings\":[{\"check\":\"role-redundancy\",\"category\":\"spof\","
    "\"severity\":\"high\",\"subject\":\"role db\",\"hosts\":[\"db1\"],"
    "\"message\":\"1 of 2 healthy\",\"fingerprint\":\"f1\"}]}";
static const char fleet_gone_partial[] =
    "{\"hosts\":[{\"name\":\"db1\",\"status\":\"ok\",\"findings\":[]},"
    "{\"name\":\"db2\",\"status\":\"timeout\",\"findings\":[]}],\"fleet_findings\":[]}";
static const char fleet_gone[] =
    "{\"hosts\":[{\"name\":\"db1\",\"status\":\"ok\",\"findings\":[]},"
    "{\"name\":\"db2\",\"status\":\"ok\",\"findings\":[]}],\"fleet_findings\":[]}";

static void test_fleet(void)
{
    struct states s = {0};
    int64_t now = 1795000000;
    STEP(&s, fleet_open, NM_SEV_HIGH, "open:f1");
    const json_t *e = json_array_get(last_events, 0);
    CHECK(json_is_null(json_object_get(e, "host")));
    CHECK_STR(json_string_value(json_array_get(json_object_get(e, "hosts"), 0)), "db1");
    STEP(&s, fleet_gone_partial, NM_SEV_HIGH, ""); /* a host missing: unknown */
    STEP(&s, fleet_gone, NM_SEV_HIGH, "resolve:f1:high>high");
    STEP(&s, fleet_gone, NM_SEV_HIGH, "");
    states_free(&s);
}

/* The event is exactly the contract's nearmiss.ticket/1, plus additions. */
static void test_event_shape(void)
{
    struct states s = {0};
    int64_t now = 1794967200; /* 2026-11-18T02:00:00Z */
    char *r = report1("ok", "abc:critical", NULL);
    char *got = step(&s, r, NM_SEV_HIGH, now);
    free(r);
    free(got);
    const json_t *e = json_array_get(last_events, 0);
    static const char *const keys[] = {
        "schema",     "action",   "dedup_key",         "host",    "check",   "category",
        "subject",    "severity", "previous_severity", "summary", "message", "remediation",
        "first_seen", "at"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        if (!json_object_get(e, keys[i]))
            fprintf(stderr, "missing %s\n", keys[i]);
        CHECK(json_object_get(e, keys[i]) != NULL);
    }
    CHECK_STR(json_string_value(json_object_get(e, "schema")), "nearmiss.ticket/1");
    CHECK_STR(json_string_value(json_object_get(e, "action")), "open");
    CHECK_STR(json_string_value(json_object_get(e, "dedup_key")), "abc");
    CHECK_STR(json_string_value(json_object_get(e, "host")), "web1");
    CHECK_STR(json_string_value(json_object_get(e, "check")), "cert-expiry");
    CHECK_STR(json_string_value(json_object_get(e, "category")), "cert");
    CHECK_STR(json_string_value(json_object_get(e, "subject")), "/etc/ssl/abc.pem");
    CHECK_STR(json_string_value(json_object_get(e, "severity")), "critical");
    CHECK(json_is_null(json_object_get(e, "previous_severity")));
    CHECK_STR(json_string_value(json_object_get(e, "summary")),
              "web1: cert-expiry /etc/ssl/abc.pem");
    CHECK_STR(json_string_value(json_object_get(e, "message")), "expires soon");
    CHECK_STR(json_string_value(json_object_get(e, "remediation")), "renew it");
    CHECK_STR(json_string_value(json_object_get(e, "first_seen")), "2026-11-01T02:00:00Z");
    CHECK_STR(json_string_value(json_object_get(e, "at")), "2026-11-18T02:00:00Z");
    CHECK_STR(json_string_value(json_object_get(e, "evidence")), "notAfter=...");
    /* A resolve from the resolved list keeps what the ticket said. */
    char *gone = report1("ok", "",
                         "{\"fingerprint\":\"abc\",\"severity\":\"critical\","
                         "\"resolved_at\":\"2026-11-19T02:00:00Z\"}");
    got = step(&s, gone, NM_SEV_HIGH, now + 86400);
    CHECK_STR(got, "resolve:abc:critical>critical");
    e = json_array_get(last_events, 0);
    CHECK_STR(json_string_value(json_object_get(e, "message")), "expires soon");
    CHECK_STR(json_string_value(json_object_get(e, "first_seen")), "2026-11-01T02:00:00Z");
    CHECK_STR(json_string_value(json_object_get(e, "at")), "2026-11-19T02:00:00Z");
    CHECK_STR(json_string_value(json_object_get(e, "reason")), "resolved");
    free(gone);
    free(got);
    /* ticket_summary from the check wins over the made-up one. */
    char *withsum = nm_xstrdup("{\"hosts\":[{\"name\":\"h\",\"status\":\"ok\",\"findings\":["
                               "{\"check\":\"c\",\"severity\":\"high\",\"fingerprint\":\"s1\","
                               "\"ticket_summary\":\"h: disk / 91% full\"}]}]}");
    got = step(&s, withsum, NM_SEV_HIGH, now);
    CHECK_STR(got, "open:s1");
    CHECK_STR(json_string_value(json_object_get(json_array_get(last_events, 0), "summary")),
              "h: disk / 91% full");
    free(withsum);
    free(got);
    states_free(&s);
}

static void test_bad_input(void)
{
    struct nm_ticket_plan p;
    nm_diag d = {{0}};
    json_t *arr = json_array();
    CHECK(nm_tickets_plan_events(NULL, 0, arr, NULL, NM_SEV_HIGH, 0, &p, &d) == NM_ERR_INVAL);
    json_decref(arr);
    json_t *obj = json_object();
    CHECK(nm_tickets_plan_events(NULL, 0, obj, NULL, 99, 0, &p, &d) == NM_ERR_INVAL);
    /* A report without hosts plans nothing and fails nothing. */
    CHECK_INT(nm_tickets_plan_events(NULL, 0, obj, NULL, NM_SEV_HIGH, 0, &p, &d), 0);
    CHECK_INT(p.n_events, 0);
    nm_ticket_plan_finish(&p);
    /* A host that cannot be read back fails the plan, with its reason;
     * nothing leaks (a state already loaded included). */
    struct nm_ticket_state st = {.fingerprint = nm_xstrdup("fp1"), .open = 1, .severity = 3};
    struct nm_host_iter bad = {.next = failing_next, .rewind = plain_rewind, .n_hosts = 1};
    CHECK_INT(nm_tickets_plan_events(&st, 1, obj, &bad, NM_SEV_HIGH, 0, &p, &d), NM_ERR_IO);
    CHECK(strstr(d.msg, "does not read back") != NULL);
    nm_ticket_state_finish(&st);
    json_decref(obj);
}

static void test_targets(void)
{
    struct nm_ticket_options o;
    nm_diag d = {{0}};
    nm_ticket_options_init(&o);
    CHECK_INT(nm_ticket_options_add_target(&o, "exec:cat >/dev/null", &d), 0);
    CHECK_INT(nm_ticket_options_add_target(&o, "exec:cat >/dev/null", &d), 0);
    CHECK_INT(o.n_targets, 1);
    CHECK_INT(nm_ticket_options_add_target(&o, "github:acme/infra", &d), 0);
    CHECK(nm_ticket_options_add_target(&o, "github:acme/../x", &d) == NM_ERR_INVAL);
    CHECK(nm_ticket_options_add_target(&o, "github:acme", &d) == NM_ERR_INVAL);
    CHECK(nm_ticket_options_add_target(&o, "jira:OPS-1", &d) == NM_ERR_INVAL);
    CHECK(nm_ticket_options_add_target(&o, "mail:x", &d) == NM_ERR_INVAL);
    CHECK(nm_ticket_options_add_target(&o, "dir:", &d) == NM_ERR_INVAL);
    CHECK_INT(nm_ticket_options_add_target(&o, "pagerduty:R0UT1NGKEY0123456789", &d), 0);
    /* The routing key is a secret: the target's name does not contain it. */
    CHECK(strstr(o.targets[2].key, "R0UT1NGKEY") == NULL);
    CHECK(nm_str_has_prefix(o.targets[2].key, "pagerduty:sha256:"));
    CHECK_STR(o.targets[2].arg, "R0UT1NGKEY0123456789");
    CHECK(nm_ticket_options_add_target(&o, "pagerduty=SECRETKEY", &d) == NM_ERR_INVAL);
    CHECK(strstr(d.msg, "SECRETKEY") == NULL);
    CHECK_INT(nm_ticket_options_add_target(&o, "jira:OPS", &d), 0);
    unsetenv("GITHUB_TOKEN");
    CHECK(nm_ticket_options_check(&o, &d) == NM_ERR_CONFIG);
    setenv("GITHUB_TOKEN", "t", 1);
    setenv("JIRA_USER", "u", 1);
    setenv("JIRA_TOKEN", "t", 1);
    CHECK(nm_ticket_options_check(&o, &d) == NM_ERR_CONFIG); /* no --jira-url */
    o.jira_url = "http://127.0.0.1:1";
    CHECK_INT(nm_ticket_options_check(&o, &d), 0);
    nm_ticket_options_finish(&o);
}

int main(void)
{
    test_lifecycle();
    test_waived();
    test_many_and_duplicates();
    test_min_severity();
    test_fleet();
    test_event_shape();
    test_bad_input();
    test_targets();
    json_decref(last_events);
    return test_result();
}
