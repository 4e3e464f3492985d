/*
 * Planning: which ticket events a run causes, from what each target's tickets
 * looked like before (ticket_state) and the annotated report.  Pure: no
 * database, no clock but the one passed in, so every sequence can be tested
 * as a table.
 *
 * The rules (docs/tickets.md):
 *   - a finding at or above the minimum that has no open ticket opens one;
 *   - an open ticket whose finding changed severity (still at or above the
 *     minimum) gets one update per change; an unchanged one gets nothing,
 *     whatever its message says tonight;
 *   - an open ticket is resolved when its finding is in the report's
 *     `resolved` list, falls below the minimum, or is waived (an accepted
 *     risk needs no ticket; when the waiver lapses the finding opens a new one);
 *   - a fleet finding that is gone is resolved only when every host of the
 *     run was scanned: with a host missing, the fleet's verdict is unknown;
 *   - a host that could not be scanned contributes nothing: its findings are
 *     neither present nor resolved, so its tickets stay as they are.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "nearmiss/model.h"
#include "nearmiss/parsers.h"
#include "nearmiss/hostiter.h"
#include "nearmiss/tickets.h"
#include "nearmiss/utf8.h"
#include "nearmiss/util.h"

#define EVIDENCE_CAP 8192

struct work {
    struct nm_ticket_state *st; /* every known state, then new ones */
    unsigned char *changed;
    unsigned char *handled;
    size_t n, alloc;
    size_t *slots; /* open addressing: index + 1, 0 = empty */
    size_t n_slots;
};

/* The arrays only: the states themselves are handed on or finished by the
 * caller. */
static void work_free(struct work *w)
{
    free(w->st);
    free(w->changed);
    free(w->handled);
    free(w->slots);
}

static size_t hash_str(const char *s)
{
    size_t h = 1469598103934665603u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211u;
    return h;
}

static void index_insert(struct work *w, size_t idx)
{
    size_t m = w->n_slots - 1;
    size_t i = hash_str(w->st[idx].fingerprint) & m;
    while (w->slots[i])
        i = (i + 1) & m;
    w->slots[i] = idx + 1;
}

/* Rebuilt at a quarter full, so probes stay short. */
static void index_grow(struct work *w)
{
    size_t want = 64;
    while (want < 4 * (w->n + 1))
        want *= 2;
    free(w->slots);
    w->slots = nm_xcalloc(want, sizeof *w->slots);
    w->n_slots = want;
    for (size_t i = 0; i < w->n; i++)
        index_insert(w, i);
}

static struct nm_ticket_state *find(struct work *w, const char *fp, size_t *ret_idx)
{
    size_t m = w->n_slots - 1;
    for (size_t i = hash_str(fp) & m; w->slots[i]; i = (i + 1) & m) {
        size_t idx = w->slots[i] - 1;
        if (strcmp(w->st[idx].fingerprint, fp) == 0) {
            *ret_idx = idx;
            return &w->st[idx];
        }
    }
    return NULL;
}

static char *dup_or_null(const char *s)
{
    return s ? nm_xstrdup(s) : NULL;
}

static void state_copy(struct nm_ticket_state *dst, const struct nm_ticket_state *src)
{
    dst->fingerprint = nm_xstrdup(src->fingerprint);
    dst->open = src->open;
    dst->severity = src->severity;
    dst->host = dup_or_null(src->host);
    dst->check = dup_or_null(src->check);
    dst->category = dup_or_null(src->category);
    dst->subject = dup_or_null(src->subject);
    dst->summary = dup_or_null(src->summary);
    dst->message = dup_or_null(src->message);
    dst->remediation = dup_or_null(src->remediation);
    dst->first_seen = dup_or_null(src->first_seen);
}

void nm_ticket_state_finish(struct nm_ticket_state *s)
{
    if (!s)
        return;
    free(s->fingerprint);
    free(s->host);
    free(s->check);
    free(s->category);
    free(s->subject);
    free(s->summary);
    free(s->message);
    free(s->remediation);
    free(s->first_seen);
    memset(s, 0, sizeof *s);
}

static size_t add_state(struct work *w, const char *fp)
{
    if (w->n == w->alloc) {
        w->alloc = w->alloc ? 2 * w->alloc : 16;
        w->st = nm_xreallocarray(w->st, w->alloc, sizeof *w->st);
        w->changed = nm_xrealloc(w->changed, w->alloc);
        w->handled = nm_xrealloc(w->handled, w->alloc);
    }
    size_t idx = w->n++;
    memset(&w->st[idx], 0, sizeof w->st[idx]);
    w->st[idx].fingerprint = nm_xstrdup(fp);
    w->st[idx].severity = NM_SEV_NONE;
    w->changed[idx] = 0;
    w->handled[idx] = 0;
    if (4 * w->n > w->n_slots)
        index_grow(w);
    else
        index_insert(w, idx);
    return idx;
}

