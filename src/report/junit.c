/*
 * JUnit XML for CI systems (Jenkins, GitLab, GitHub test reporters): one
 * <testsuite> per host, one <testcase> per check, built with libxml2's tree
 * so every host string is escaped by the serialiser.  The structure follows
 * the widely used Ant/Jenkins schema (tests/data/reports/junit.xsd is our
 * own rendering of it, and the unit test validates against it).
 *
 * Result mapping (docs/report.md):
 *   pass           passed testcase
 *   warn           <failure> as for fail when its worst finding is at or above
 *                  the run's --fail-on (the report's "fail_on"), so that the
 *                  build the exit status fails is red here too; otherwise
 *                  passed, findings listed in <system-out>
 *   fail           <failure message type=worst severity> listing findings
 *   error          <error message=reason>
 *   notapplicable  <skipped message=reason>
 *   waived         <skipped message=justification>
 * Every host also has a "connect" testcase: passed when the host was
 * scanned, <error> with status and reason when it was not (then it is the
 * host's only testcase).  Fleet-level findings form a "(fleet)" suite.
 *
 * XML 1.0 forbids NUL and most control characters, so every string reaches
 * the tree through nm_utf8_clean() or the serialiser writes an unparseable
 * file.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/tree.h>
#include <libxml/xmlsave.h>

#include "nearmiss/hostiter.h"
#include "nearmiss/report_view.h"
#include "nearmiss/model.h"
#include "nearmiss/utf8.h"
#include "nearmiss/util.h"
#include "nearmiss/writers.h"
#include "report/write.h"

/* ---- JUnit ---------------------------------------------------------------- */

static const char *str(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

static void set_attr(xmlNodePtr n, const char *name, const char *value)
{
    char *c = nm_utf8_clean(value ? value : "", value ? strlen(value) : 0);
    xmlNewProp(n, BAD_CAST name, BAD_CAST c);
    free(c);
}

/* Buffers can hold NULs from the report: pass the length, never strlen. */
static void set_attr_buf(xmlNodePtr n, const char *name, const struct nm_buf *b)
{
    char *c = nm_utf8_clean(b->data ? b->data : "", b->len);
    xmlNewProp(n, BAD_CAST name, BAD_CAST c);
    free(c);
}

static void set_attr_json(xmlNodePtr n, const char *name, const json_t *v)
{
    char *c = nm_utf8_clean_json(v);
    xmlNewProp(n, BAD_CAST name, BAD_CAST(c ? c : ""));
    free(c);
}

static void set_attr_count(xmlNodePtr n, const char *name, size_t v)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%zu", v);
    xmlNewProp(n, BAD_CAST name, BAD_CAST buf);
}

static void add_text(xmlNodePtr n, const char *s, size_t len)
{
    char *c = nm_utf8_clean(s, len);
    xmlAddChild(n, xmlNewText(BAD_CAST c));
    free(c);
}

/* A JSON value as text: strings as they are, anything else as compact JSON. */
static void buf_json(struct nm_buf *b, const json_t *v)
{
    if (json_is_string(v)) {
        nm_buf_append(b, json_string_value(v), json_string_length(v));
        return;
    }
    char *t = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    if (t) {
        nm_buf_appends(b, t);
        free(t);
    }
}

/* Seconds with millisecond precision, from an integer of milliseconds. */
static void set_attr_ms(xmlNodePtr n, const char *name, const json_t *ms)
{
    char buf[48];
    json_int_t v = json_is_integer(ms) ? json_integer_value(ms) : 0;
    if (json_is_real(ms))
        v = (json_int_t)json_real_value(ms);
    if (v < 0)
        v = 0;
    snprintf(buf, sizeof buf, "%" JSON_INTEGER_FORMAT ".%03d", v / 1000, (int)(v % 1000));
    xmlNewProp(n, BAD_CAST name, BAD_CAST buf);
}

