/*
 * Judging: whether a check applies to a host, then its items through
 * select, rules and thresholds into verdicts, findings and the check's entry
 * in the report.  Everything here reads a loaded check and never changes it,
 * so hosts are judged in parallel against one check set.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nearmiss/advisory.h"
#include "nearmiss/check.h"
#include "nearmiss/finding.h"
#include "nearmiss/utf8.h"
#include "nearmiss/util.h"

/* ---- applicability ------------------------------------------------------- */

static bool os_matches(const char *glob, const json_t *os)
{
    const char *id = json_string_value(json_object_get(os, "id"));
    if (id && nm_glob_match(glob, id))
        return true;
    const json_t *like = json_object_get(os, "id_like");
    for (size_t i = 0; i < json_array_size(like); i++) {
        const char *w = json_string_value(json_array_get(like, i));
        if (w && nm_glob_match(glob, w))
            return true;
    }
    return false;
}

bool nm_check_applies(const struct nm_check *c, const struct nm_host *h, const json_t *facts,
                      char *why, size_t why_len)
{
    const json_t *os = json_object_get(facts, "os");
    const char *os_id = json_string_value(json_object_get(os, "id"));
    const char *ver = json_string_value(json_object_get(os, "version_id"));
    bool ok = c->n_os == 0;
    for (size_t i = 0; i < c->n_os && !ok; i++)
        ok = os_matches(c->os[i], os);
    if (!ok) {
        struct nm_buf list;
        nm_buf_init(&list, 256);
        for (size_t i = 0; i < c->n_os; i++)
            nm_buf_appendf(&list, "%s%s", i ? ", " : "", c->os[i]);
        snprintf(why, why_len, "os is %s; the check is for %s", os_id ? os_id : "unknown",
                 list.data);
        nm_buf_finish(&list);
        return false;
    }
    ok = c->n_os_version == 0;
    for (size_t i = 0; i < c->n_os_version && !ok; i++)
        ok = ver && nm_glob_match(c->os_version[i], ver);
    if (!ok) {
        snprintf(why, why_len, "os version %s is not one the check is for", ver ? ver : "unknown");
        return false;
    }
    if (!nm_check_applies_to_host(c, h, why, why_len))
        return false;
    const char *missing = nm_check_missing_command(c, facts);
    if (missing) {
        snprintf(why, why_len, "%s is not installed", missing);
        return false;
    }
    return true;
}

bool nm_check_applies_to_host(const struct nm_check *c, const struct nm_host *h, char *why,
                              size_t why_len)
{
    bool ok = c->n_roles == 0;
    for (size_t i = 0; i < c->n_roles && !ok; i++)
        ok = nm_host_has_role(h, c->roles[i]);
    if (!ok) {
        snprintf(why, why_len, "host has none of the roles the check is for");
        return false;
    }
    ok = c->n_criticality == 0;
    for (size_t i = 0; i < c->n_criticality && !ok; i++)
        ok = strcmp(c->criticality[i], h->criticality ? h->criticality : "medium") == 0;
    if (!ok) {
        snprintf(why, why_len, "host criticality is %s; the check is for %s%s",
                 h->criticality ? h->criticality : "medium", c->criticality[0],
                 c->n_criticality > 1 ? " and up" : "");
        return false;
    }
    for (size_t i = 0; i < c->n_labels; i++) {
        const char *v = nm_host_label(h, c->labels[i].key);
        if (!v || !nm_glob_match(c->labels[i].value, v)) {
            snprintf(why, why_len, "label %s is %s, the check wants %s", c->labels[i].key,
                     v ? v : "unset", c->labels[i].value);
            return false;
        }
    }
    return true;
}

/* ---- evaluation ---------------------------------------------------------- */

