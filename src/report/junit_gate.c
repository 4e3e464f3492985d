/* The gate's verdict as JUnit XML: CI systems show a not-ready host or role
 * as a failed test with its reasons. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/tree.h>

#include "nearmiss/gate.h"
#include "nearmiss/utf8.h"
#include "nearmiss/util.h"
#include "report/write.h"

static void attr(xmlNodePtr n, const char *name, const char *value)
{
    char *c = nm_utf8_clean(value ? value : "", value ? strlen(value) : 0);
    xmlNewProp(n, BAD_CAST name, BAD_CAST c);
    free(c);
}

static void count_attr(xmlNodePtr n, const char *name, size_t v)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%zu", v);
    xmlNewProp(n, BAD_CAST name, BAD_CAST buf);
}

static void add_cases(xmlNodePtr suite, const json_t *items, const char *key, const char *kind,
                      size_t *tests, size_t *failures, size_t *errors)
{
    size_t i;
    json_t *it;
    json_array_foreach (items, i, it) {
        const char *name = json_string_value(json_object_get(it, key));
        const char *v = json_string_value(json_object_get(it, "verdict"));
        char *title = nm_xasprintf("%s %s", kind, name ? name : "?");
        xmlNodePtr tc = xmlNewChild(suite, NULL, BAD_CAST "testcase", NULL);
        attr(tc, "classname", "nearmiss.gate");
        attr(tc, "name", title);
        free(title);
        (*tests)++;
        if (!v || strcmp(v, "ready") == 0)
            continue;
        struct nm_buf b;
        nm_buf_init(&b, 1u << 20);
        size_t k;
        json_t *r;
        json_array_foreach (json_object_get(it, "reasons"), k, r)
            nm_buf_appendf(&b, "%s\n", json_string_value(r) ? json_string_value(r) : "");
        bool failed = strcmp(v, "not_ready") == 0;
        xmlNodePtr el = xmlNewChild(tc, NULL, BAD_CAST(failed ? "failure" : "error"), NULL);
        attr(el, "message", failed ? "not ready" : "could not tell");
        attr(el, "type", v);
        char *c = nm_utf8_clean(b.data ? b.data : "", b.len);
        xmlAddChild(el, xmlNewText(BAD_CAST c));
        free(c);
        nm_buf_finish(&b);
        if (failed)
            (*failures)++;
        else
            (*errors)++;
    }
}

int nm_gate_write_junit(const json_t *verdict, const char *path, nm_diag *d)
{
    xmlDocPtr doc = xmlNewDoc(BAD_CAST "1.0");
    xmlNodePtr root = xmlNewNode(NULL, BAD_CAST "testsuites");
    xmlDocSetRootElement(doc, root);
    xmlNodePtr suite = xmlNewChild(root, NULL, BAD_CAST "testsuite", NULL);
    attr(suite, "name", "nearmiss gate");
    size_t tests = 0, failures = 0, errors = 0;
    add_cases(suite, json_object_get(verdict, "hosts"), "name", "host", &tests, &failures, &errors);
    add_cases(suite, json_object_get(verdict, "roles"), "role", "role", &tests, &failures, &errors);
    count_attr(suite, "tests", tests);
    count_attr(suite, "failures", failures);
    count_attr(suite, "errors", errors);
    attr(root, "name", "nearmiss gate");
    count_attr(root, "tests", tests);
    count_attr(root, "failures", failures);
    count_attr(root, "errors", errors);
    xmlChar *mem = NULL;
    int size = 0;
    xmlDocDumpFormatMemoryEnc(doc, &mem, &size, "UTF-8", 1);
    xmlFreeDoc(doc);
    char *data = NULL;
    size_t len = 0;
    int r = nm_report_take_xml(mem, size, "gate JUnit XML", &data, &len, d);
    if (r < 0)
        return r;
    r = nm_write_atomic(path, data, len, 0644, d);
    free(data);
    return r;
}