/* "YYYY-MM-DDTHH:MM:SSZ" -> "YYYY-MM-DDTHH:MM:SS": the Ant schema's timestamp
 * has no zone designator; ours are always UTC (documented). */
static bool junit_timestamp(const char *iso, char out[20])
{
    static const char shape[] = "dddd-dd-ddTdd:dd:dd";
    if (!iso || strlen(iso) < 19)
        return false;
    for (size_t i = 0; i < 19; i++) {
        if (shape[i] == 'd' ? (iso[i] < '0' || iso[i] > '9') : iso[i] != shape[i])
            return false;
    }
    memcpy(out, iso, 19);
    out[19] = '\0';
    return true;
}

static void add_property(xmlNodePtr props, const char *name, const json_t *v)
{
    if (!v || json_is_null(v))
        return;
    struct nm_buf b;
    nm_buf_init(&b, 64 * 1024);
    buf_json(&b, v);
    if (json_is_array(v)) {
        /* Lists (roles) read better as "a, b" than as JSON. */
        nm_buf_reset(&b);
        size_t i;
        const json_t *e;
        json_array_foreach (v, i, e) {
            if (i)
                nm_buf_appends(&b, ", ");
            buf_json(&b, e);
        }
        if (b.len == 0) {
            nm_buf_finish(&b);
            return;
        }
    }
    xmlNodePtr p = xmlNewChild(props, NULL, BAD_CAST "property", NULL);
    set_attr(p, "name", name);
    char *c = nm_utf8_clean(b.data ? b.data : "", b.len);
    xmlNewProp(p, BAD_CAST "value", BAD_CAST c);
    free(c);
    nm_buf_finish(&b);
}

struct counts {
    size_t tests, failures, errors, skipped;
};

/* One line per finding: "[severity] subject: message", then the fix. */
static void describe_finding(struct nm_buf *b, const json_t *f)
{
    nm_buf_appends(b, "[");
    buf_json(b, json_object_get(f, "severity"));
    nm_buf_appends(b, "] ");
    if (json_object_get(f, "subject")) {
        buf_json(b, json_object_get(f, "subject"));
        nm_buf_appends(b, ": ");
    }
    buf_json(b, json_object_get(f, "message"));
    const json_t *w = json_object_get(f, "waiver");
    if (!nm_view_active(f)) {
        nm_buf_appends(b, " (waived: ");
        buf_json(b, json_object_get(w, "justification"));
        nm_buf_appends(b, ", until ");
        buf_json(b, json_object_get(w, "expires"));
        nm_buf_appends(b, ")");
    }
    nm_buf_appends(b, "\n");
    if (json_is_string(json_object_get(f, "remediation"))) {
        nm_buf_appends(b, "    fix: ");
        buf_json(b, json_object_get(f, "remediation"));
        nm_buf_appends(b, "\n");
    }
}

static void checks_findings(const json_t *host, const char *check, struct nm_buf *b,
                            size_t *ret_active, const json_t **ret_first, int *ret_worst)
{
    size_t i, active = 0;
    const json_t *f, *first = NULL;
    int worst = NM_SEV_NONE;
    json_array_foreach (json_object_get(host, "findings"), i, f) {
        const char *c = str(f, "check");
        if (!c || strcmp(c, check) != 0)
            continue;
        describe_finding(b, f);
        if (!nm_view_active(f))
            continue;
        active++;
        int s = nm_view_severity(f);
        if (!first || s > worst) {
            first = f;
            worst = s;
        }
    }
    *ret_active = active;
    *ret_first = first;
    *ret_worst = worst;
}