static bool compare(enum nm_op op, const json_t *have, const json_t *want, const regex_t *re)
{
    if (op == NM_OP_EXISTS) {
        bool present = have && !json_is_null(have);
        return json_is_false(want) ? !present : present;
    }
    if (!have || json_is_null(have))
        return op == NM_OP_NE || op == NM_OP_NMATCH; /* absent is "not equal" */
    switch (op) {
    case NM_OP_LT:
    case NM_OP_LE:
    case NM_OP_GT:
    case NM_OP_GE: {
        if (!json_is_number(have) || !json_is_number(want))
            return false;
        double a = json_number_value(have), b = json_number_value(want);
        return op == NM_OP_LT ? a < b : op == NM_OP_LE ? a <= b : op == NM_OP_GT ? a > b : a >= b;
    }
    case NM_OP_EQ:
    case NM_OP_NE: {
        bool eq;
        if (json_is_number(have) && json_is_number(want))
            eq = json_number_value(have) == json_number_value(want);
        else
            eq = json_equal((json_t *)have, (json_t *)want);
        return op == NM_OP_EQ ? eq : !eq;
    }
    case NM_OP_MATCH:
    case NM_OP_NMATCH: {
        char *s = nm_value_text(have);
        bool m = re && regexec(re, s, 0, NULL, 0) == 0;
        free(s);
        return op == NM_OP_MATCH ? m : !m;
    }
    case NM_OP_VLT:
    case NM_OP_VLE:
    case NM_OP_VGT:
    case NM_OP_VGE: {
        char *a = nm_value_text(have), *b = nm_value_text(want);
        int c = nm_version_compare(a, b);
        free(a);
        free(b);
        return op == NM_OP_VLT   ? c < 0
               : op == NM_OP_VLE ? c <= 0
               : op == NM_OP_VGT ? c > 0
                                 : c >= 0;
    }
    case NM_OP_IN:
        for (size_t i = 0; i < json_array_size(want); i++)
            if (compare(NM_OP_EQ, have, json_array_get(want, i), NULL))
                return true;
        return false;
    case NM_OP_EXISTS:
        break;
    }
    return false;
}

static bool conds_hold(const struct nm_cond *c, size_t n, const json_t *item)
{
    for (size_t i = 0; i < n; i++)
        if (!compare(c[i].op, json_object_get(item, c[i].field), c[i].value,
                     c[i].has_re ? &c[i].re : NULL))
            return false;
    return true;
}

bool nm_conds_hold(const struct nm_cond *c, size_t n, const json_t *item)
{
    return conds_hold(c, n, item);
}

struct verdict {
    enum nm_severity severity;
    const struct nm_rule *rule;
    const json_t *value;     /* borrowed from item */
    const json_t *threshold; /* borrowed from the rule */
};

static struct verdict rule_judge(const struct nm_rule *r, const json_t *item)
{
    struct verdict v = {.severity = NM_SEV_NONE, .rule = r};
    if (r->severity_from) {
        const json_t *f = json_object_get(item, r->severity_from);
        char *key = f ? nm_value_text(f) : NULL;
        const json_t *m = key ? json_object_get(r->severity_map, key) : NULL;
        if (!m && key)
            m = json_object_get(r->severity_map, "*");
        if (m) {
            v.severity = nm_severity_from_name(json_string_value(m));
            v.value = f;
        }
        free(key);
        return v;
    }
    if (!r->field) {
        v.severity = r->severity;
        return v;
    }
    const json_t *have = json_object_get(item, r->field);
    for (size_t i = 0; i < r->n_thresholds; i++) {
        const struct nm_threshold *t = &r->thresholds[i];
        if (compare(r->op, have, t->value, t->has_re ? &t->re : NULL)) {
            v.severity = t->severity;
            v.value = have;
            v.threshold = t->value;
            break;
        }
    }
    return v;
}

static struct verdict judge_item(const struct nm_check *c, const json_t *item)
{
    struct verdict best = {.severity = NM_SEV_NONE};
    bool any_override = false;
    for (size_t i = 0; i < c->n_rules; i++)
        if (c->rules[i].override && conds_hold(c->rules[i].when, c->rules[i].n_when, item))
            any_override = true;
    for (size_t i = 0; i < c->n_rules; i++) {
        const struct nm_rule *r = &c->rules[i];
        if (any_override && !r->override)
            continue;
        if (!conds_hold(r->when, r->n_when, item))
            continue;
        struct verdict v = rule_judge(r, item);
        if (v.severity > best.severity)
            best = v;
    }
    return best;
}

const char *nm_check_missing_command(const struct nm_check *c, const json_t *facts)
{
    const json_t *cmds = json_object_get(facts, "commands");
    for (size_t i = 0; i < c->n_commands; i++)
        if (!json_is_true(json_object_get(cmds, c->commands[i])))
            return c->commands[i];
    return NULL;
}

