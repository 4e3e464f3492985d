#include <stdlib.h>
#include <string.h>

#include "nearmiss/report_view.h"
#include "nearmiss/check.h"
#include "nearmiss/fleet.h"
#include "nearmiss/util.h"

struct member {
    const char *name;
    const json_t *host; /* the host's report object, borrowed */
    bool healthy;
    char why[256]; /* why it is not healthy */
};

static bool drained(const struct nm_fleet_options *o, const char *name)
{
    for (size_t i = 0; i < o->n_drain; i++)
        if (strcmp(o->drain[i], name) == 0)
            return true;
    return false;
}

static void judge_member(const struct nm_fleet_options *o, struct member *m)
{
    m->healthy = false;
    if (drained(o, m->name)) {
        snprintf(m->why, sizeof m->why, "drained (--drain)");
        return;
    }
    if (!m->host) {
        snprintf(m->why, sizeof m->why, "not scanned in this run");
        return;
    }
    if (!nm_view_host_ok(m->host)) {
        const char *status = json_string_value(json_object_get(m->host, "status"));
        snprintf(m->why, sizeof m->why, "could not be scanned (%s)", status ? status : "?");
        return;
    }
    size_t i, count = 0;
    json_t *f;
    const char *first = NULL;
    enum nm_severity worst = NM_SEV_NONE;
    json_array_foreach (json_object_get(m->host, "findings"), i, f) {
        if (!nm_view_active(f))
            continue;
        enum nm_severity s = nm_view_severity(f);
        if (s < o->unhealthy_at)
            continue;
        if (!first || s > worst)
            first = json_string_value(json_object_get(f, "message"));
        worst = s > worst ? s : worst;
        count++;
    }
    if (count == 0) {
        m->healthy = true;
        return;
    }
    snprintf(m->why, sizeof m->why, "%zu %s finding%s: %s", count, nm_severity_name(worst),
             count > 1 ? "s" : "", first ? first : "");
}

static json_t *names_of(const struct member *ms, size_t n, bool healthy)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        if (ms[i].healthy == healthy)
            json_array_append_new(a, json_string(ms[i].name));
    return a;
}

static json_t *all_names(const struct member *ms, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, json_string(ms[i].name));
    return a;
}

static void add_finding(json_t *report, const char *check, enum nm_severity sev, const char *role,
                        json_t *hosts, char *message, const char *remediation, json_t *details)
{
    char subject[300], fp[65];
    snprintf(subject, sizeof subject, "role %s", role);
    nm_finding_fingerprint(check, "fleet", subject, fp);
    json_t *f = json_pack("{s:s, s:s, s:s, s:s, s:o, s:s, s:s, s:s}", "check", check, "category",
                          "spof", "severity", nm_severity_name(sev), "subject", subject, "hosts",
                          hosts, "message", message, "fingerprint", fp, "remediation", remediation);
    if (details)
        json_object_set_new(f, "details", details);
    json_array_append_new(json_object_get(report, "fleet_findings"), f);
    free(message);
}

/* Hosts of a role that the selection (--hosts, --role) left out: not
 * scanned, so of unknown health.  A role finding is only raised when it
 * holds even if every one of them is healthy. */
struct outside {
    const struct nm_host **hosts;
    size_t n;
    char note[512]; /* for messages: "; 1 host not selected ... (web2) ..." */
};

static void check_redundancy(json_t *report, const struct nm_role *role, struct member *ms,
                             size_t n, size_t healthy, const char *drain_note,
                             const struct outside *out)
{
    if (role->min_healthy <= 0 || (int)(healthy + out->n) >= role->min_healthy)
        return;
    struct nm_buf why;
    nm_buf_init(&why, 4096);
    json_t *unhealthy = json_array();
    for (size_t i = 0; i < n; i++) {
        if (ms[i].healthy)
            continue;
        nm_buf_appendf(&why, "%s%s: %s", why.len ? "; " : "", ms[i].name, ms[i].why);
        json_array_append_new(unhealthy,
                              json_pack("{s:s, s:s}", "host", ms[i].name, "why", ms[i].why));
    }
    /* Every member healthy: the role is simply too small. */
    if (why.len == 0)
        nm_buf_appendf(&why, n == 0 ? "no hosts have this role"
                             : n == 1 ? "only 1 host has this role"
                                      : "only %zu hosts have this role",
                       n);
    enum nm_severity sev = healthy + out->n == 0 ? NM_SEV_CRITICAL : NM_SEV_HIGH;
    char *msg = nm_xasprintf("role %s has %zu healthy host%s of the %d it needs%s (%s)%s",
                             role->name, healthy, healthy == 1 ? "" : "s", role->min_healthy,
                             drain_note, why.data, out->note);
    json_t *details = json_pack("{s:i, s:I, s:o, s:o}", "min_healthy", role->min_healthy, "healthy",
                                (json_int_t)healthy, "healthy_hosts", names_of(ms, n, true),
                                "unhealthy", unhealthy);
    add_finding(report, "role-redundancy", sev, role->name, all_names(ms, n), msg,
                "Bring the unhealthy hosts back (fix their critical findings first) or add "
                "hosts to the role before any planned change takes another one out.",
                details);
    nm_buf_finish(&why);
}