static void add_check(xmlNodePtr suite, const char *classname, const json_t *host,
                      const json_t *chk, int fail_on, struct counts *n)
{
    const char *id = str(chk, "id");
    const char *result = str(chk, "result");
    xmlNodePtr tc = xmlNewChild(suite, NULL, BAD_CAST "testcase", NULL);
    set_attr(tc, "classname", classname);
    /* The schema wants a non-empty name. */
    if (id && *id)
        set_attr_json(tc, "name", json_object_get(chk, "id"));
    else
        set_attr(tc, "name", "(unnamed check)");
    n->tests++;
    if (!result)
        result = "error";

    struct nm_buf b;
    nm_buf_init(&b, 1024 * 1024);
    if (strcmp(result, "fail") == 0 || strcmp(result, "warn") == 0) {
        size_t active = 0;
        const json_t *first = NULL;
        int worst = NM_SEV_NONE;
        if (id)
            checks_findings(host, id, &b, &active, &first, &worst);
        bool failed = strcmp(result, "fail") == 0 ||
                      (fail_on != NM_SEV_NONE && worst != NM_SEV_NONE && worst >= fail_on);
        if (failed) {
            xmlNodePtr fl = xmlNewChild(tc, NULL, BAD_CAST "failure", NULL);
            struct nm_buf m;
            nm_buf_init(&m, 4096);
            if (active > 1)
                nm_buf_appendf(&m, "%zu findings; worst: ", active);
            if (first)
                buf_json(&m, json_object_get(first, "message"));
            else
                nm_buf_appends(&m, "check failed");
            set_attr_buf(fl, "message", &m);
            nm_buf_finish(&m);
            set_attr(fl, "type", worst != NM_SEV_NONE ? nm_severity_name(worst) : "fail");
            add_text(fl, b.data ? b.data : "", b.len);
            n->failures++;
        } else if (b.len) {
            xmlNodePtr so = xmlNewChild(tc, NULL, BAD_CAST "system-out", NULL);
            add_text(so, b.data, b.len);
        }
    } else if (strcmp(result, "error") == 0) {
        xmlNodePtr e = xmlNewChild(tc, NULL, BAD_CAST "error", NULL);
        set_attr(e, "message", str(chk, "reason") ? str(chk, "reason") : "check error");
        set_attr(e, "type", "check-error");
        n->errors++;
    } else if (strcmp(result, "notapplicable") == 0) {
        xmlNodePtr s = xmlNewChild(tc, NULL, BAD_CAST "skipped", NULL);
        nm_buf_appends(&b, "not applicable");
        if (str(chk, "reason")) {
            nm_buf_appends(&b, ": ");
            buf_json(&b, json_object_get(chk, "reason"));
        }
        set_attr_buf(s, "message", &b);
        n->skipped++;
    } else if (strcmp(result, "waived") == 0) {
        xmlNodePtr s = xmlNewChild(tc, NULL, BAD_CAST "skipped", NULL);
        struct nm_buf all;
        nm_buf_init(&all, 1024 * 1024);
        size_t active = 0;
        const json_t *first = NULL;
        int worst;
        if (id)
            checks_findings(host, id, &all, &active, &first, &worst);
        nm_buf_appends(&b, "waived");
        /* Name the justification of the first waived finding. */
        size_t i;
        const json_t *f;
        json_array_foreach (json_object_get(host, "findings"), i, f) {
            const char *c = str(f, "check");
            if (!id || !c || strcmp(c, id) != 0 || !!nm_view_active(f))
                continue;
            const json_t *w = json_object_get(f, "waiver");
            nm_buf_appends(&b, ": ");
            buf_json(&b, json_object_get(w, "justification"));
            if (json_is_string(json_object_get(w, "approved_by"))) {
                nm_buf_appends(&b, " (approved by ");
                buf_json(&b, json_object_get(w, "approved_by"));
                nm_buf_appends(&b, ")");
            }
            nm_buf_appends(&b, ", until ");
            buf_json(&b, json_object_get(w, "expires"));
            break;
        }
        set_attr_buf(s, "message", &b);
        if (all.len) {
            xmlNodePtr so = xmlNewChild(tc, NULL, BAD_CAST "system-out", NULL);
            add_text(so, all.data, all.len);
        }
        nm_buf_finish(&all);
        n->skipped++;
    } else if (strcmp(result, "pass") != 0) {
        xmlNodePtr e = xmlNewChild(tc, NULL, BAD_CAST "error", NULL);
        nm_buf_appends(&b, "unknown check result: ");
        nm_buf_appends(&b, result);
        set_attr_buf(e, "message", &b);
        set_attr(e, "type", "check-error");
        n->errors++;
    }
    nm_buf_finish(&b);
}