json_t *nm_check_result_entry(const struct nm_check *c, enum nm_check_result r, const char *reason)
{
    json_t *e = json_pack("{s:s, s:s}", "id", c->id, "result", nm_check_result_name(r));
    if (reason && *reason)
        json_object_set_new(e, "reason", json_string(reason));
    /* What to do about a check that could not run is as useful as what to
     * do about a finding. */
    if (r == NM_RESULT_ERROR && c->error_remediation)
        json_object_set_new(e, "remediation", json_string(c->error_remediation));
    return e;
}

static bool exit_ok(const struct nm_check *c, int code)
{
    for (size_t i = 0; i < c->n_ok_exit; i++)
        if (c->ok_exit[i] == code)
            return true;
    return false;
}

/* What a grouped finding adds to a single item's: the group's members. */
struct group_acc {
    const struct nm_group_by *by;
    char *key;       /* the naming field's value */
    json_t *members; /* the judged items, borrowed from the item list */
    struct verdict *verdicts;
    size_t n, cap;
};

#define GROUP_MEMBERS_NAMED 40    /* in {members}, before "and N more" */
#define GROUP_MEMBERS_KEPT  500   /* member items kept in the finding */
#define GROUP_EVIDENCE_CAP  65536 /* bytes of the members' evidence */
#define LINKS_MAX           20

/* {"rel", "id", "url"} for each advisory or CVE id in the item's link fields,
 * added to links unless its id is there already. */
static void add_links(const struct nm_check *c, const json_t *item, json_t *links, json_t *seen)
{
    for (size_t i = 0; i < c->n_links; i++) {
        const json_t *v = json_object_get(item, c->links[i]);
        size_t n = json_is_array(v) ? json_array_size(v) : 1;
        for (size_t k = 0; k < n && json_array_size(links) < LINKS_MAX; k++) {
            const char *id = json_string_value(json_is_array(v) ? json_array_get(v, k) : v);
            char url[256];
            if (!id || json_object_get(seen, id) || !nm_advisory_url(id, url, sizeof url))
                continue;
            json_object_set_new(seen, id, json_true());
            json_array_append_new(links, json_pack("{s:s, s:s, s:s}", "rel", nm_advisory_kind(id),
                                                   "id", id, "url", url));
        }
    }
}