static void check_spread(json_t *report, const struct nm_inventory *inv, const struct nm_role *role,
                         struct member *ms, size_t n, size_t healthy, const char *drain_note,
                         const struct outside *out)
{
    /* One healthy host is a single point of failure whatever its labels;
     * role-redundancy speaks for that when min_healthy asks for more. */
    if (healthy + out->n < 2)
        return;
    for (size_t k = 0; k < role->n_spread; k++) {
        const char *key = role->spread[k];
        const char *shared = NULL;
        bool same = true, missing = false;
        for (size_t i = 0; i < n && same; i++) {
            if (!ms[i].healthy)
                continue;
            const struct nm_host *h = nm_inventory_find_host(inv, ms[i].name);
            const char *v = h ? nm_host_label(h, key) : NULL;
            if (!v) {
                missing = true;
                same = false;
            } else if (!shared) {
                shared = v;
            } else if (strcmp(shared, v) != 0) {
                same = false;
            }
        }
        /* Hosts outside the selection count as healthy: the finding must
         * hold whatever their state. */
        for (size_t i = 0; i < out->n && same; i++) {
            const char *v = nm_host_label(out->hosts[i], key);
            if (!v) {
                missing = true;
                same = false;
            } else if (!shared) {
                shared = v;
            } else if (strcmp(shared, v) != 0) {
                same = false;
            }
        }
        if (missing) {
            char *msg = nm_xasprintf("role %s should be spread over %s, but some of its hosts "
                                     "have no %s label: the spread cannot be verified",
                                     role->name, key, key);
            add_finding(report, "role-spread", NM_SEV_LOW, role->name, names_of(ms, n, true), msg,
                        "Label every host of the role with its failure domain in the inventory.",
                        json_pack("{s:s}", "label", key));
            continue;
        }
        if (!same || !shared)
            continue;
        char *msg =
            nm_xasprintf("all %zu healthy hosts of role %s share %s=%s%s: one %s failure "
                         "takes the whole role down%s",
                         healthy + out->n, role->name, key, shared, drain_note, key, out->note);
        add_finding(report, "role-spread", NM_SEV_MEDIUM, role->name, names_of(ms, n, true), msg,
                    "Move or add a host of the role in another failure domain.",
                    json_pack("{s:s, s:s}", "label", key, "value", shared));
    }
}

/*
 * The one server a host depends on for check `check`, from what the check
 * recorded: NULL unless its `single_field` is true.  The server is the
 * recorded `server_field` (a string, or the first of a list).
 */
static const char *single_upstream(const json_t *host, const char *check, const char *single_field,
                                   const char *server_field)
{
    const json_t *per_check = json_object_get(json_object_get(host, "metrics"), check);
    const char *key;
    const json_t *rec;
    json_object_foreach ((json_t *)per_check, key, rec) {
        if (!json_is_true(json_object_get(rec, single_field)))
            return NULL;
        const json_t *server = json_object_get(rec, server_field);
        if (json_is_array(server))
            server = json_array_get(server, 0);
        return json_string_value(server);
    }
    return NULL;
}

static void check_shared(json_t *report, const struct nm_role *role, struct member *ms, size_t n,
                         const char *check, const char *single_field, const char *server_field,
                         const char *fleet_check, const char *what)
{
    const char *shared = NULL;
    size_t scanned = 0;
    for (size_t i = 0; i < n; i++) {
        if (!ms[i].host || !nm_view_host_ok(ms[i].host))
            continue;
        const char *u = single_upstream(ms[i].host, check, single_field, server_field);
        if (!u || (shared && strcmp(shared, u) != 0))
            return;
        shared = u;
        scanned++;
    }
    if (scanned < 2 || !shared)
        return;
    char *msg = nm_xasprintf("every host of role %s depends on the single %s %s: when it fails, "
                             "the whole role fails with it",
                             role->name, what, shared);
    add_finding(report, fleet_check, NM_SEV_MEDIUM, role->name, all_names(ms, n), msg,
                "Configure at least two independent servers on every host of the role.",
                json_pack("{s:s}", "server", shared));
}

/* The role was judged from part of its hosts: say so in the report
 * ("partial_roles") and in its findings' messages. */