/* xmlSetProp replaces in place, so a second call keeps the attribute order. */
static void set_counts(xmlNodePtr el, const struct counts *n, bool skipped)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%zu", n->tests);
    xmlSetProp(el, BAD_CAST "tests", BAD_CAST buf);
    snprintf(buf, sizeof buf, "%zu", n->failures);
    xmlSetProp(el, BAD_CAST "failures", BAD_CAST buf);
    snprintf(buf, sizeof buf, "%zu", n->errors);
    xmlSetProp(el, BAD_CAST "errors", BAD_CAST buf);
    if (skipped) {
        snprintf(buf, sizeof buf, "%zu", n->skipped);
        xmlSetProp(el, BAD_CAST "skipped", BAD_CAST buf);
    }
}

static void add_host(xmlNodePtr root, const json_t *host, const char *timestamp, size_t index,
                     int fail_on, struct counts *total)
{
    struct counts n = {0};
    char *name = nm_utf8_clean_json(json_object_get(host, "name"));
    if (!name || !*name) {
        free(name);
        name = nm_xasprintf("host-%zu", index + 1);
    }
    char *classname = nm_xasprintf("nearmiss.%s", name);
    const char *status = str(host, "status");
    bool ok = nm_view_host_ok(host);

    xmlNodePtr suite = xmlNewChild(root, NULL, BAD_CAST "testsuite", NULL);
    set_attr(suite, "name", name);
    set_counts(suite, &n, true); /* placeholders, for the attribute order */
    set_attr_count(suite, "id", index);
    set_attr(suite, "package", "nearmiss");
    if (timestamp)
        set_attr(suite, "timestamp", timestamp);
    set_attr(suite, "hostname", str(host, "address") ? str(host, "address") : name);
    set_attr_ms(suite, "time", json_object_get(json_object_get(host, "scan"), "duration_ms"));

    xmlNodePtr props = xmlNewChild(suite, NULL, BAD_CAST "properties", NULL);
    add_property(props, "status", json_object_get(host, "status"));
    add_property(props, "address", json_object_get(host, "address"));
    add_property(props, "port", json_object_get(host, "port"));
    add_property(props, "criticality", json_object_get(host, "criticality"));
    add_property(props, "roles", json_object_get(host, "roles"));
    add_property(props, "os", json_object_get(json_object_get(host, "os"), "pretty_name"));
    add_property(props, "score", json_object_get(host, "score"));
    if (!props->children) {
        xmlUnlinkNode(props);
        xmlFreeNode(props);
    }

    /* "connect": the one testcase every host has, so a host that stops
     * answering shows as a test that went red, not as tests that vanished. */
    xmlNodePtr tc = xmlNewChild(suite, NULL, BAD_CAST "testcase", NULL);
    set_attr(tc, "classname", classname);
    set_attr(tc, "name", "connect");
    set_attr_ms(tc, "time", json_object_get(json_object_get(host, "scan"), "connect_ms"));
    n.tests++;
    const json_t *err = json_object_get(host, "error");
    if (!ok) {
        xmlNodePtr e = xmlNewChild(tc, NULL, BAD_CAST "error", NULL);
        struct nm_buf b;
        nm_buf_init(&b, 64 * 1024);
        nm_buf_appends(&b, status ? status : "unknown status");
        if (json_is_string(err)) {
            nm_buf_appends(&b, ": ");
            buf_json(&b, err);
        }
        set_attr_buf(e, "message", &b);
        set_attr(e, "type", status ? status : "error");
        nm_buf_finish(&b);
        n.errors++;
    } else {
        if (json_is_string(err)) {
            xmlNodePtr so = xmlNewChild(tc, NULL, BAD_CAST "system-out", NULL);
            add_text(so, json_string_value(err), json_string_length(err));
        }
        size_t i;
        const json_t *chk;
        json_array_foreach (json_object_get(host, "checks"), i, chk)
            add_check(suite, classname, host, chk, fail_on, &n);
    }
    set_counts(suite, &n, true);
    total->tests += n.tests;
    total->failures += n.failures;
    total->errors += n.errors;
    total->skipped += n.skipped;
    free(classname);
    free(name);
}