static json_t *make_finding(const struct nm_check *c, const struct nm_host *h, const json_t *item,
                            const struct verdict *v, const struct group_acc *g)
{
    json_t *extra = json_pack("{s:s, s:s, s:s}", "host", h->name, "severity",
                              nm_severity_name(v->severity), "check", c->id);
    if (v->value)
        json_object_set(extra, "value", (json_t *)v->value);
    if (v->threshold)
        json_object_set(extra, "threshold", (json_t *)v->threshold);
    char *subject;
    if (g) {
        /* Members by name, as the templates see them. */
        struct nm_buf names;
        nm_buf_init(&names, 8192);
        size_t named = 0;
        for (size_t i = 0; i < g->n; i++) {
            const json_t *m = json_object_get(json_array_get(g->members, i), c->group->member);
            if (!m || named == GROUP_MEMBERS_NAMED)
                continue;
            char *t = nm_value_text(m);
            nm_buf_appendf(&names, "%s%s", named++ ? ", " : "", t);
            free(t);
        }
        if (g->n > named)
            nm_buf_appendf(&names, " and %zu more", g->n - named);
        /* Every member, space-separated, for a command line in the remediation. */
        struct nm_buf args;
        nm_buf_init(&args, 16384);
        for (size_t i = 0; i < g->n && i < GROUP_MEMBERS_KEPT; i++) {
            const json_t *m = json_object_get(json_array_get(g->members, i), c->group->member);
            char *t = m ? nm_value_text(m) : NULL;
            if (t)
                nm_buf_appendf(&args, "%s%s", args.len ? " " : "", t);
            free(t);
        }
        json_object_set_new(extra, "member_args", json_string(args.data ? args.data : ""));
        nm_buf_finish(&args);
        json_object_set_new(extra, "members", json_string(names.data ? names.data : ""));
        json_object_set_new(extra, "member_count", json_integer((json_int_t)g->n));
        nm_buf_finish(&names);
        json_t *only = json_pack("{s:s}", g->by->field, g->key);
        subject = nm_template_expand(g->by->subject, only, NULL);
        json_decref(only);
    } else {
        subject = nm_template_expand(c->subject, item, extra);
    }
    char *message = nm_template_expand(v->rule && v->rule->message ? v->rule->message : c->message,
                                       item, extra);
    if (g) {
        for (size_t i = 0; i < c->group->n_notes; i++) {
            const struct nm_group_note *n = &c->group->notes[i];
            bool any = false;
            for (size_t k = 0; k < g->n && !any; k++)
                any = conds_hold(n->when, n->n_when, json_array_get(g->members, k));
            if (!any)
                continue;
            char *t = nm_template_expand(n->text, item, extra);
            char *m = nm_xasprintf("%s; %s", message, t);
            free(t);
            free(message);
            message = m;
        }
    }
    char fp[65];
    nm_finding_fingerprint(c->id, h->name, subject, fp);
    json_t *f = json_object();
    json_object_set_new(f, "check", json_string(c->id));
    json_object_set_new(f, "category", json_string(c->category));
    json_object_set_new(f, "severity", json_string(nm_severity_name(v->severity)));
    json_object_set_new(f, "subject", nm_json_string_sanitized(subject, strlen(subject), 4096));
    json_object_set_new(f, "message", nm_json_string_sanitized(message, strlen(message), 4096));
    json_object_set(f, "value",
                    v->value && !json_is_object(v->value) ? (json_t *)v->value : json_null());
    json_object_set(f, "threshold", v->threshold ? (json_t *)v->threshold : json_null());
    json_object_set_new(f, "fingerprint", json_string(fp));
    if (g) {
        /* Every member's evidence, in the order the host listed them. */
        struct nm_buf ev;
        nm_buf_init(&ev, GROUP_EVIDENCE_CAP);
        for (size_t i = 0; i < g->n; i++) {
            const json_t *e = json_object_get(json_array_get(g->members, i), "evidence");
            if (json_is_string(e))
                nm_buf_appendf(&ev, "%s%s", ev.len ? "\n" : "", json_string_value(e));
        }
        json_object_set_new(f, "evidence",
                            ev.len ? nm_json_string_sanitized(ev.data, ev.len, GROUP_EVIDENCE_CAP)
                                   : json_null());
        nm_buf_finish(&ev);
    } else {
        const json_t *ev = json_object_get(item, "evidence");
        if (json_is_string(ev))
            json_object_set(f, "evidence", (json_t *)ev);
        else
            json_object_set_new(f, "evidence", json_null());
    }
    if (c->remediation) {
        char *rem = nm_template_expand(c->remediation, item, extra);
        json_object_set_new(f, "remediation", nm_json_string_sanitized(rem, strlen(rem), 4096));
        free(rem);
    } else {
        json_object_set_new(f, "remediation", json_null());
    }
    if (c->ticket_summary) {
        char *t = nm_template_expand(c->ticket_summary, item, extra);
        json_object_set_new(f, "ticket_summary", nm_json_string_sanitized(t, strlen(t), 1024));
        free(t);
    }
    {
        json_t *links = json_array(), *seen = json_object();
        if (g)
            for (size_t i = 0; i < g->n; i++)
                add_links(c, json_array_get(g->members, i), links, seen);
        else
            add_links(c, item, links, seen);
        /* Where the check explains itself: its first reference. */
        const char *doc = json_string_value(json_array_get(c->references, 0));
        if (doc && strncmp(doc, "https://", 8) == 0)
            json_array_append_new(
                links, json_pack("{s:s, s:s, s:s}", "rel", "check", "id", c->id, "url", doc));
        if (json_array_size(links))
            json_object_set(f, "links", links);
        json_decref(links);
        json_decref(seen);
    }
    /* The item itself, so the report explains the verdict with all its facts;
     * a group's members below it, each with its own verdict. */
    json_t *facts = json_deep_copy(item);
    json_object_del(facts, "evidence");
    if (g) {
        json_t *ms = json_array();
        for (size_t i = 0; i < g->n && i < GROUP_MEMBERS_KEPT; i++) {
            json_t *m = json_deep_copy(json_array_get(g->members, i));
            json_object_del(m, "evidence");
            json_object_set_new(m, "severity",
                                json_string(nm_severity_name(g->verdicts[i].severity)));
            json_array_append_new(ms, m);
        }
        json_object_set_new(facts, "members", ms);
    }
    json_object_set_new(f, "item", facts);
    free(subject);
    free(message);
    json_decref(extra);
    return f;
}