static void note_partial(json_t *report, const struct nm_role *role, const struct member *ms,
                         size_t n, struct outside *out)
{
    json_t *parts = json_object_get(report, "partial_roles");
    if (!parts) {
        parts = json_array();
        json_object_set_new(report, "partial_roles", parts);
    }
    json_t *names = json_array();
    struct nm_buf b;
    nm_buf_init(&b, 200);
    for (size_t i = 0; i < out->n; i++) {
        json_array_append_new(names, json_string(out->hosts[i]->name));
        if (nm_buf_appendf(&b, "%s%s", i ? ", " : "", out->hosts[i]->name) < 0)
            break;
    }
    json_array_append_new(parts, json_pack("{s:s, s:o, s:o}", "role", role->name, "scanned",
                                           all_names(ms, n), "not_selected", names));
    snprintf(out->note, sizeof out->note,
             "; %zu host%s of the role not selected for this run (%s%s) counted as healthy", out->n,
             out->n == 1 ? "" : "s", b.data ? b.data : "", b.len >= 190 ? "..." : "");
    nm_buf_finish(&b);
}

void nm_fleet_evaluate(const struct nm_inventory *inv, const struct nm_checkset *cs,
                       const struct nm_fleet_options *o, json_t *report)
{
    char drain_note[256] = "";
    if (o->n_drain) {
        struct nm_buf b;
        nm_buf_init(&b, sizeof drain_note - 32);
        json_t *dj = json_array();
        for (size_t i = 0; i < o->n_drain; i++) {
            nm_buf_appendf(&b, "%s%s", i ? ", " : "", o->drain[i]);
            json_array_append_new(dj, json_string(o->drain[i]));
        }
        json_object_set_new(report, "drain", dj);
        snprintf(drain_note, sizeof drain_note, " with %s drained", b.data);
        nm_buf_finish(&b);
    }
    /* Every role: defined ones, and those only named by hosts. */
    char **names = NULL;
    size_t n_names = 0;
    for (size_t i = 0; i < inv->n_roles; i++) {
        names = nm_xreallocarray(names, n_names + 1, sizeof *names);
        names[n_names++] = inv->roles[i].name;
    }
    for (size_t i = 0; i < inv->n_hosts; i++)
        for (size_t r = 0; r < inv->hosts[i].n_roles; r++) {
            bool seen = false;
            for (size_t k = 0; k < n_names && !seen; k++)
                seen = strcmp(names[k], inv->hosts[i].roles[r]) == 0;
            if (!seen) {
                names = nm_xreallocarray(names, n_names + 1, sizeof *names);
                names[n_names++] = inv->hosts[i].roles[r];
            }
        }
    struct member *ms = nm_xcalloc(inv->n_hosts ? inv->n_hosts : 1, sizeof *ms);
    const struct nm_host **others =
        nm_xcalloc(inv->n_unselected ? inv->n_unselected : 1, sizeof *others);
    /* Each host is looked up once per role it has: index the report once. */
    struct nm_report_index idx;
    nm_report_index_init(&idx, report);
    for (size_t r = 0; r < n_names; r++) {
        const struct nm_role *role = nm_inventory_find_role(inv, names[r]);
        struct nm_role implicit = {.name = names[r]};
        if (!role)
            role = &implicit;
        size_t n = 0, healthy = 0;
        struct outside out = {.hosts = others};
        for (size_t i = 0; i < inv->n_unselected; i++)
            if (nm_host_has_role(&inv->unselected[i], role->name))
                others[out.n++] = &inv->unselected[i];
        for (size_t i = 0; i < inv->n_hosts; i++) {
            if (!nm_host_has_role(&inv->hosts[i], role->name))
                continue;
            ms[n] = (struct member){.name = inv->hosts[i].name,
                                    .host = nm_report_index_host(&idx, inv->hosts[i].name)};
            judge_member(o, &ms[n]);
            healthy += ms[n].healthy;
            n++;
        }
        /* A role none of the scanned hosts has is outside this run
         * (--role/--hosts selected others): nothing can be said of it. */
        if (n == 0)
            continue;
        if (out.n)
            note_partial(report, role, ms, n, &out);
        check_redundancy(report, role, ms, n, healthy, drain_note, &out);
        check_spread(report, inv, role, ms, n, healthy, drain_note, &out);
        if (out.n)
            continue; /* a shared server is only known when every host was asked */
        /* Checks that say, with "fleet", which of their recorded fields
         * tell a single server (dns-resolvers, time-sync). */
        for (size_t k = 0; k < cs->n_checks; k++) {
            const struct nm_check_fleet *f = cs->checks[k].fleet;
            if (f && strcmp(f->rule, "shared-server") == 0)
                check_shared(report, role, ms, n, cs->checks[k].id, f->single, f->server,
                             f->finding, f->what);
        }
    }
    nm_report_index_finish(&idx);
    free(others);
    free(ms);
    free(names);
}