/* Fleet-level findings, one testcase per check id, all failures. */
static void add_fleet(xmlNodePtr root, const json_t *report, const char *timestamp, size_t index,
                      struct counts *total)
{
    const json_t *ff = json_object_get(report, "fleet_findings");
    if (json_array_size(ff) == 0)
        return;
    struct counts n = {0};
    xmlNodePtr suite = xmlNewChild(root, NULL, BAD_CAST "testsuite", NULL);
    set_attr(suite, "name", "(fleet)");
    set_counts(suite, &n, true);
    set_attr_count(suite, "id", index);
    set_attr(suite, "package", "nearmiss");
    if (timestamp)
        set_attr(suite, "timestamp", timestamp);
    set_attr(suite, "hostname", "fleet");
    set_attr(suite, "time", "0.000");
    size_t nf = json_array_size(ff);
    bool *done = nm_xcalloc(nf ? nf : 1, sizeof *done);
    for (size_t i = 0; i < nf; i++) {
        if (done[i])
            continue;
        const json_t *f = json_array_get(ff, i);
        const char *check = str(f, "check");
        struct nm_buf b;
        nm_buf_init(&b, 1024 * 1024);
        size_t count = 0;
        int worst = NM_SEV_NONE;
        const json_t *first = NULL;
        for (size_t j = i; j < nf; j++) {
            const json_t *g = json_array_get(ff, j);
            const char *c = str(g, "check");
            if (j != i && (!check || !c || strcmp(check, c) != 0))
                continue;
            done[j] = true;
            count++;
            describe_finding(&b, g);
            nm_buf_appends(&b, "    hosts: ");
            size_t k;
            const json_t *h;
            json_array_foreach (json_object_get(g, "hosts"), k, h) {
                if (k)
                    nm_buf_appends(&b, ", ");
                buf_json(&b, h);
            }
            nm_buf_appends(&b, "\n");
            int s = nm_view_severity(g);
            if (!first || s > worst) {
                first = g;
                worst = s;
            }
            if (!check)
                break;
        }
        xmlNodePtr tc = xmlNewChild(suite, NULL, BAD_CAST "testcase", NULL);
        set_attr(tc, "classname", "nearmiss.fleet");
        set_attr(tc, "name", check && *check ? check : "fleet");
        xmlNodePtr fl = xmlNewChild(tc, NULL, BAD_CAST "failure", NULL);
        struct nm_buf m;
        nm_buf_init(&m, 4096);
        if (count > 1)
            nm_buf_appendf(&m, "%zu findings; worst: ", count);
        buf_json(&m, json_object_get(first, "message"));
        set_attr_buf(fl, "message", &m);
        set_attr(fl, "type", worst != NM_SEV_NONE ? nm_severity_name(worst) : "fail");
        add_text(fl, b.data ? b.data : "", b.len);
        nm_buf_finish(&m);
        nm_buf_finish(&b);
        n.tests++;
        n.failures++;
    }
    free(done);
    set_counts(suite, &n, true);
    total->tests += n.tests;
    total->failures += n.failures;
    total->errors += n.errors;
    total->skipped += n.skipped;
}

int nm_report_render_junit(const json_t *report, char **ret_data, size_t *ret_len, nm_diag *d)
{
    struct nm_host_iter it;
    struct nm_host_iter_array_state st;
    nm_host_iter_array(&it, &st, report);
    return nm_report_render_junit_hosts(report, &it, ret_data, ret_len, d);
}