/* The group that names item, or NULL when no "by" field is set on it. */
static const struct nm_group_by *group_of(const struct nm_check *c, const json_t *item,
                                          const char **ret_key)
{
    for (size_t i = 0; c->group && i < c->group->n_by; i++) {
        const char *k = json_string_value(json_object_get(item, c->group->by[i].field));
        if (k && *k) {
            *ret_key = k;
            return &c->group->by[i];
        }
    }
    return NULL;
}

static void record_item(const struct nm_check *c, const json_t *item, json_t *metrics)
{
    const json_t *key = json_object_get(item, c->record_key);
    if (!metrics || !json_is_string(key))
        return;
    json_t *per_check = json_object_get(metrics, c->id);
    if (!per_check) {
        per_check = json_object();
        json_object_set_new(metrics, c->id, per_check);
    }
    if (json_object_size(per_check) >= 4096)
        return; /* a host with absurdly many items must not bloat the report */
    json_t *rec = json_object();
    for (size_t i = 0; i < c->n_record_fields; i++) {
        json_t *v = json_object_get(item, c->record_fields[i]);
        /* Scalars, and short lists of them (resolver or time server lists). */
        if (v && !json_is_object(v) && (!json_is_array(v) || json_array_size(v) <= 64))
            json_object_set_new(rec, c->record_fields[i], json_deep_copy(v));
    }
    json_object_set_new(per_check, json_string_value(key), rec);
}

json_t *nm_check_parser_options(const struct nm_check *c, int64_t now)
{
    /* The run's clock, unless the check file pins its own "now". */
    json_t *opts = json_incref(c->parser_options);
    if (nm_parser_reads_clock(c->parser) && !json_object_get(opts, "now")) {
        json_t *o = opts ? json_copy(opts) : json_object();
        json_object_set_new(o, "now", json_integer((json_int_t)now));
        json_decref(opts);
        opts = o;
    }
    return opts;
}

json_t *nm_check_evaluate(const struct nm_check *c, const struct nm_host *h,
                          const struct nm_section *sec, int64_t now, json_t *findings,
                          json_t *metrics)
{
    json_t *opts = nm_check_parser_options(c, now);
    json_t *e = nm_check_evaluate_with(c, h, sec, opts, now, findings, metrics);
    json_decref(opts);
    return e;
}

/* Why sudo could not be used, from the script's reason word (script.h). */
static void why_no_sudo(struct nm_buf *b, const struct nm_host *h, const char *reason)
{
    if (strcmp(reason, "off") == 0 && h && h->become == NM_BECOME_UNSUPPORTED)
        nm_buf_appendf(b,
                       "the inventory sets ansible_become_method to %s for this host, and "
                       "nearmiss runs root probes only through sudo",
                       h->become_method ? h->become_method : "another method");
    else if (strcmp(reason, "off") == 0)
        nm_buf_appends(b, "the inventory sets ansible_become to false for this host, so "
                          "nearmiss never runs sudo there");
    else if (strcmp(reason, "nosudo") == 0)
        nm_buf_appends(b, "sudo is not installed");
    else if (strcmp(reason, "password") == 0)
        nm_buf_appends(b, "sudo -n refuses: it wants a password, or this user may not use sudo");
    else if (strcmp(reason, "notallowed") == 0)
        nm_buf_appends(b, "sudo -n refuses: this user may not use sudo");
    else if (strcmp(reason, "partial") == 0)
        nm_buf_appends(b, "sudo -n allows this user only some commands, and this probe runs a "
                          "whole script as root, which only sudo for every command "
                          "(sudo -n true) allows");
    else
        nm_buf_appendf(b, "sudo -n is not available (%s)", reason);
}

