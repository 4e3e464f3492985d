/* The readiness gate's verdicts (nearmiss/gate.h). */
#include <stdlib.h>
#include <string.h>

#include "nearmiss/gate.h"
#include "nearmiss/report_view.h"
#include "nearmiss/util.h"

#define MAX_HOST_REASONS 5

static bool in_list(char *const *names, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(names[i], name) == 0)
            return true;
    return false;
}

static const char *str(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

/* The report's hosts by name (borrowed), so that a role of thousands of
 * hosts is judged in one pass, not one pass over the hosts per host. */
static json_t *hosts_by_name(const json_t *report)
{
    json_t *index = json_object();
    size_t i;
    json_t *h;
    json_array_foreach (json_object_get(report, "hosts"), i, h)
        if (json_is_string(json_object_get(h, "name")) && !json_object_get(index, str(h, "name")))
            json_object_set(index, str(h, "name"), h);
    return index;
}

static bool is_role_rule(const json_t *f)
{
    const char *c = str(f, "check");
    return strcmp(c, "role-redundancy") == 0 || strcmp(c, "role-spread") == 0;
}

/* The same role finding without the drain, if any. */
static const json_t *without_drain(const json_t *baseline, const json_t *f)
{
    size_t i;
    json_t *b;
    json_array_foreach (json_object_get(baseline, "fleet_findings"), i, b)
        if (strcmp(str(b, "check"), str(f, "check")) == 0 &&
            strcmp(str(b, "subject"), str(f, "subject")) == 0)
            return b;
    return NULL;
}

static const char *verdict_name(int v)
{
    return v == 2 ? "not_ready" : v == 1 ? "unknown" : "ready";
}

/* 0 ready, 1 unknown, 2 not ready: the worst wins. */
static int worse(int a, int b)
{
    return a > b ? a : b;
}

static json_t *judge_role(const struct nm_inventory *inv, const struct nm_gate_options *o,
                          const json_t *report, const json_t *by_name, const json_t *baseline,
                          const char *role, int *ret_verdict)
{
    const struct nm_role *def = nm_inventory_find_role(inv, role);
    json_t *reasons = json_array();
    char subject[300];
    snprintf(subject, sizeof subject, "role %s", role);
    int v = 0;
    size_t i;
    json_t *f;
    json_array_foreach (json_object_get(report, "fleet_findings"), i, f) {
        if (!is_role_rule(f) || strcmp(str(f, "subject"), subject) != 0 || !nm_view_active(f) ||
            (int)nm_view_severity(f) < o->fail_on)
            continue;
        const json_t *b = without_drain(baseline, f);
        bool caused = !b || nm_view_severity(b) < nm_view_severity(f);
        json_array_append_new(
            reasons,
            json_sprintf("%s %s: %s%s", str(f, "severity"), str(f, "check"), str(f, "message"),
                         caused ? " (caused by the drain)" : " (also without the drain)"));
        v = 2;
    }
    /* Healthy hosts with the drain, and whether any host of the role could
     * not be scanned (then the role's state is not known). */
    size_t healthy = 0;
    bool blind = false;
    for (size_t k = 0; k < inv->n_hosts; k++) {
        const struct nm_host *h = &inv->hosts[k];
        if (!nm_host_has_role(h, role) || in_list(o->fleet.drain, o->fleet.n_drain, h->name))
            continue;
        const json_t *hj = json_object_get(by_name, h->name);
        if (!hj || !nm_view_host_ok(hj)) {
            blind = true;
            json_array_append_new(reasons, json_sprintf("%s of the role could not be scanned (%s)",
                                                        h->name, hj ? str(hj, "status") : "?"));
            continue;
        }
        bool ok = true;
        size_t fi;
        json_t *hf;
        json_array_foreach (json_object_get(hj, "findings"), fi, hf)
            if (nm_view_active(hf) && nm_view_severity(hf) >= o->fleet.unhealthy_at)
                ok = false;
        healthy += ok;
    }
    if (v == 2 && blind)
        v = 1; /* the finding may rest on a host whose state is unknown */
    *ret_verdict = v;
    return json_pack("{s:s, s:s, s:i, s:I, s:o}", "role", role, "verdict", verdict_name(v),
                     "min_healthy", def ? def->min_healthy : 0, "healthy", (json_int_t)healthy,
                     "reasons", reasons);
}

json_t *nm_gate_judge(const struct nm_inventory *inv, const struct nm_checkset *cs,
                      const struct nm_gate_options *o, const json_t *report)
{
    /* The same fleet rules without the drain: what the drain adds. */
    json_t *baseline = json_deep_copy(report);
    json_object_set_new(baseline, "fleet_findings", json_array());
    json_object_del(baseline, "partial_roles");
    struct nm_fleet_options plain = {.unhealthy_at = o->fleet.unhealthy_at};
    nm_fleet_evaluate(inv, cs, &plain, baseline);

    json_t *roles = json_array(), *hosts = json_array(), *drain = json_array();
    json_t *by_name = hosts_by_name(report);
    int overall = 0;
    /* The roles of the hosts to touch, each once. */
    char **seen = NULL;
    size_t n_seen = 0;
    int *role_v = NULL;
    for (size_t t = 0; t < o->n_touch; t++) {
        const struct nm_host *h = nm_inventory_find_host(inv, o->touch[t]);
        for (size_t r = 0; h && r < h->n_roles; r++) {
            if (in_list(seen, n_seen, h->roles[r]))
                continue;
            seen = nm_xreallocarray(seen, n_seen + 1, sizeof *seen);
            role_v = nm_xreallocarray(role_v, n_seen + 1, sizeof *role_v);
            seen[n_seen] = h->roles[r];
            json_array_append_new(
                roles, judge_role(inv, o, report, by_name, baseline, h->roles[r], &role_v[n_seen]));
            overall = worse(overall, role_v[n_seen]);
            n_seen++;
        }
    }
    for (size_t t = 0; t < o->n_touch; t++) {
        const char *name = o->touch[t];
        const struct nm_host *h = nm_inventory_find_host(inv, name);
        const json_t *hj = json_object_get(by_name, name);
        json_t *reasons = json_array();
        int v = 0;
        if (!hj || !nm_view_host_ok(hj)) {
            v = 1;
            json_array_append_new(
                reasons, json_sprintf("could not be scanned: %s: %s", hj ? str(hj, "status") : "?",
                                      hj ? str(hj, "error") : "not in the report"));
        } else {
            size_t i, count = 0;
            json_t *f;
            json_array_foreach (json_object_get(hj, "findings"), i, f) {
                if (!nm_view_active(f) || (int)nm_view_severity(f) < o->fail_on)
                    continue;
                if (count++ < MAX_HOST_REASONS)
                    json_array_append_new(reasons,
                                          json_sprintf("%s %s: %s", str(f, "severity"),
                                                       str(f, "check"), str(f, "message")));
                v = 2;
            }
            if (count > MAX_HOST_REASONS)
                json_array_append_new(reasons, json_sprintf("and %zu more findings at or above %s",
                                                            count - MAX_HOST_REASONS,
                                                            nm_severity_name(o->fail_on)));
        }
        if (h && in_list(o->fleet.drain, o->fleet.n_drain, name)) {
            for (size_t r = 0; r < h->n_roles; r++)
                for (size_t k = 0; k < n_seen; k++)
                    if (strcmp(seen[k], h->roles[r]) == 0 && role_v[k]) {
                        json_array_append_new(
                            reasons,
                            json_sprintf("taking it out: role %s is %s", seen[k],
                                         role_v[k] == 2 ? "not ready" : "of unknown state"));
                        v = worse(v, role_v[k]);
                    }
        }
        json_array_append_new(hosts, json_pack("{s:s, s:s, s:b, s:o}", "name", name, "verdict",
                                               verdict_name(v), "drained",
                                               in_list(o->fleet.drain, o->fleet.n_drain, name),
                                               "reasons", reasons));
        overall = worse(overall, v);
    }
    for (size_t i = 0; i < o->fleet.n_drain; i++)
        json_array_append_new(drain, json_string(o->fleet.drain[i]));
    free(seen);
    free(role_v);
    json_decref(by_name);
    json_decref(baseline);
    return json_pack("{s:s, s:s, s:s, s:o, s:o, s:o}", "schema", NM_GATE_SCHEMA, "verdict",
                     verdict_name(overall), "fail_on", nm_severity_name(o->fail_on), "drain", drain,
                     "hosts", hosts, "roles", roles);
}