/* The run's wall time when the report has both ends, else the sum of the
 * suites (hosts are scanned in parallel: the wall time says more). */
static void set_run_time(xmlNodePtr root, const json_t *report, double ms)
{
    int64_t t0, t1;
    char buf[48];
    if (nm_utc_parse(str(report, "started_at"), &t0) == 0 &&
        nm_utc_parse(str(report, "finished_at"), &t1) == 0 && t1 >= t0)
        ms = (double)(t1 - t0) * 1000.0;
    long long whole = ms > 0 && ms < 1e15 ? (long long)ms : 0;
    snprintf(buf, sizeof buf, "%lld.%03lld", whole / 1000, whole % 1000);
    set_attr(root, "time", buf);
}

/* The document's root with nothing in it yet, its counts to be set. */
static xmlDocPtr new_doc(xmlNodePtr *ret_root)
{
    xmlDocPtr doc = xmlNewDoc(BAD_CAST "1.0");
    xmlNodePtr root = xmlNewNode(NULL, BAD_CAST "testsuites");
    xmlDocSetRootElement(doc, root);
    set_attr(root, "name", "nearmiss");
    struct counts zero = {0};
    set_counts(root, &zero, false);
    *ret_root = root;
    return doc;
}

static double host_ms(const json_t *h)
{
    const json_t *dur = json_object_get(json_object_get(h, "scan"), "duration_ms");
    return json_is_number(dur) && json_number_value(dur) > 0 ? json_number_value(dur) : 0;
}

int nm_report_render_junit_hosts(const json_t *report, const struct nm_host_iter *it,
                                 char **ret_data, size_t *ret_len, nm_diag *d)
{
    if (!json_is_object(report))
        return nm_diag_set(d, NM_ERR_INVAL, "the report is not a JSON object");
    xmlNodePtr root;
    xmlDocPtr doc = new_doc(&root);
    struct counts total = {0};
    char ts_buf[20];
    const char *ts = junit_timestamp(str(report, "started_at"), ts_buf) ? ts_buf : NULL;
    /* Absent or null: no threshold, warnings pass. */
    int fail_on = nm_severity_from_name(str(report, "fail_on"));
    size_t i = 0;
    const json_t *h;
    double ms = 0;
    int r = nm_host_iter_rewind(it, d);
    while (r == 0 && (r = nm_host_iter_next(it, &h, d)) == 0 && h) {
        add_host(root, h, ts, i++, fail_on, &total);
        ms += host_ms(h);
    }
    if (r < 0) {
        xmlFreeDoc(doc);
        return r;
    }
    add_fleet(root, report, ts, i, &total);
    /* testsuites carries no "skipped" in the Ant/Jenkins schema. */
    set_counts(root, &total, false);
    set_run_time(root, report, ms);

    xmlChar *mem = NULL;
    int size = 0;
    xmlDocDumpFormatMemoryEnc(doc, &mem, &size, "UTF-8", 1);
    xmlFreeDoc(doc);
    return nm_report_take_xml(mem, size, "JUnit XML", ret_data, ret_len, d);
}

/* Frees what add_host()/add_fleet() appended to root after `last`. */
static void drop_after(xmlNodePtr root, xmlNodePtr last)
{
    for (xmlNodePtr n = last ? last->next : root->children, next; n; n = next) {
        next = n->next;
        xmlUnlinkNode(n);
        xmlFreeNode(n);
    }
}

/* Serialises what was appended to root after `last` as the whole-document
 * dump would (one level in, each suite on its own lines), then frees it. */
static void dump_after(FILE *f, xmlOutputBufferPtr ob, xmlDocPtr doc, xmlNodePtr root,
                       xmlNodePtr last)
{
    for (xmlNodePtr n = last ? last->next : root->children; n; n = n->next) {
        fputs("  ", f);
        xmlNodeDumpOutput(ob, doc, n, 1, 1, "UTF-8");
        xmlOutputBufferFlush(ob);
        fputc('\n', f);
    }
    drop_after(root, last);
}