static const char *jstr(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static void set_str(char **dst, const char *v)
{
    if (!v)
        return;
    free(*dst);
    *dst = nm_xstrdup(v);
}

/* What a present finding tells the state about itself. */
static void absorb(struct nm_ticket_state *s, const json_t *f, const char *host)
{
    if (host)
        set_str(&s->host, host);
    set_str(&s->check, jstr(f, "check"));
    set_str(&s->category, jstr(f, "category"));
    set_str(&s->subject, jstr(f, "subject"));
    set_str(&s->message, jstr(f, "message"));
    set_str(&s->remediation, jstr(f, "remediation"));
    const char *summary = jstr(f, "ticket_summary");
    if (summary) {
        set_str(&s->summary, summary);
    } else {
        char *made = nm_xasprintf("%s: %s %s", host ? host : "fleet", s->check ? s->check : "?",
                                  s->subject ? s->subject : "");
        free(s->summary);
        s->summary = made;
    }
}

static json_t *str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

static json_t *make_event(const char *action, const struct nm_ticket_state *s, int severity,
                          int previous, const char *reason, const json_t *f, const char *at)
{
    json_t *e = json_object();
    json_object_set_new(e, "schema", json_string(NM_TICKET_SCHEMA));
    json_object_set_new(e, "action", json_string(action));
    json_object_set_new(e, "dedup_key", json_string(s->fingerprint));
    json_object_set_new(e, "host", str_or_null(s->host));
    json_object_set_new(e, "check", str_or_null(s->check));
    json_object_set_new(e, "category", str_or_null(s->category));
    json_object_set_new(e, "subject", str_or_null(s->subject));
    json_object_set_new(e, "severity", json_string(nm_severity_name(severity)));
    json_object_set_new(e, "previous_severity",
                        previous == NM_SEV_NONE ? json_null()
                                                : json_string(nm_severity_name(previous)));
    json_object_set_new(e, "summary", str_or_null(s->summary));
    json_object_set_new(e, "message", str_or_null(s->message));
    json_object_set_new(e, "remediation", str_or_null(s->remediation));
    json_object_set_new(e, "first_seen", str_or_null(s->first_seen));
    json_object_set_new(e, "at", json_string(at));
    /* Additions to the contract's fields: why a ticket is resolved, the
     * evidence the verdict rests on, and a fleet finding's hosts. */
    json_object_set_new(e, "reason", reason ? json_string(reason) : json_null());
    const char *ev = f ? jstr(f, "evidence") : NULL;
    json_object_set_new(e, "evidence",
                        ev ? nm_json_string_sanitized(ev, strlen(ev), EVIDENCE_CAP) : json_null());
    const json_t *hosts = f ? json_object_get(f, "hosts") : NULL;
    if (json_is_array(hosts))
        json_object_set(e, "hosts", (json_t *)hosts);
    return e;
}

struct planner {
    struct work w;
    json_t *events;
    int min;
    const char *now;
    size_t opened, updated, resolved;
};

static void emit(struct planner *p, json_t *e)
{
    json_array_append_new(p->events, e);
}

static void see_finding(struct planner *p, const json_t *f, const char *host)
{
    const char *fp = jstr(f, "fingerprint");
    int sev = nm_severity_from_name(jstr(f, "severity"));
    if (!fp || !*fp || sev == NM_SEV_NONE)
        return;
    size_t idx;
    struct nm_ticket_state *s = find(&p->w, fp, &idx);
    if (s && p->w.handled[idx])
        return; /* the same fingerprint twice in one report: the first wins */
    bool waived = json_is_true(json_object_get(f, "waived"));
    bool wanted = !waived && sev >= p->min;
    if (!s) {
        if (!wanted)
            return; /* nothing to remember about a finding that never had a ticket */
        idx = add_state(&p->w, fp);
        s = &p->w.st[idx];
    }
    p->w.handled[idx] = 1;
    const char *first_seen = jstr(f, "first_seen");
    if (wanted && !s->open) {
        absorb(s, f, host);
        free(s->first_seen);
        s->first_seen = nm_xstrdup(first_seen ? first_seen : p->now);
        s->open = 1;
        s->severity = sev;
        p->w.changed[idx] = 1;
        emit(p, make_event("open", s, sev, NM_SEV_NONE, NULL, f, p->now));
        p->opened++;
    } else if (wanted && s->severity != sev) {
        int prev = s->severity;
        absorb(s, f, host);
        s->severity = sev;
        p->w.changed[idx] = 1;
        emit(p, make_event("update", s, sev, prev, NULL, f, p->now));
        p->updated++;
    } else if (!wanted && s->open) {
        int prev = s->severity;
        absorb(s, f, host);
        s->open = 0;
        s->severity = sev;
        p->w.changed[idx] = 1;
        emit(p, make_event("resolve", s, sev, prev, waived ? "waived" : "below_min", f, p->now));
        p->resolved++;
    }
}

static void see_resolved(struct planner *p, const json_t *r)
{
    const char *fp = jstr(r, "fingerprint");
    size_t idx;
    struct nm_ticket_state *s = fp ? find(&p->w, fp, &idx) : NULL;
    if (!s || p->w.handled[idx])
        return;
    p->w.handled[idx] = 1;
    if (!s->open)
        return;
    int prev = s->severity;
    int sev = nm_severity_from_name(jstr(r, "severity"));
    if (sev == NM_SEV_NONE)
        sev = prev;
    const char *at = jstr(r, "resolved_at");
    s->open = 0;
    s->severity = sev;
    p->w.changed[idx] = 1;
    emit(p, make_event("resolve", s, sev, prev, "resolved", NULL, at ? at : p->now));
    p->resolved++;
}

/* Every host of the run was scanned: the fleet's verdicts are complete. */
static bool fleet_complete(const json_t *report)
{
    size_t i;
    const json_t *h;
    const json_t *hosts = json_object_get(report, "hosts");
    if (!json_is_array(hosts) || !json_is_array(json_object_get(report, "fleet_findings")))
        return false;
    json_array_foreach (hosts, i, h) {
        const char *st = jstr(h, "status");
        if (!st || strcmp(st, "ok") != 0)
            return false;
    }
    return true;
}

/* The findings of every scanned host, from the iterator or the report. */
static int see_hosts(struct planner *p, const json_t *report, const struct nm_host_iter *hosts,
                     nm_diag *d)
{
    struct nm_host_iter_array_state st;
    struct nm_host_iter arr;
    if (!hosts) {
        nm_host_iter_array(&arr, &st, report);
        hosts = &arr;
    }
    int r = nm_host_iter_rewind(hosts, d);
    const json_t *h = NULL;
    while (r == 0 && (r = nm_host_iter_next(hosts, &h, d)) == 0 && h) {
        const char *st_name = jstr(h, "status");
        if (!st_name || strcmp(st_name, "ok") != 0)
            continue;
        const char *name = jstr(h, "name");
        size_t j;
        const json_t *f;
        json_array_foreach (json_object_get(h, "findings"), j, f)
            see_finding(p, f, name);
    }
    return r;
}

int nm_tickets_plan_events(const struct nm_ticket_state *states, size_t n_states,
                           const json_t *report, const struct nm_host_iter *hosts, int min_severity,
                           int64_t now, struct nm_ticket_plan *ret, nm_diag *d)
{
    if (!json_is_object(report))
        return nm_diag_set(d, NM_ERR_INVAL, "tickets: the report is not a JSON object");
    if (min_severity < NM_SEV_INFO || min_severity > NM_SEV_CRITICAL)
        return nm_diag_set(d, NM_ERR_INVAL, "tickets: minimum severity out of range");
    char now_s[32];
    nm_utc_iso8601(now, now_s);
    struct planner p = {.events = json_array(), .min = min_severity, .now = now_s};
    index_grow(&p.w);
    for (size_t i = 0; i < n_states; i++) {
        size_t idx;
        if (!states[i].fingerprint || find(&p.w, states[i].fingerprint, &idx))
            continue;
        idx = add_state(&p.w, states[i].fingerprint);
        free(p.w.st[idx].fingerprint);
        state_copy(&p.w.st[idx], &states[i]);
    }

    size_t i;
    const json_t *f;
    int r = see_hosts(&p, report, hosts, d);
    if (r < 0) {
        /* Nothing is planned from part of a report. */
        json_decref(p.events);
        for (size_t k = 0; k < p.w.n; k++)
            nm_ticket_state_finish(&p.w.st[k]);
        work_free(&p.w);
        return r;
    }
    json_array_foreach (json_object_get(report, "fleet_findings"), i, f)
        see_finding(&p, f, NULL);
    json_array_foreach (json_object_get(report, "resolved"), i, f)
        see_resolved(&p, f);
    if (fleet_complete(report)) {
        for (size_t k = 0; k < p.w.n; k++) {
            struct nm_ticket_state *s = &p.w.st[k];
            if (p.w.handled[k] || !s->open || s->host)
                continue;
            p.w.handled[k] = 1;
            s->open = 0;
            p.w.changed[k] = 1;
            emit(&p, make_event("resolve", s, s->severity, s->severity, "resolved", NULL, now_s));
            p.resolved++;
        }
    }

    struct nm_ticket_plan out = {0};
    out.n_events = json_array_size(p.events);
    out.events = nm_xcalloc(out.n_events ? out.n_events : 1, sizeof *out.events);
    for (size_t k = 0; k < out.n_events; k++)
        out.events[k] = json_incref(json_array_get(p.events, k));
    out.states = nm_xcalloc(p.w.n ? p.w.n : 1, sizeof *out.states);
    for (size_t k = 0; k < p.w.n; k++) {
        if (p.w.changed[k])
            out.states[out.n_states++] = p.w.st[k];
        else
            nm_ticket_state_finish(&p.w.st[k]);
    }
    out.opened = p.opened;
    out.updated = p.updated;
    out.resolved = p.resolved;
    json_decref(p.events);
    work_free(&p.w);
    *ret = out;
    return 0;
}

void nm_ticket_plan_finish(struct nm_ticket_plan *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n_events; i++)
        json_decref(p->events[i]);
    for (size_t i = 0; i < p->n_states; i++)
        nm_ticket_state_finish(&p->states[i]);
    free(p->events);
    free(p->states);
    memset(p, 0, sizeof *p);
}
