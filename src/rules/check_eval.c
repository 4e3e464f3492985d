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

int nm_version_compare(const char *a, const char *b)
{
    while (*a || *b) {
        /* '~' sorts before anything, even the end (1.0~rc1 < 1.0). */
        if (*a == '~' || *b == '~') {
            if (*a != '~')
                return 1;
            if (*b != '~')
                return -1;
            a++;
            b++;
            continue;
        }
        bool da = *a >= '0' && *a <= '9', db = *b >= '0' && *b <= '9';
        if (da && db) {
            while (*a == '0')
                a++;
            while (*b == '0')
                b++;
            const char *sa = a, *sb = b;
            while (*a >= '0' && *a <= '9')
                a++;
            while (*b >= '0' && *b <= '9')
                b++;
            size_t la = (size_t)(a - sa), lb = (size_t)(b - sb);
            if (la != lb)
                return la < lb ? -1 : 1;
            int c = strncmp(sa, sb, la);
            if (c)
                return c < 0 ? -1 : 1;
            continue;
        }
        if (!*a || !*b)
            return *a ? 1 : -1;
        if (da != db)
            return da ? 1 : -1; /* a number segment is newer than letters */
        bool aa = (*a >= 'a' && *a <= 'z') || (*a >= 'A' && *a <= 'Z');
        bool ab = (*b >= 'a' && *b <= 'z') || (*b >= 'A' && *b <= 'Z');
        if (aa != ab)
            return aa ? 1 : -1; /* letters sort after separators */
        if (*a != *b)
            return (unsigned char)*a < (unsigned char)*b ? -1 : 1;
        a++;
        b++;
    }
    return 0;
}

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

static json_t *make_finding(const struct nm_check *c, const struct nm_host *h, const json_t *item,
                            const struct verdict *v)
{
    json_t *extra = json_pack("{s:s, s:s, s:s}", "host", h->name, "severity",
                              nm_severity_name(v->severity), "check", c->id);
    if (v->value)
        json_object_set(extra, "value", (json_t *)v->value);
    if (v->threshold)
        json_object_set(extra, "threshold", (json_t *)v->threshold);
    char *subject = nm_template_expand(c->subject, item, extra);
    char *message = nm_template_expand(v->rule && v->rule->message ? v->rule->message : c->message,
                                       item, extra);
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
    const json_t *ev = json_object_get(item, "evidence");
    if (json_is_string(ev))
        json_object_set(f, "evidence", (json_t *)ev);
    else
        json_object_set_new(f, "evidence", json_null());
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
    /* The item itself, so the report explains the verdict with all its facts. */
    json_t *facts = json_deep_copy(item);
    json_object_del(facts, "evidence");
    json_object_set_new(f, "item", facts);
    free(subject);
    free(message);
    json_decref(extra);
    return f;
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

json_t *nm_check_evaluate(const struct nm_check *c, const struct nm_host *h,
                          const struct nm_section *sec, int64_t now, json_t *findings,
                          json_t *metrics)
{
    char why[1400];
    if (!sec || sec->state == NM_SECTION_MISSING)
        return nm_check_result_entry(c, NM_RESULT_ERROR,
                                     "the probe did not run (host output ended before it)");
    if (sec->state == NM_SECTION_SKIPPED) {
        snprintf(why, sizeof why,
                 "probe %s needs root: the login user is not root and sudo -n is not "
                 "available (%s); grant passwordless sudo for it or scan as root",
                 c->probe->id, sec->skip_reason);
        return nm_check_result_entry(c, NM_RESULT_ERROR, why);
    }
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
    /* The run's clock, unless the check file pins its own "now". */
    json_t *opts = json_incref(c->parser_options);
    if (nm_parser_reads_clock(c->parser) && !json_object_get(opts, "now")) {
        json_t *o = opts ? json_copy(opts) : json_object();
        json_object_set_new(o, "now", json_integer((json_int_t)now));
        json_decref(opts);
        opts = o;
    }
    int pr = c->parser->fn(sec->out.data ? sec->out.data : "", sec->out.len, opts, &items, &d);
    json_decref(opts);
    if (pr < 0) {
        snprintf(why, sizeof why, "parser %s: %s", c->parser->name, d.msg);
        return nm_check_result_entry(c, NM_RESULT_ERROR, why);
    }
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
    size_t n_items = 0, n_findings = 0;
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
        json_array_append_new(findings, make_finding(c, h, item, &v));
        n_findings++;
        if (v.severity > worst)
            worst = v.severity;
    }
    enum nm_check_result r = worst >= NM_SEV_HIGH  ? NM_RESULT_FAIL
                             : worst >= NM_SEV_LOW ? NM_RESULT_WARN
                                                   : NM_RESULT_PASS;
    json_t *e = nm_check_result_entry(c, r, NULL);
    json_object_set_new(e, "items", json_integer((json_int_t)n_items));
    json_object_set_new(e, "findings", json_integer((json_int_t)n_findings));
    return e;
}