int nm_report_junit_stream(const json_t *report, const struct nm_host_iter *it, FILE *f, nm_diag *d)
{
    if (!json_is_object(report))
        return nm_diag_set(d, NM_ERR_INVAL, "the report is not a JSON object");
    static const char split[] = "  <!--nearmiss-suites-->\n";
    xmlNodePtr root, mark = NULL;
    xmlDocPtr doc = new_doc(&root);
    xmlOutputBufferPtr ob = NULL;
    xmlChar *mem = NULL;
    struct counts total = {0};
    char ts_buf[20];
    const char *ts = junit_timestamp(str(report, "started_at"), ts_buf) ? ts_buf : NULL;
    int fail_on = nm_severity_from_name(str(report, "fail_on"));
    size_t i = 0;
    const json_t *h;
    double ms = 0;

    /* First pass: the totals, which the root carries before any suite. */
    bool any = false;
    int r = nm_host_iter_rewind(it, d);
    while (r == 0 && (r = nm_host_iter_next(it, &h, d)) == 0 && h) {
        add_host(root, h, ts, i++, fail_on, &total);
        ms += host_ms(h);
        any = any || root->children;
        drop_after(root, NULL);
    }
    if (r < 0)
        goto out;
    add_fleet(root, report, ts, i, &total);
    any = any || root->children;
    drop_after(root, NULL);
    set_counts(root, &total, false);
    set_run_time(root, report, ms);

    /* The document around the suites, from libxml2 itself: dumped with a
     * marker where the suites go (without suites, the root closes itself). */
    if (any) {
        mark = xmlNewComment(BAD_CAST "nearmiss-suites");
        xmlAddChild(root, mark);
    }
    int size = 0;
    xmlDocDumpFormatMemoryEnc(doc, &mem, &size, "UTF-8", 1);
    if (mem && !any) {
        fwrite(mem, 1, (size_t)size, f);
        if (ferror(f))
            r = nm_diag_set(d, NM_ERR_IO, "cannot write the JUnit XML: %s", strerror(errno));
        goto out;
    }
    const char *at = mem ? strstr((const char *)mem, split) : NULL;
    if (!at) {
        r = nm_diag_set(d, NM_ERR_NOMEM, "cannot serialise the JUnit XML");
        goto out;
    }
    fwrite(mem, 1, (size_t)(at - (const char *)mem), f);

    /* Second pass: each suite written and freed before the next.  The
     * whole-document dump names the encoding on the document while it
     * writes, which keeps non-ASCII text in attributes as UTF-8 rather than
     * character references; the suites are written under the same terms. */
    if (!doc->encoding)
        doc->encoding = xmlStrdup(BAD_CAST "UTF-8");
    ob = xmlOutputBufferCreateFile(f, NULL);
    if (!ob) {
        r = nm_diag_set(d, NM_ERR_NOMEM, "cannot serialise the JUnit XML");
        goto out;
    }
    i = 0;
    r = nm_host_iter_rewind(it, d);
    while (r == 0 && (r = nm_host_iter_next(it, &h, d)) == 0 && h) {
        xmlNodePtr last = root->last;
        add_host(root, h, ts, i++, fail_on, &(struct counts){0});
        dump_after(f, ob, doc, root, last);
    }
    if (r < 0)
        goto out;
    xmlNodePtr last = root->last;
    add_fleet(root, report, ts, i, &(struct counts){0});
    dump_after(f, ob, doc, root, last);
    fputs(at + strlen(split), f);
    if (ferror(f))
        r = nm_diag_set(d, NM_ERR_IO, "cannot write the JUnit XML: %s", strerror(errno));
out:
    if (ob)
        xmlOutputBufferClose(ob);
    xmlFree(mem);
    xmlFreeDoc(doc);
    return r;
}