/*
 * A root probe that could not get root: the check is an error naming the
 * exact command lines to allow, as a sudoers drop-in would hold them, so
 * the fix is a copy and paste (or `nearmiss sudoers`) away.
 */
static json_t *root_error(const struct nm_check *c, const struct nm_host *h,
                          const struct nm_section *sec)
{
    const struct nm_probe_def *p = c->probe;
    struct nm_buf b;
    nm_buf_init(&b, 4000);
    if (sec->state == NM_SECTION_SKIPPED) {
        nm_buf_appendf(&b, "probe %s needs root and the login user is not root; ", p->id);
        why_no_sudo(&b, h, sec->skip_reason);
    } else {
        nm_buf_appendf(&b, "probe %s needs root: sudo -n refused to run ", p->id);
        for (unsigned i = 0; i < sec->n_refused; i++)
            nm_buf_appendf(&b, "%s'%s'", i ? ", " : "", sec->refused[i]);
        if (sec->refused_total > sec->n_refused)
            nm_buf_appendf(&b, " and %" PRIu32 " more", sec->refused_total - sec->n_refused);
        nm_buf_appends(&b, " (not among this user's sudo rights)");
    }
    if (p->n_root_commands > 0) {
        nm_buf_appends(&b, ". Allow exactly these commands as root with NOPASSWD (one path per "
                           "line, whichever the host has; `nearmiss sudoers` prints the "
                           "drop-in): ");
        for (size_t i = 0; i < p->n_root_commands; i++)
            nm_buf_appendf(&b, "%s%s", i ? ", " : "", p->root_commands[i]);
        nm_buf_appends(&b, "; or scan as root");
    } else {
        nm_buf_appends(&b, ". It runs a whole script as root, which no list of exact commands "
                           "can allow: scan as root, or grant this user sudo for every command");
    }
    json_t *e = nm_check_result_entry(c, NM_RESULT_ERROR, b.data ? b.data : "");
    nm_buf_finish(&b);
    return e;
}

json_t *nm_check_evaluate_with(const struct nm_check *c, const struct nm_host *h,
                               const struct nm_section *sec, const json_t *parser_options,
                               int64_t now, json_t *findings, json_t *metrics)
{
    char why[1400];
    if (!sec || sec->state == NM_SECTION_MISSING)
        return nm_check_result_entry(c, NM_RESULT_ERROR,
                                     "the probe did not run (host output ended before it)");
    if (sec->state == NM_SECTION_SKIPPED)
        return root_error(c, h, sec);
    if (sec->state == NM_SECTION_TIMEOUT) {
        snprintf(why, sizeof why, "probe %s exceeded its %u s timeout", c->probe->id,
                 c->probe->timeout_s);
        return nm_check_result_entry(c, NM_RESULT_ERROR, why);
    }
    if (sec->state == NM_SECTION_PARTIAL)
        return nm_check_result_entry(c, NM_RESULT_ERROR,
                                     "probe output was cut off (host deadline or output cap)");
    if (sec->exit_code == NM_PROBE_EXIT_NOTAPPLICABLE && !exit_ok(c, sec->exit_code)) {
        /* The probe found the host has nothing to check (docs/checks.md);
         * its last line on stderr says why. */
        size_t e = sec->err.len, b;
        while (e > 0 && (sec->err.data[e - 1] == '\n' || sec->err.data[e - 1] == ' '))
            e--;
        for (b = e; b > 0 && sec->err.data[b - 1] != '\n'; b--)
            ;
        size_t n = e - b < 300 ? e - b : 300, k = 0;
        for (size_t i = 0; i < n; i++) {
            char ch = sec->err.data[b + i];
            why[k++] = ch >= 0x20 && ch < 0x7f ? ch : ' ';
        }
        why[k] = '\0';
        return nm_check_result_entry(c, NM_RESULT_NOTAPPLICABLE,
                                     k ? why : "the probe says it does not apply to this host");
    }
    if (sec->refused_total > 0)
        return root_error(c, h, sec);
    if (!exit_ok(c, sec->exit_code)) {
        /* Show the start of stderr: it usually says why. */
        size_t n = sec->err.len < 200 ? sec->err.len : 200;
        char err[256] = "";
        for (size_t i = 0; i < n; i++)
            err[i] = (sec->err.data[i] >= 0x20 && sec->err.data[i] < 0x7f) ? sec->err.data[i] : ' ';
        err[n] = '\0';
        snprintf(why, sizeof why, "probe %s exited %d%s%s", c->probe->id, sec->exit_code,
                 n ? ": " : "", err);
        return nm_check_result_entry(c, NM_RESULT_ERROR, why);
    }
    json_t *items = NULL;
    nm_diag d = {{0}};
    int pr =
        c->parser->fn(sec->out.data ? sec->out.data : "", sec->out.len, parser_options, &items, &d);
    if (pr < 0) {
        snprintf(why, sizeof why, "parser %s: %s", c->parser->name, d.msg);
        return nm_check_result_entry(c, NM_RESULT_ERROR, why);
    }
    nm_lifecycle_annotate(c->lifecycle, items, now);
    json_t *e = nm_check_judge_items(c, h, items, findings, metrics);
    json_decref(items);
    if (sec->out_truncated)
        json_object_set_new(e, "truncated",
                            json_sprintf("probe output %" PRIu64 " bytes, only %zu kept",
                                         sec->out_total, sec->out.len));
    return e;
}

json_t *nm_check_judge_items(const struct nm_check *c, const struct nm_host *h, const json_t *items,
                             json_t *findings, json_t *metrics)
{
    enum nm_severity worst = NM_SEV_NONE;
    size_t n_items = 0, n_findings = 0, n_groups = 0;
    struct group_acc *groups = NULL;
    json_t *index = json_object(); /* "by-index NUL key" -> group number */
    for (size_t i = 0; i < json_array_size(items); i++) {
        const json_t *item = json_array_get(items, i);
        if (!json_is_object(item) || !conds_hold(c->select, c->n_select, item))
            continue;
        n_items++;
        if (c->record_key)
            record_item(c, item, metrics);
        struct verdict v = judge_item(c, item);
        if (v.severity == NM_SEV_NONE)
            continue;
        if (v.severity > worst)
            worst = v.severity;
        const char *key = NULL;
        const struct nm_group_by *by = group_of(c, item, &key);
        if (!by) {
            json_array_append_new(findings, make_finding(c, h, item, &v, NULL));
            n_findings++;
            continue;
        }
        /* Groups named by different fields never merge, even on equal text. */
        char *ik = nm_xasprintf("%zu:%s", (size_t)(by - c->group->by), key);
        const json_t *gi = json_object_get(index, ik);
        struct group_acc *g;
        if (gi) {
            g = &groups[json_integer_value(gi)];
        } else {
            groups = nm_xreallocarray(groups, n_groups + 1, sizeof *groups);
            g = &groups[n_groups];
            *g = (struct group_acc){.by = by, .key = nm_xstrdup(key), .members = json_array()};
            json_object_set_new(index, ik, json_integer((json_int_t)n_groups++));
        }
        free(ik);
        if (g->n == g->cap) {
            g->cap = g->cap ? 2 * g->cap : 4;
            g->verdicts = nm_xreallocarray(g->verdicts, g->cap, sizeof *g->verdicts);
        }
        json_array_append(g->members, (json_t *)item);
        g->verdicts[g->n++] = v;
    }
    for (size_t i = 0; i < n_groups; i++) {
        struct group_acc *g = &groups[i];
        size_t w = 0;
        for (size_t k = 1; k < g->n; k++)
            if (g->verdicts[k].severity > g->verdicts[w].severity)
                w = k;
        json_array_append_new(
            findings, make_finding(c, h, json_array_get(g->members, w), &g->verdicts[w], g));
        n_findings++;
        free(g->key);
        json_decref(g->members);
        free(g->verdicts);
    }
    free(groups);
    json_decref(index);
    enum nm_check_result r = worst >= NM_SEV_HIGH  ? NM_RESULT_FAIL
                             : worst >= NM_SEV_LOW ? NM_RESULT_WARN
                                                   : NM_RESULT_PASS;
    json_t *e = nm_check_result_entry(c, r, NULL);
    json_object_set_new(e, "items", json_integer((json_int_t)n_items));
    json_object_set_new(e, "findings", json_integer((json_int_t)n_findings));
    return e;
}
