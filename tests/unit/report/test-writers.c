/*
 * Writers: HTML, JUnit XML, Prometheus textfile, and `nearmiss report`.
 *
 *   test-writers            everything below
 *   test-writers promtool   only `promtool check metrics` on the rendered
 *                           files; promtool is a test dependency
 *                           (scripts/deps.sh), so absent is a failure
 *
 * The HTML is read back with libxml2's HTML parser: every host present, one
 * script (ours), no element or attribute a hostile string could have
 * smuggled in, the hostile strings present as text.  The JUnit XML is
 * validated against tests/data/reports/junit.xsd.  The Prometheus file goes
 * through a strict parser of the exposition format written here.
 * Fixtures: tests/data/reports/ (run from tests/, as meson does).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libxml/HTMLparser.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlschemas.h>
#include <libxml/xpath.h>

#include "nearmiss/cli.h"
#include "nearmiss/hostiter.h"
#include "nearmiss/score.h"
#include "nearmiss/utf8.h"
#include "nearmiss/util.h"
#include "nearmiss/writers.h"
#include "test.h"

#define DATA "data/reports/"

static const char H1[] = "<script>alert(1)</script>";
static const char H2[] = "\"><img src=x onerror=alert(1)>";
static const char H3[] = "</script><script>alert(1)</script>";
static const char PROM_RAW[] = "a\"b\\c\nd";

static json_t *load(const char *name, size_t flags)
{
    char *path = nm_xasprintf(DATA "%s", name);
    json_error_t err;
    json_t *j = json_load_file(path, flags, &err);
    if (!j)
        fprintf(stderr, "%s: %s (line %d)\n", path, err.text, err.line);
    free(path);
    return j;
}

/* ---- text cleaning ---------------------------------------------------------- */

static void test_clean_text(void)
{
    static const struct {
        const char *in;
        size_t len;
        const char *out;
    } cases[] = {
        {"plain", 5, "plain"},
        {"caf\xc3\xa9 \xe4\xb8\xad \xf0\x9f\x98\x80", 14,
         "caf\xc3\xa9 \xe4\xb8\xad \xf0\x9f\x98\x80"},
        {"a\0b", 3,
         "a\xef\xbf\xbd"
         "b"},
        {"\xff\xfe", 2, "\xef\xbf\xbd\xef\xbf\xbd"},
        {"\xc0\xaf", 2, "\xef\xbf\xbd\xef\xbf\xbd"},                 /* overlong '/' */
        {"\xed\xa0\x80", 3, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"}, /* surrogate */
        {"\xf4\x90\x80\x80", 4, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},
        {"x\xe4\xb8", 3, "x\xef\xbf\xbd\xef\xbf\xbd"}, /* truncated */
        {"t\tn\nr\r\nc\r.", 10, "t\tn\nr\nc\n."},
        {"\x01\x1b[31m\x7f", 7, "\xef\xbf\xbd\xef\xbf\xbd[31m\xef\xbf\xbd"},
        {"\xc2\x85", 2, "\xef\xbf\xbd"},     /* C1 NEL */
        {"\xef\xbf\xbe", 3, "\xef\xbf\xbd"}, /* U+FFFE */
        {"", 0, ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *c = nm_utf8_clean(cases[i].in, cases[i].len);
        CHECK_STR(c, cases[i].out);
        free(c);
    }
    CHECK(nm_utf8_clean_json(NULL) == NULL);
    json_t *n = json_integer(3);
    CHECK(nm_utf8_clean_json(n) == NULL);
    json_decref(n);
    json_t *s = json_stringn("x\0y", 3);
    char *c = nm_utf8_clean_json(s);
    CHECK_STR(c, "x\xef\xbf\xbdy");
    free(c);
    json_decref(s);
}

static void test_parse_utc(void)
{
    int64_t t = 0;
    CHECK_INT(nm_utc_parse("1970-01-01T00:00:00Z", &t), 0);
    CHECK_INT(t, 0);
    CHECK_INT(nm_utc_parse("2026-11-24T10:00:17Z", &t), 0);
    CHECK_INT(t, 1795514417);
    CHECK_INT(nm_utc_parse("2000-02-29T23:59:59Z", &t), 0);
    CHECK_INT(t, 951868799);
    CHECK(nm_utc_parse("2026-11-24T10:00:17", &t) < 0);
    CHECK(nm_utc_parse("2026-13-24T10:00:17Z", &t) < 0);
    CHECK(nm_utc_parse("2026-11-24 10:00:17Z", &t) < 0);
    CHECK(nm_utc_parse(NULL, &t) < 0);
}

static void test_formats_parse(void)
{
    unsigned f = 0;
    nm_diag d = {{0}};
    CHECK_INT(nm_report_formats_parse("json,html,junit,prom", &f, &d), 0);
    CHECK_INT(f, NM_FORMAT_JSON | NM_FORMAT_HTML | NM_FORMAT_JUNIT | NM_FORMAT_PROM);
    CHECK_INT(nm_report_formats_parse("prom,,prom", &f, &d), 0);
    CHECK_INT(f, NM_FORMAT_PROM);
    CHECK_INT(nm_report_formats_parse("", &f, &d), 0);
    CHECK_INT(f, 0);
    f = 99;
    CHECK_INT(nm_report_formats_parse("html,pdf", &f, &d), NM_ERR_INVAL);
    CHECK_INT(f, 99); /* untouched on error */
    CHECK(strstr(d.msg, "\"pdf\"") != NULL);
    CHECK(nm_report_formats_parse("htmlx", &f, &d) < 0);
}

/* ---- HTML --------------------------------------------------------------------- */

static xmlXPathObjectPtr xpath(xmlDocPtr doc, const char *expr)
{
    xmlXPathContextPtr ctx = xmlXPathNewContext(doc);
    xmlXPathObjectPtr o = xmlXPathEvalExpression(BAD_CAST expr, ctx);
    xmlXPathFreeContext(ctx);
    return o;
}

static int xcount(xmlDocPtr doc, const char *expr)
{
    xmlXPathObjectPtr o = xpath(doc, expr);
    int n = !o ? -1 : o->nodesetval ? o->nodesetval->nodeNr : 0;
    xmlXPathFreeObject(o);
    return n;
}

static char *xstring(xmlDocPtr doc, const char *expr)
{
    xmlXPathContextPtr ctx = xmlXPathNewContext(doc);
    char *q = nm_xasprintf("string(%s)", expr);
    xmlXPathObjectPtr o = xmlXPathEvalExpression(BAD_CAST q, ctx);
    free(q);
    xmlXPathFreeContext(ctx);
    char *s = nm_xstrdup(o && o->stringval ? (const char *)o->stringval : "");
    xmlXPathFreeObject(o);
    return s;
}

static size_t count_ci(const char *hay, size_t len, const char *needle)
{
    size_t n = 0, nl = strlen(needle);
    for (size_t i = 0; i + nl <= len; i++)
        if (strncasecmp(hay + i, needle, nl) == 0)
            n++;
    return n;
}

/* A host's name as the writers render it. */
static char *clean_name(const json_t *h)
{
    return nm_utf8_clean_json(json_object_get(h, "name"));
}

/* The page's data blocks, read back as the page's script reads them: the
 * index (one row per host), every host's details line, the string table. */
struct page_data {
    json_t *index, *hosts, *strings;
};

static void page_data_read(xmlDocPtr doc, struct page_data *pd)
{
    json_error_t err;
    char *ix = xstring(doc, "//script[@id='nm-index']");
    pd->index = json_loads(ix, 0, &err);
    free(ix);
    char *st = xstring(doc, "//script[@id='nm-strings']");
    pd->strings = json_loads(st, 0, &err);
    free(st);
    pd->hosts = json_array();
    xmlXPathObjectPtr o = xpath(doc, "//script[@class='nm-hosts']");
    for (int i = 0; o && o->nodesetval && i < o->nodesetval->nodeNr; i++) {
        xmlChar *t = xmlNodeGetContent(o->nodesetval->nodeTab[i]);
        char *p = (char *)t;
        while (p && *p) {
            char *e = strchr(p, '\n');
            if (e)
                *e = '\0';
            if (*p) {
                json_t *line = json_loads(p, 0, &err);
                CHECK(line != NULL);
                if (line)
                    json_array_append_new(pd->hosts, line);
            }
            p = e ? e + 1 : NULL;
        }
        xmlFree(t);
    }
    xmlXPathFreeObject(o);
    CHECK(json_is_array(pd->index));
    CHECK(json_is_array(pd->strings));
}

static void page_data_finish(struct page_data *pd)
{
    json_decref(pd->index);
    json_decref(pd->hosts);
    json_decref(pd->strings);
}

/* The details line of host i, as the script finds it (its "i" checked). */
static const json_t *data_host(const struct page_data *pd, size_t i)
{
    const json_t *h = json_array_get(pd->hosts, i);
    return json_integer_value(json_object_get(h, "i")) == (json_int_t)i ? h : NULL;
}

static const json_t *data_finding(const json_t *host, size_t j)
{
    size_t k;
    const json_t *f;
    json_array_foreach (json_object_get(host, "f"), k, f)
        if (json_integer_value(json_object_get(f, "j")) == (json_int_t)j)
            return f;
    return NULL;
}

/* A finding's remediation as the script shows it. */
static const char *data_fix(const struct page_data *pd, const json_t *f)
{
    if (json_is_string(json_object_get(f, "fix")))
        return json_string_value(json_object_get(f, "fix"));
    const json_t *id = json_object_get(f, "fx");
    return json_is_integer(id)
               ? json_string_value(json_array_get(pd->strings, (size_t)json_integer_value(id)))
               : NULL;
}

/* A row of the script's host table, by name. */
static bool has_host_row(const struct page_data *pd, const char *name)
{
    size_t i;
    const json_t *r;
    json_array_foreach (pd->index, i, r) {
        const char *n = json_string_value(json_array_get(r, 1));
        if (n && strcmp(n, name) == 0)
            return json_integer_value(json_array_get(r, 0)) == (json_int_t)i;
    }
    return false;
}

/* Counts a needle in every <script> body but ours: the data blocks never
 * hold '<' (written as \u003c), so nothing in them can end the element. */
static void check_data_scripts(const char *html, size_t len)
{
    size_t n_open = count_ci(html, len, "<script"), n_json = 0;
    CHECK_INT(count_ci(html, len, "</script"), n_open);
    CHECK_INT(count_ci(html, len, "<script>"), 1);
    const char *p = html;
    while ((p = strstr(p, "<script type=\"application/json\"")) != NULL) {
        const char *body = strchr(p, '>');
        const char *end = body ? strstr(body, "</script>") : NULL;
        CHECK(body && end);
        if (!body || !end)
            break;
        body++;
        CHECK(memchr(body, '<', (size_t)(end - body)) == NULL);
        n_json++;
        p = end;
    }
    CHECK_INT(n_json + 1, n_open);
}

static void check_html(const json_t *report, const char *label)
{
    char *html = NULL;
    size_t len = 0;
    nm_diag d = {{0}};
    fprintf(stderr, "html: %s\n", label);
    CHECK_INT(nm_report_render_html(report, &html, &len, &d), 0);
    if (!html)
        return;
    CHECK(len > 1000);
    CHECK(strlen(html) == len);
    CHECK(strncmp(html, "<!DOCTYPE html>", 15) == 0);

    /* ASCII only: no byte a mail client or file:// could mis-decode. */
    size_t high = 0;
    for (size_t i = 0; i < len; i++)
        high += (unsigned char)html[i] >= 0x80;
    CHECK_INT(high, 0);
    /* Exactly our script runs; the others are data that cannot end early. */
    check_data_scripts(html, len);
    CHECK_INT(count_ci(html, len, "<!--"), 0);
    CHECK_INT(count_ci(html, len, "<img"), 0);
    CHECK_INT(count_ci(html, len, "<svg onload"), 0);
    {
        const char *s = strstr(html, "<script>");
        const char *e = s ? strstr(s, "</script>") : NULL;
        CHECK(s && e);
        if (s && e) {
            size_t body = (size_t)(e - s) - 8;
            CHECK_INT(count_ci(s + 8, body, "</"), 0);
            CHECK_INT(count_ci(s + 8, body, "<!--"), 0);
            CHECK(strstr(s, "data-") != NULL);
        }
        const char *st = strstr(html, "<style>");
        const char *se = st ? strstr(st, "</style>") : NULL;
        CHECK(st && se);
        if (st && se)
            CHECK_INT(count_ci(st + 7, (size_t)(se - st) - 7, "</"), 0);
    }

    htmlDocPtr doc = htmlReadMemory(html, (int)len, NULL, "UTF-8",
                                    HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING | HTML_PARSE_NONET);
    CHECK(doc != NULL);
    if (!doc) {
        free(html);
        return;
    }
    /* Nothing that runs code or fetches anything. */
    CHECK_INT(xcount(doc, "//script[not(@type)]"), 1);
    CHECK_INT(xcount(doc, "//script[@type and @type!='application/json']"), 0);
    CHECK_INT(xcount(doc, "//img|//iframe|//object|//embed|//link|//base|//form|//frame"), 0);
    CHECK_INT(xcount(doc, "//@*[starts-with(translate(name(),'ON','on'),'on')]"), 0);
    CHECK_INT(xcount(doc, "//@src|//@srcdoc|//@action|//@formaction"), 0);
    CHECK_INT(xcount(doc, "//@href[not(starts-with(., '#'))]"), 0);
    CHECK_INT(xcount(doc, "//meta[@http-equiv]"), 0);
    CHECK_INT(xcount(doc, "//@style[contains(., 'url(') or contains(., 'expression')]"), 0);
    /* Sections. */
    CHECK_INT(xcount(doc, "//*[@id='fleet-score']"), 1);
    {
        /* The fleet score as the report has it; none (nothing scanned):
         * "unknown", never a number. */
        const json_t *fs = json_object_get(json_object_get(report, "summary"), "fleet_score");
        char *big = xstring(doc, "normalize-space(//*[@id='fleet-score']/div[@class='big'])");
        char *want = json_is_number(fs) ? nm_xasprintf("%.1f / 100", json_number_value(fs))
                                        : nm_xstrdup("unknown");
        CHECK_STR(big, want);
        free(big);
        free(want);
    }
    CHECK_INT(xcount(doc, "//*[@id='severity-counts']//li"), 5);
    CHECK_INT(xcount(doc, "//*[@id='chart-categories']//svg"), 1);
    CHECK_INT(xcount(doc, "//*[@id='chart-scores']//svg"), 1);
    CHECK_INT(xcount(doc, "//*[@id='top-risks']"), 1);
    CHECK_INT(xcount(doc, "//*[@id='fleet']"), 1);
    CHECK_INT(xcount(doc, "//*[@id='unscanned']"), 1);
    CHECK_INT(xcount(doc, "//*[@id='hostlist']"), 1);
    CHECK(xcount(doc, "//ol[@class='risks']/li") <= 10);

    /* Every host in the table's data, by name; every finding in the
     * details, each with its evidence and fields; the riskiest as HTML. */
    const json_t *hosts = json_object_get(report, "hosts");
    size_t i, nf = 0, unscanned = 0;
    const json_t *h;
    struct page_data pd;
    page_data_read(doc, &pd);
    CHECK_INT(json_array_size(pd.index), json_array_size(hosts));
    CHECK_INT(json_array_size(pd.hosts), json_array_size(hosts));
    json_array_foreach (hosts, i, h) {
        char *name = clean_name(h);
        if (name && !has_host_row(&pd, name)) {
            fprintf(stderr, "  host %zu (%s) missing\n", i, name);
            CHECK(false);
        }
        free(name);
        const json_t *dh = data_host(&pd, i);
        CHECK(dh != NULL);
        size_t n = json_array_size(json_object_get(h, "findings"));
        CHECK_INT(json_array_size(json_object_get(dh, "f")), n);
        for (size_t j = 0; j < n; j++) {
            const json_t *df = data_finding(dh, j);
            CHECK(df != NULL);
            const json_t *f = json_array_get(json_object_get(h, "findings"), j);
            if (df && json_is_string(json_object_get(f, "evidence")))
                CHECK(json_is_string(json_object_get(df, "ev")));
            if (df && json_is_string(json_object_get(f, "remediation")))
                CHECK(data_fix(&pd, df) != NULL);
        }
        nf += n;
        const char *st = json_string_value(json_object_get(h, "status"));
        unscanned += !st || strcmp(st, "ok") != 0;
    }
    page_data_finish(&pd);
    /* Without the script: the riskiest hosts, their worst findings, and no
     * host table. */
    size_t n_static = json_array_size(hosts) < 25 ? json_array_size(hosts) : 25;
    CHECK_INT(xcount(doc, "//div[@id='worst-hosts']//li[@class='nojs-host']"), n_static);
    CHECK_INT(xcount(doc, "//div[@id='hostrows']/*"), 0);
    CHECK(
        xcount(doc, "//div[@id='worst-hosts']//li[contains(concat(' ',@class,' '),' finding ')]") <=
        (int)nf);
    CHECK_INT(xcount(doc, "//section[@id='unscanned']//tr[@data-host]"),
              unscanned < 100 ? unscanned : 100);
    /* A short list is open; a long one is one click away. */
    CHECK_INT(xcount(doc, "//section[@id='unscanned']/details[@open]"),
              unscanned > 0 && unscanned <= 20 ? 1 : 0);
    CHECK_INT(xcount(doc, "//li[contains(@class,'fleet-finding')]"),
              json_array_size(json_object_get(report, "fleet_findings")));
    /* The static list's order: score descending, unknown scores last. */
    {
        xmlXPathObjectPtr o = xpath(doc, "//div[@id='worst-hosts']//li[@class='nojs-host']");
        double prev = 1000;
        bool unknown_seen = false, ok = true;
        for (int k = 0; o && o->nodesetval && k < o->nodesetval->nodeNr; k++) {
            xmlChar *sc = xmlGetProp(o->nodesetval->nodeTab[k], BAD_CAST "data-score");
            if (!sc || !*sc) {
                unknown_seen = true;
            } else {
                double v = strtod((const char *)sc, NULL);
                ok = ok && !unknown_seen && v <= prev;
                prev = v;
            }
            xmlFree(sc);
        }
        xmlXPathFreeObject(o);
        CHECK(ok);
    }
    xmlFreeDoc(doc);
    free(html);
}

static void test_html_hostile(void)
{
    json_t *r = load("hostile.json", JSON_ALLOW_NUL);
    CHECK(r != NULL);
    if (!r)
        return;
    check_html(r, "hostile.json (with NUL)");
    char *html = NULL;
    size_t len = 0;
    CHECK_INT(nm_report_render_html(r, &html, &len, NULL), 0);
    htmlDocPtr doc = htmlReadMemory(html, (int)len, NULL, "UTF-8",
                                    HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING | HTML_PARSE_NONET);
    /* The hostile strings are there, as data the script shows as text, and
     * as text in the static list. */
    struct page_data pd;
    page_data_read(doc, &pd);
    CHECK(has_host_row(&pd, H1));
    CHECK(has_host_row(&pd, H2));
    CHECK(has_host_row(&pd, H3));
    CHECK(has_host_row(&pd, "nul\xef\xbf\xbd<script>alert(1)</script>"));
    CHECK(xcount(doc, "//div[@id='worst-hosts']//strong[@class='host-name']") >= 3);
    char *title = xstring(doc, "//title");
    CHECK(strstr(title, "2026-11-24T02:00:00Z") != NULL);
    free(title);
    char *gen = xstring(doc, "//meta[@name='generator']/@content");
    CHECK_STR(gen, "nearmiss <script>alert(1)</script>");
    free(gen);
    /* Evidence keeps its lines; the NUL became U+FFFD. */
    const json_t *h0 = data_host(&pd, 0);
    const char *ev = json_string_value(json_object_get(data_finding(h0, 0), "ev"));
    CHECK(ev && strstr(ev, "subject=CN=<script>alert(1)</script>\n</script><script>") != NULL);
    CHECK(ev && strstr(ev, "nul\xef\xbf\xbd<script>") != NULL);
    /* Waiver badges (in the head and on the waiver's line), unknown
     * severity and category as text. */
    const json_t *f4 = data_finding(h0, 4), *f5 = data_finding(h0, 5), *f3 = data_finding(h0, 3);
    CHECK_STR(json_string_value(json_array_get(json_array_get(json_object_get(f4, "b"), 0), 0)),
              "badge badge-waived");
    CHECK_STR(json_string_value(json_array_get(json_object_get(f4, "wv"), 0)),
              "badge badge-waived");
    CHECK_STR(json_string_value(json_array_get(json_array_get(json_object_get(f5, "b"), 0), 0)),
              "badge badge-expired");
    CHECK_STR(json_string_value(json_array_get(json_object_get(f5, "wv"), 0)),
              "badge badge-expired");
    CHECK_STR(json_string_value(json_object_get(f3, "ct")), H1);
    CHECK_INT(json_integer_value(json_object_get(f3, "n")), -1);
    /* The top risk is the 60-point certificate; waived findings are not risks. */
    char *top = xstring(doc, "//ol[@class='risks']/li[1]//a/@href");
    CHECK_STR(top, "#h-0-f-0");
    free(top);
    CHECK_INT(xcount(doc, "//ol[@class='risks']/li//a[@href='#h-0-f-4']"), 0);
    /* Fleet finding names its hosts, linking those that exist. */
    CHECK_INT(xcount(doc, "//li[contains(@class,'fleet-finding')]//a"), 2);
    /* Measurements: a block per check, hostile keys as text. */
    const json_t *me = json_object_get(h0, "me");
    CHECK_INT(json_array_size(me), 3);
    const char *meas = json_string_value(json_array_get(json_array_get(me, 2), 1));
    CHECK(meas &&
          strstr(meas, "\"><img src=x onerror=alert(1)>\n    <script>alert(1)</script>") != NULL);
    page_data_finish(&pd);
    /* The waivers table. */
    CHECK_INT(xcount(doc, "//section[@id='waivers']//tbody/tr"), 1);
    xmlFreeDoc(doc);
    free(html);
    json_decref(r);

    r = load("hostile-sanitised.json", 0);
    CHECK(r != NULL);
    if (r)
        check_html(r, "hostile-sanitised.json");
    json_decref(r);
}

/* A report holding what JSON cannot: invalid UTF-8, controls, NULs, built
 * with the _nocheck constructors as a buggy stage could. */
static json_t *invalid_utf8_report(void)
{
    static const char bad[] =
        "bad\xff\xfe\xc0\xaf\xed\xa0\x80\x01\x1b[0m\0<script>alert(1)</script>";
    json_t *r = json_object();
    json_object_set_new(r, "schema", json_string("nearmiss.report/1"));
    json_object_set_new(r, "started_at", json_stringn_nocheck(bad, sizeof bad - 1));
    json_t *hosts = json_array();
    for (int i = 0; i < 2; i++) {
        json_t *h = json_object();
        json_object_set_new(h, "name", json_stringn_nocheck(bad, sizeof bad - 1 - (size_t)i));
        json_object_set_new(h, "address", json_stringn_nocheck(bad, 6));
        json_object_set_new(h, "status", json_string(i ? "timeout" : "ok"));
        json_object_set_new(h, "error",
                            i ? json_stringn_nocheck(bad, sizeof bad - 1) : json_null());
        json_object_set_new(h, "score", i ? json_null() : json_integer(40));
        json_t *roles = json_array();
        json_array_append_new(roles, json_stringn_nocheck(bad, sizeof bad - 1));
        json_object_set_new(h, "roles", roles);
        json_t *labels = json_object();
        json_object_set_new_nocheck(labels, "k\xff", json_stringn_nocheck(bad, sizeof bad - 1));
        json_object_set_new(h, "labels", labels);
        json_t *f = json_object();
        json_object_set_new(f, "check", json_stringn_nocheck(bad, 8));
        json_object_set_new(f, "category", json_stringn_nocheck(bad, sizeof bad - 1));
        json_object_set_new(f, "severity", json_string("critical"));
        json_object_set_new(f, "subject", json_stringn_nocheck(bad, sizeof bad - 1));
        json_object_set_new(f, "message", json_stringn_nocheck(bad, sizeof bad - 1));
        json_object_set_new(f, "evidence", json_stringn_nocheck(bad, sizeof bad - 1));
        json_object_set_new(f, "fingerprint", json_string("fp"));
        json_t *item = json_object();
        json_object_set_new(item, "mount", json_stringn_nocheck(bad, sizeof bad - 1));
        json_object_set_new(item, "use_pct", json_integer(99));
        json_object_set_new(item, "not_after_unix", json_integer(1800000000));
        json_object_set_new(f, "item", item);
        json_t *fs = json_array();
        if (!i)
            json_array_append_new(fs, f);
        else
            json_decref(f);
        json_object_set_new(h, "findings", fs);
        json_t *checks = json_array();
        json_array_append_new(
            checks, json_pack("{s:o, s:s}", "id", json_stringn_nocheck(bad, 8), "result", "fail"));
        json_array_append_new(checks,
                              json_pack("{s:s, s:s, s:o}", "id", "e", "result", "error", "reason",
                                        json_stringn_nocheck(bad, sizeof bad - 1)));
        json_object_set_new(h, "checks", checks);
        json_object_set_new(
            h, "score_breakdown",
            json_pack("[{s:s, s:s, s:f}]", "fingerprint", "fp", "check", "x", "points", 40.0));
        json_array_append_new(hosts, h);
    }
    json_object_set_new(r, "hosts", hosts);
    json_object_set_new(r, "fleet_findings", json_array());
    return r;
}

static void test_html_fixtures(void)
{
    static const char *const names[] = {"fleet-test.json", "fleet-full.json", "empty.json"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        json_t *r = load(names[i], 0);
        CHECK(r != NULL);
        if (r)
            check_html(r, names[i]);
        json_decref(r);
    }
    json_t *r = invalid_utf8_report();
    check_html(r, "invalid UTF-8");
    json_decref(r);
    /* Not an object: an error, nothing written. */
    json_t *a = json_array();
    char *out = (char *)"untouched";
    size_t len = 7;
    nm_diag d = {{0}};
    CHECK_INT(nm_report_render_html(a, &out, &len, &d), NM_ERR_INVAL);
    CHECK_STR(out, "untouched");
    CHECK_INT(nm_report_render_junit(a, &out, &len, &d), NM_ERR_INVAL);
    CHECK_INT(nm_report_render_prom(a, &out, &len, &d), NM_ERR_INVAL);
    CHECK_INT(len, 7);
    json_decref(a);
}

/* Remediation code spans become <code> nodes; a finding links its advisory
 * (URL rebuilt from the id), and its check's reference only when it is a
 * plain https URL; a critical fleet finding is in "fix first". */
static void test_html_links_and_code(void)
{
    json_error_t jerr;
    json_t *r = json_loads(
        "{\"schema\": \"nearmiss.report/1\", \"started_at\": \"2026-11-24T02:00:00Z\","
        " \"summary\": {\"fleet_score\": 50, \"fleet_score_breakdown\": ["
        "   {\"fingerprint\": \"ff\", \"likelihood\": 0.36, \"worth\": 0.2}]},"
        " \"hosts\": [{\"name\": \"web1\", \"status\": \"ok\", \"score\": 20,"
        "   \"score_breakdown\": [{\"fingerprint\": \"f1\", \"worth\": 20}],"
        "   \"findings\": [{\"check\": \"patch-dnf\", \"category\": \"patch\","
        "     \"severity\": \"critical\", \"subject\": \"RLSA-2024:3501\", \"fingerprint\": \"f1\","
        "     \"message\": \"RLSA-2024:3501 fixes curl, libcurl\","
        "     \"remediation\": \"Run `dnf upgrade --advisory=<b>RLSA</b>` then `a` and ` "
        "unpaired\","
        "     \"links\": ["
        "       {\"rel\": \"advisory\", \"id\": \"RLSA-2024:3501\", \"url\": "
        "\"javascript:alert(1)\"},"
        "       {\"rel\": \"advisory\", \"id\": \"RLSA-\\\"><script>\", \"url\": "
        "\"https://x.example\"},"
        "       {\"rel\": \"cve\", \"id\": \"CVE-2024-2398\"},"
        "       {\"rel\": \"check\", \"id\": \"x\", \"url\": \"javascript:alert(1)\"},"
        "       {\"rel\": \"check\", \"id\": \"y\", \"url\": \"https://a.example/b c\"},"
        "       {\"rel\": \"check\", \"id\": \"patch-dnf\", \"url\": "
        "\"https://dnf.example/ref\"}]}]}],"
        " \"fleet_findings\": [{\"check\": \"role-redundancy\", \"category\": \"spof\","
        "   \"severity\": \"critical\", \"subject\": \"role db\", \"fingerprint\": \"ff\","
        "   \"message\": \"role db has 0 healthy hosts\", \"hosts\": [\"web1\"]}]}",
        0, &jerr);
    CHECK(r != NULL);
    if (!r)
        return;
    char *html = NULL;
    size_t len = 0;
    CHECK_INT(nm_report_render_html(r, &html, &len, NULL), 0);
    htmlDocPtr doc = htmlReadMemory(html, (int)len, NULL, "UTF-8",
                                    HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING | HTML_PARSE_NONET);
    CHECK(doc != NULL);
    if (doc) {
        CHECK_INT(xcount(doc, "//li[@id='h-0-f-0']//p[@class='fix']/code"), 2);
        char *code = xstring(doc, "//li[@id='h-0-f-0']//p[@class='fix']/code[1]");
        CHECK_STR(code, "dnf upgrade --advisory=<b>RLSA</b>");
        free(code);
        CHECK_INT(xcount(doc, "//li[@id='h-0-f-0']//p[@class='fix']//b"), 0);
        char *fix = xstring(doc, "normalize-space(//li[@id='h-0-f-0']//p[@class='fix'])");
        CHECK(strstr(fix, "` unpaired") != NULL);
        free(fix);
        /* The script's copy: the remediation whole (its code spans made by
         * the script as the static list's are made here), exactly the three
         * safe links, in order; no link outside the page in the HTML. */
        struct page_data pd;
        page_data_read(doc, &pd);
        const json_t *f0 = data_finding(data_host(&pd, 0), 0);
        const char *rem = data_fix(&pd, f0);
        CHECK(rem &&
              strstr(rem, "Run `dnf upgrade --advisory=<b>RLSA</b>` then `a` and ` unpaired"));
        const json_t *ln = json_object_get(f0, "ln");
        CHECK_INT(json_array_size(ln), 3);
        CHECK_STR(json_string_value(json_array_get(json_array_get(ln, 0), 0)),
                  "https://errata.rockylinux.org/RLSA-2024:3501");
        CHECK_STR(json_string_value(json_array_get(json_array_get(ln, 1), 0)),
                  "https://www.cve.org/CVERecord?id=CVE-2024-2398");
        CHECK_STR(json_string_value(json_array_get(json_array_get(ln, 2), 0)),
                  "https://dnf.example/ref");
        CHECK_STR(json_string_value(json_array_get(json_array_get(ln, 2), 1)), "about patch-dnf");
        page_data_finish(&pd);
        CHECK_INT(xcount(doc, "//@href[not(starts-with(., '#'))]"), 0);
        CHECK_INT(xcount(doc, "//a[contains(@href,'javascript')]"), 0);
        /* The fleet finding's own chance (36 points) outranks the host's
         * 20-point fix: it comes first. */
        CHECK_INT(xcount(doc, "//ol[@class='risks']/li"), 2);
        char *first = xstring(doc, "//ol[@class='risks']/li[1]//a/@href");
        CHECK_STR(first, "#fleet-0");
        free(first);
        CHECK_INT(xcount(doc, "//li[@id='fleet-0']"), 1);
        /* The verdict sentence is first in main. */
        char *v = xstring(doc, "normalize-space(//main/section[1][@id='verdict']/p)");
        CHECK(strstr(v, "Fleet risk 50.0 / 100") == v);
        free(v);
        xmlFreeDoc(doc);
    }
    free(html);
    json_decref(r);
}

/* An iterator over a hosts array held apart from the report (as hosts kept
 * on disk are), failing at host fail_at of the pass fail_pass when set. */
struct apart {
    const json_t *hosts;
    size_t pos, pass, fail_at, fail_pass;
};

static int apart_next(void *ctx, const json_t **ret_host, nm_diag *d)
{
    struct apart *a = ctx;
    if (a->fail_pass && a->pass == a->fail_pass && a->pos == a->fail_at)
        return nm_diag_set(d, NM_ERR_IO, "host %zu cannot be read back", a->pos);
    *ret_host = a->pos < json_array_size(a->hosts) ? json_array_get(a->hosts, a->pos++) : NULL;
    return 0;
}

static int apart_rewind(void *ctx, nm_diag *d)
{
    (void)d;
    struct apart *a = ctx;
    a->pos = 0;
    a->pass++;
    return 0;
}

/* The page from an iterator, the report without "hosts": the same bytes as
 * from the report's own array; an iterator's error stops the page. */
static void test_html_stream(void)
{
    json_t *r = load("fleet-full.json", 0);
    CHECK(r != NULL);
    if (!r)
        return;
    char *want = NULL;
    size_t want_len = 0;
    CHECK_INT(nm_report_render_html(r, &want, &want_len, NULL), 0);
    json_t *bare = json_copy(r);
    json_t *hosts = json_incref(json_object_get(r, "hosts"));
    json_object_del(bare, "hosts");
    struct apart a = {.hosts = hosts};
    struct nm_host_iter it = {apart_next, apart_rewind, &a, json_array_size(hosts)};
    char *got = NULL;
    size_t got_len = 0;
    FILE *out = open_memstream(&got, &got_len);
    nm_diag d = {{0}};
    CHECK_INT(nm_report_html_stream(bare, &it, out, &d), 0);
    fclose(out);
    CHECK_INT(got_len, want_len);
    CHECK(got && want && got_len == want_len && memcmp(got, want, got_len) == 0);
    CHECK(a.pass == 2);
    free(got);
    for (size_t pass = 1; pass <= 2; pass++) {
        a = (struct apart){.hosts = hosts, .fail_at = 3, .fail_pass = pass};
        got = NULL;
        out = open_memstream(&got, &got_len);
        CHECK_INT(nm_report_html_stream(bare, &it, out, &d), NM_ERR_IO);
        CHECK(strstr(d.msg, "host 3 cannot be read back") != NULL);
        fclose(out);
        free(got);
    }
    free(want);
    json_decref(hosts);
    json_decref(bare);
    json_decref(r);
}

/* ---- JUnit ------------------------------------------------------------------- */

static xmlSchemaPtr junit_schema(void)
{
    xmlSchemaParserCtxtPtr pc = xmlSchemaNewParserCtxt(DATA "junit.xsd");
    xmlSchemaPtr s = xmlSchemaParse(pc);
    xmlSchemaFreeParserCtxt(pc);
    return s;
}

static long attr_long(xmlNodePtr n, const char *name)
{
    xmlChar *v = xmlGetProp(n, BAD_CAST name);
    int64_t x = -1;
    if (v)
        nm_str_to_i64((const char *)v, &x);
    xmlFree(v);
    return (long)x;
}

/* Renders, validates against the schema, checks the totals add up. */
static xmlDocPtr check_junit(xmlSchemaPtr schema, const json_t *report, const char *label)
{
    char *xml = NULL;
    size_t len = 0;
    nm_diag d = {{0}};
    fprintf(stderr, "junit: %s\n", label);
    CHECK_INT(nm_report_render_junit(report, &xml, &len, &d), 0);
    if (!xml)
        return NULL;
    xmlDocPtr doc = xmlReadMemory(xml, (int)len, "junit.xml", NULL, XML_PARSE_NONET);
    free(xml);
    CHECK(doc != NULL);
    if (!doc)
        return NULL;
    xmlSchemaValidCtxtPtr vc = xmlSchemaNewValidCtxt(schema);
    int v = xmlSchemaValidateDoc(vc, doc);
    xmlSchemaFreeValidCtxt(vc);
    CHECK_INT(v, 0);

    const json_t *hosts = json_object_get(report, "hosts");
    size_t suites = json_array_size(hosts) +
                    (json_array_size(json_object_get(report, "fleet_findings")) ? 1 : 0);
    CHECK_INT(xcount(doc, "/testsuites/testsuite"), suites);
    xmlNodePtr root = xmlDocGetRootElement(doc);
    static const char *const totals[] = {"tests", "failures", "errors"};
    for (size_t k = 0; k < 3; k++) {
        long sum = 0;
        for (xmlNodePtr s = root->children; s; s = s->next)
            if (s->type == XML_ELEMENT_NODE)
                sum += attr_long(s, totals[k]);
        CHECK_INT(attr_long(root, totals[k]), sum);
    }
    /* Each suite's counts match its testcases. */
    bool counts_ok = true;
    for (xmlNodePtr s = root->children; s; s = s->next) {
        if (s->type != XML_ELEMENT_NODE)
            continue;
        long t = 0, f = 0, e = 0, sk = 0;
        for (xmlNodePtr c = s->children; c; c = c->next) {
            if (c->type != XML_ELEMENT_NODE || strcmp((const char *)c->name, "testcase") != 0)
                continue;
            t++;
            for (xmlNodePtr r = c->children; r; r = r->next) {
                if (r->type != XML_ELEMENT_NODE)
                    continue;
                f += strcmp((const char *)r->name, "failure") == 0;
                e += strcmp((const char *)r->name, "error") == 0;
                sk += strcmp((const char *)r->name, "skipped") == 0;
            }
        }
        counts_ok = counts_ok && t == attr_long(s, "tests") && f == attr_long(s, "failures") &&
                    e == attr_long(s, "errors") && sk == attr_long(s, "skipped");
    }
    CHECK(counts_ok);
    return doc;
}

static void test_junit(void)
{
    xmlSchemaPtr schema = junit_schema();
    CHECK(schema != NULL);
    if (!schema)
        return;

    json_t *r = load("hostile.json", JSON_ALLOW_NUL);
    xmlDocPtr doc = r ? check_junit(schema, r, "hostile.json") : NULL;
    if (doc) {
        /* Host 0 (name H1): one testcase per check, plus "connect". */
        CHECK_INT(xcount(doc, "/testsuites/testsuite[1]/testcase"), 1 + 9);
        char *name = xstring(doc, "/testsuites/testsuite[1]/@name");
        CHECK_STR(name, H1);
        free(name);
        char *cls = xstring(doc, "/testsuites/testsuite[1]/testcase[1]/@classname");
        CHECK_STR(cls, "nearmiss.<script>alert(1)</script>");
        free(cls);
        char *t =
            xstring(doc, "/testsuites/testsuite[1]/testcase[@name='cert-expiry']/failure/@type");
        CHECK_STR(t, "critical");
        free(t);
        t = xstring(doc, "/testsuites/testsuite[1]/testcase[@name='disk-space']/failure/@message");
        CHECK(strncmp(t, "2 findings; worst: certificate", 30) != 0);
        CHECK(strncmp(t, "2 findings; worst: filesystem a\"b\\c\nd is 91% full", 49) == 0);
        free(t);
        CHECK_INT(xcount(doc, "/testsuites/testsuite[1]/testcase[@name='custom']/*"), 1);
        CHECK_INT(xcount(doc, "/testsuites/testsuite[1]/testcase[@name='custom']/system-out"), 1);
        CHECK_INT(xcount(doc, "/testsuites/testsuite[1]/testcase[@name='ok-check']/*"), 0);
        t = xstring(doc,
                    "/testsuites/testsuite[1]/testcase[@name='smart-health']/skipped/@message");
        CHECK(strncmp(t, "not applicable: ", 16) == 0);
        free(t);
        t = xstring(doc, "/testsuites/testsuite[1]/testcase[@name='reboot-required-debian']"
                         "/skipped/@message");
        CHECK_STR(t, "waived: <script>alert(1)</script> (approved by \"><img src=x "
                     "onerror=alert(1)>), until 2027-01-01");
        free(t);
        t = xstring(doc, "/testsuites/testsuite[1]/testcase[@name='odd']/error/@message");
        CHECK_STR(t, "unknown check result: <script>alert(1)</script>");
        free(t);
        t = xstring(doc, "/testsuites/testsuite[1]/testcase[3]/@name");
        CHECK_STR(t, "disk-space");
        free(t);
        /* Host 1 (not scanned): only "connect", in error with the status. */
        CHECK_INT(xcount(doc, "/testsuites/testsuite[2]/testcase"), 1);
        t = xstring(doc, "/testsuites/testsuite[2]/testcase/error/@type");
        CHECK_STR(t, "hostkey_mismatch");
        free(t);
        t = xstring(doc, "/testsuites/testsuite[2]/testcase/error/@message");
        CHECK(strstr(t, "HOST KEY CHANGED </script>") != NULL);
        CHECK(strstr(t, "nul\xef\xbf\xbd<script>") != NULL);
        free(t);
        /* Time from scan.duration_ms; timestamp without zone. */
        t = xstring(doc, "/testsuites/testsuite[1]/@time");
        CHECK_STR(t, "1.234");
        free(t);
        t = xstring(doc, "/testsuites/testsuite[1]/@timestamp");
        CHECK_STR(t, "2026-11-24T02:00:00");
        free(t);
        t = xstring(doc, "/testsuites/@time");
        CHECK_STR(t, "65.000");
        free(t);
        /* Fleet findings: one suite, failures naming hosts. */
        t = xstring(doc, "/testsuites/testsuite[last()]/@name");
        CHECK_STR(t, "(fleet)");
        free(t);
        t = xstring(doc, "/testsuites/testsuite[last()]/testcase/failure");
        CHECK(strstr(t, "hosts: <script>alert(1)</script>, \"><img") != NULL);
        free(t);
        xmlFreeDoc(doc);
    }
    json_decref(r);

    static const char *const names[] = {"hostile-sanitised.json", "fleet-test.json", "empty.json",
                                        "fleet-full.json"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        r = load(names[i], 0);
        CHECK(r != NULL);
        doc = r ? check_junit(schema, r, names[i]) : NULL;
        if (doc && i == 3) {
            /* Four fleet findings of four checks: four failing testcases. */
            CHECK_INT(xcount(doc, "//testsuite[@name='(fleet)']/testcase/failure"), 4);
            CHECK_INT(xcount(doc, "//testsuite[@name='(fleet)']/testcase[@name='role-spread']"), 1);
        }
        if (doc && i == 1) {
            /* The real fleet: warn passes, fail fails, unscanned hosts error. */
            CHECK_INT(xcount(doc, "//testsuite[@name='ubuntu-reboot']/testcase"
                                  "[@name='reboot-required-debian']/system-out"),
                      1);
            CHECK_INT(xcount(doc, "//testsuite[@name='rocky-disk']/testcase"
                                  "[@name='disk-space']/failure[@type='critical']"),
                      1);
            CHECK_INT(xcount(doc, "//testsuite[@name='down']/testcase[@name='connect']"
                                  "/error[@type='unreachable']"),
                      1);
            CHECK_INT(xcount(doc, "//testsuite[@name='alpine-ok']/testcase"
                                  "[@name='reboot-required-debian']/skipped"),
                      1);
        }
        xmlFreeDoc(doc);
        json_decref(r);
    }
    r = invalid_utf8_report();
    xmlFreeDoc(check_junit(schema, r, "invalid UTF-8"));
    json_decref(r);

    /* --fail-on (the report's "fail_on"): a warn at or above it fails, as
     * the exit status does; below it, it passes with the findings in
     * system-out; a fail stays a failure. */
    static const char *const thresholds[] = {"medium", "low", "high", "critical"};
    r = load("fleet-test.json", 0);
    for (size_t i = 0; r && i < sizeof thresholds / sizeof thresholds[0]; i++) {
        json_object_set_new(r, "fail_on", json_string(thresholds[i]));
        doc = check_junit(schema, r, thresholds[i]);
        if (!doc)
            continue;
        bool fails = i < 2;
        CHECK_INT(xcount(doc, "//testsuite[@name='ubuntu-reboot']/testcase"
                              "[@name='reboot-required-debian']/failure[@type='medium']"),
                  fails);
        CHECK_INT(xcount(doc, "//testsuite[@name='ubuntu-reboot']/testcase"
                              "[@name='reboot-required-debian']/system-out"),
                  !fails);
        char *msg = xstring(doc, "//testsuite[@name='ubuntu-reboot']/testcase"
                                 "[@name='reboot-required-debian']");
        CHECK(strstr(msg, "reboot") != NULL);
        free(msg);
        CHECK_INT(xcount(doc, "//testsuite[@name='rocky-disk']/testcase"
                              "[@name='disk-space']/failure[@type='critical']"),
                  1);
        xmlFreeDoc(doc);
    }
    json_decref(r);
    xmlSchemaFree(schema);
}

/* ---- Prometheus: a strict reader of the text exposition format ---------------- */

struct psample {
    char *name;
    char *labels[8][2]; /* unescaped */
    size_t n_labels;
    double value;
};

struct pfile {
    struct psample *s;
    size_t n;
    char err[256];
};

static void pfile_finish(struct pfile *p)
{
    for (size_t i = 0; i < p->n; i++) {
        free(p->s[i].name);
        for (size_t k = 0; k < p->s[i].n_labels; k++) {
            free(p->s[i].labels[k][0]);
            free(p->s[i].labels[k][1]);
        }
    }
    free(p->s);
    p->s = NULL;
    p->n = 0;
}

static bool is_name_start(char c, bool metric)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (metric && c == ':');
}

static bool is_name_char(char c, bool metric)
{
    return is_name_start(c, metric) || (c >= '0' && c <= '9');
}

static size_t name_len(const char *p, const char *end, bool metric)
{
    size_t n = 0;
    if (p < end && is_name_start(*p, metric))
        for (n = 1; p + n < end && is_name_char(p[n], metric); n++)
            ;
    return n;
}

static bool valid_value(const char *s, size_t len, double *ret)
{
    if ((len == 3 && memcmp(s, "NaN", 3) == 0) || (len == 4 && memcmp(s, "+Inf", 4) == 0) ||
        (len == 4 && memcmp(s, "-Inf", 4) == 0)) {
        *ret = 0;
        return true;
    }
    if (len == 0 || len > 64)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!strchr("0123456789.eE+-", s[i]))
            return false;
    char buf[65];
    memcpy(buf, s, len);
    buf[len] = '\0';
    char *e;
    errno = 0;
    *ret = strtod(buf, &e);
    return *e == '\0' && errno == 0;
}

static int cmp_key(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Returns 0 when text is a strict, complete exposition: HELP and TYPE before
 * each family, families contiguous, label values escaped, no timestamps, no
 * duplicate series, UTF-8, final newline. */
static int prom_parse(const char *text, size_t len, struct pfile *out)
{
    memset(out, 0, sizeof *out);
    char *clean = nm_utf8_clean(text, len);
    bool utf8 = strlen(clean) == len && memcmp(clean, text, len) == 0;
    free(clean);
    if (!utf8) {
        snprintf(out->err, sizeof out->err, "not UTF-8, or control characters");
        return -1;
    }
    if (len == 0 || text[len - 1] != '\n') {
        snprintf(out->err, sizeof out->err, "no final newline");
        return -1;
    }
    char **done = NULL, **keys = NULL;
    size_t n_done = 0, n_keys = 0, lineno = 0;
    char cur[256] = "", help_for[256] = "", type_for[256] = "";
    int r = -1;
    for (const char *p = text, *end = text + len; p < end;) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        lineno++;
#define FAIL(...)                                                                                  \
    do {                                                                                           \
        int o_ = snprintf(out->err, sizeof out->err, "line %zu: ", lineno);                        \
        snprintf(out->err + o_, sizeof out->err - (size_t)o_, __VA_ARGS__);                        \
        goto out;                                                                                  \
    } while (0)
        if (eol == p)
            FAIL("empty line");
        if (*p == '#') {
            bool help = (size_t)(eol - p) > 7 && memcmp(p, "# HELP ", 7) == 0;
            bool type = (size_t)(eol - p) > 7 && memcmp(p, "# TYPE ", 7) == 0;
            if (!help && !type)
                FAIL("comment that is neither HELP nor TYPE");
            const char *q = p + 7;
            size_t nl = name_len(q, eol, true);
            if (nl == 0 || nl >= sizeof cur || q + nl >= eol || q[nl] != ' ')
                FAIL("bad metric name in HELP/TYPE");
            char name[256];
            memcpy(name, q, nl);
            name[nl] = '\0';
            for (size_t k = 0; k < n_done; k++)
                if (strcmp(done[k], name) == 0)
                    FAIL("HELP/TYPE for %.100s after its samples", name);
            if (help) {
                if (strcmp(help_for, name) == 0)
                    FAIL("second HELP for %.100s", name);
                for (const char *c = q + nl + 1; c < eol; c++)
                    if (*c == '\\' && (c + 1 >= eol || (c[1] != '\\' && c[1] != 'n')))
                        FAIL("bad escape in HELP");
                    else if (*c == '\\')
                        c++;
                snprintf(help_for, sizeof help_for, "%s", name);
            } else {
                if (strcmp(type_for, name) == 0)
                    FAIL("second TYPE for %.100s", name);
                size_t tl = (size_t)(eol - (q + nl + 1));
                const char *t = q + nl + 1;
                if (!((tl == 5 && memcmp(t, "gauge", 5) == 0) ||
                      (tl == 7 && memcmp(t, "counter", 7) == 0) ||
                      (tl == 7 && memcmp(t, "untyped", 7) == 0)))
                    FAIL("bad TYPE");
                snprintf(type_for, sizeof type_for, "%s", name);
            }
            p = eol + 1;
            continue;
        }
        size_t nl = name_len(p, eol, true);
        if (nl == 0 || nl >= sizeof cur)
            FAIL("bad metric name");
        struct psample s = {0};
        s.name = nm_xstrndup(p, nl);
        out->s = nm_xreallocarray(out->s, out->n + 1, sizeof *out->s);
        out->s[out->n++] = s;
        struct psample *ps = &out->s[out->n - 1];
        if (strcmp(cur, ps->name) != 0) {
            for (size_t k = 0; k < n_done; k++)
                if (strcmp(done[k], ps->name) == 0)
                    FAIL("family %.100s is not contiguous", ps->name);
            if (strcmp(help_for, ps->name) != 0 || strcmp(type_for, ps->name) != 0)
                FAIL("%.100s has no HELP and TYPE before its samples", ps->name);
            done = nm_xreallocarray(done, n_done + 1, sizeof *done);
            done[n_done++] = nm_xstrdup(ps->name);
            snprintf(cur, sizeof cur, "%s", ps->name);
        }
        const char *q = p + nl;
        struct nm_buf key;
        nm_buf_init(&key, SIZE_MAX);
        nm_buf_appends(&key, ps->name);
        if (q < eol && *q == '{') {
            q++;
            while (q < eol && *q != '}') {
                size_t ll = name_len(q, eol, false);
                if (ll == 0 || q + ll + 1 >= eol || q[ll] != '=' || q[ll + 1] != '"') {
                    nm_buf_finish(&key);
                    FAIL("bad label name");
                }
                if (ll >= 2 && q[0] == '_' && q[1] == '_') {
                    nm_buf_finish(&key);
                    FAIL("reserved label name");
                }
                if (ps->n_labels == 8) {
                    nm_buf_finish(&key);
                    FAIL("too many labels");
                }
                char *lname = nm_xstrndup(q, ll);
                for (size_t k = 0; k < ps->n_labels; k++)
                    if (strcmp(ps->labels[k][0], lname) == 0) {
                        free(lname);
                        nm_buf_finish(&key);
                        FAIL("duplicate label");
                    }
                q += ll + 2;
                struct nm_buf v;
                nm_buf_init(&v, SIZE_MAX);
                while (q < eol && *q != '"') {
                    if (*q == '\\') {
                        if (q + 1 >= eol || (q[1] != '\\' && q[1] != '"' && q[1] != 'n')) {
                            free(lname);
                            nm_buf_finish(&v);
                            nm_buf_finish(&key);
                            FAIL("bad escape in label value");
                        }
                        nm_buf_append(&v, q[1] == 'n' ? "\n" : q + 1, 1);
                        q += 2;
                    } else {
                        nm_buf_append(&v, q, 1);
                        q++;
                    }
                }
                if (q >= eol) {
                    free(lname);
                    nm_buf_finish(&v);
                    nm_buf_finish(&key);
                    FAIL("unterminated label value");
                }
                q++;
                ps->labels[ps->n_labels][0] = lname;
                ps->labels[ps->n_labels][1] = nm_buf_steal(&v, NULL);
                ps->n_labels++;
                if (q < eol && *q == ',' && q + 1 < eol && q[1] != '}')
                    q++;
                else if (q < eol && *q != '}') {
                    nm_buf_finish(&key);
                    FAIL("expected , or }");
                }
            }
            if (q >= eol) {
                nm_buf_finish(&key);
                FAIL("unterminated label set");
            }
            q++;
            /* Series identity does not depend on label order. */
            char *pairs[8];
            for (size_t k = 0; k < ps->n_labels; k++)
                pairs[k] = nm_xasprintf("%s=%s", ps->labels[k][0], ps->labels[k][1]);
            qsort(pairs, ps->n_labels, sizeof pairs[0], cmp_key);
            for (size_t k = 0; k < ps->n_labels; k++) {
                nm_buf_append(&key, "\x1f", 1);
                nm_buf_appends(&key, pairs[k]);
                free(pairs[k]);
            }
        }
        if (q >= eol || *q != ' ') {
            nm_buf_finish(&key);
            FAIL("expected one space before the value");
        }
        q++;
        if (memchr(q, ' ', (size_t)(eol - q))) {
            nm_buf_finish(&key);
            FAIL("timestamp or trailing text after the value");
        }
        if (!valid_value(q, (size_t)(eol - q), &ps->value)) {
            nm_buf_finish(&key);
            FAIL("bad value");
        }
        keys = nm_xreallocarray(keys, n_keys + 1, sizeof *keys);
        keys[n_keys++] = nm_buf_steal(&key, NULL);
        p = eol + 1;
    }
    qsort(keys, n_keys, sizeof *keys, cmp_key);
    for (size_t k = 1; k < n_keys; k++)
        if (strcmp(keys[k], keys[k - 1]) == 0) {
            snprintf(out->err, sizeof out->err, "duplicate series %.200s", keys[k]);
            goto out;
        }
    r = 0;
#undef FAIL
out:
    for (size_t k = 0; k < n_done; k++)
        free(done[k]);
    free(done);
    for (size_t k = 0; k < n_keys; k++)
        free(keys[k]);
    free(keys);
    return r;
}

static const char *plabel(const struct psample *s, const char *name)
{
    for (size_t k = 0; k < s->n_labels; k++)
        if (strcmp(s->labels[k][0], name) == 0)
            return s->labels[k][1];
    return NULL;
}

/* Finds name{l1=v1[,l2=v2]}; NULL when absent. */
static const struct psample *pfind(const struct pfile *p, const char *name, const char *l1,
                                   const char *v1, const char *l2, const char *v2)
{
    for (size_t i = 0; i < p->n; i++) {
        const struct psample *s = &p->s[i];
        if (strcmp(s->name, name) != 0)
            continue;
        if (l1 && (!plabel(s, l1) || strcmp(plabel(s, l1), v1) != 0))
            continue;
        if (l2 && (!plabel(s, l2) || strcmp(plabel(s, l2), v2) != 0))
            continue;
        return s;
    }
    return NULL;
}

static size_t pcount(const struct pfile *p, const char *name)
{
    size_t n = 0;
    for (size_t i = 0; i < p->n; i++)
        n += strcmp(p->s[i].name, name) == 0;
    return n;
}

static char *render_prom(const json_t *r, struct pfile *pf, const char *label)
{
    char *text = NULL;
    size_t len = 0;
    nm_diag d = {{0}};
    CHECK_INT(nm_report_render_prom(r, &text, &len, &d), 0);
    if (!text)
        return NULL;
    int rc = prom_parse(text, len, pf);
    if (rc != 0)
        fprintf(stderr, "prom %s: %s\n", label, pf->err);
    CHECK_INT(rc, 0);
    return text;
}

static void test_prom_parser_rejects(void)
{
    static const char *const bad[] = {
        "x 1\n",                                                    /* no HELP/TYPE */
        "# HELP x h\n# TYPE x gauge\nx 1",                          /* no final newline */
        "# HELP x h\n# TYPE x gauge\nx{a=\"1\"} 1\nx{a=\"1\"} 2\n", /* duplicate */
        "# HELP x h\n# TYPE x gauge\nx{a=\"1\",b=\"2\"} 1\nx{b=\"2\",a=\"1\"} 2\n",
        "# HELP x h\n# TYPE x gauge\nx{a=\"\\t\"} 1\n", /* bad escape */
        "# HELP x h\n# TYPE x gauge\nx{a=\"q\"\"} 1\n", /* raw quote */
        "# HELP x h\n# TYPE x gauge\nx 1 1700000000\n", /* timestamp */
        "# HELP x h\n# TYPE x gauge\nx{1a=\"v\"} 1\n",  /* label name */
        "# HELP x h\n# TYPE x gauge\nx{__a=\"v\"} 1\n", /* reserved */
        "# HELP x h\n# TYPE x gauge\nx 0x10\n",         /* hex */
        "# HELP x h\n# TYPE x gauge\nx 1\n# HELP y h\n# TYPE y gauge\ny 1\nx{a=\"b\"} 1\n",
        "# HELP x h\n# TYPE x gauge\nx{a=\"\xff\"} 1\n", /* not UTF-8 */
        "# HELP x h\n# TYPE x gauge\n\nx 1\n",           /* empty line */
        "# HELP 1x h\n# TYPE 1x gauge\n1x 1\n",
        "# HELP x h\n# TYPE x histogramm\nx 1\n",
        "# HELP x h\n# TYPE x gauge\nx{a=\"v\",} 1\n", /* trailing comma */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct pfile pf;
        int rc = prom_parse(bad[i], strlen(bad[i]), &pf);
        if (rc == 0)
            fprintf(stderr, "prom parser accepted bad case %zu\n", i);
        CHECK(rc != 0);
        pfile_finish(&pf);
    }
    static const char good[] = "# HELP x h \\\\ \\n\n# TYPE x gauge\nx{a=\"q\\\"\\\\\\n\"} -1.5e3\n"
                               "x{a=\"r\"} NaN\n# HELP y h\n# TYPE y gauge\ny +Inf\n";
    struct pfile pf;
    CHECK_INT(prom_parse(good, sizeof good - 1, &pf), 0);
    const struct psample *s = pfind(&pf, "x", "a", "q\"\\\n", NULL, NULL);
    CHECK(s && s->value == -1500);
    pfile_finish(&pf);
}

static void test_prom(void)
{
    test_prom_parser_rejects();

    json_t *r = load("hostile.json", JSON_ALLOW_NUL);
    struct pfile pf;
    char *text = r ? render_prom(r, &pf, "hostile.json") : NULL;
    if (text) {
        const struct psample *s;
        s = pfind(&pf, "nearmiss_host_up", "host", H1, "status", "ok");
        CHECK(s && s->value == 1);
        s = pfind(&pf, "nearmiss_host_up", "host", H2, "status", "hostkey_mismatch");
        CHECK(s && s->value == 0);
        s = pfind(&pf, "nearmiss_host_up", "host", "nul\xef\xbf\xbd<script>alert(1)</script>",
                  "status", H1);
        CHECK(s && s->value == 0);
        CHECK_INT(pcount(&pf, "nearmiss_host_up"), 5);
        /* Scores only for scanned hosts: null is unknown, not zero. */
        CHECK_INT(pcount(&pf, "nearmiss_host_risk_score"), 3);
        CHECK(pfind(&pf, "nearmiss_host_risk_score", "host", H2, NULL, NULL) == NULL);
        s = pfind(&pf, "nearmiss_host_risk_score", "host", H1, NULL, NULL);
        CHECK(s && s->value > 37.799 && s->value < 37.801);
        /* Label values escaped exactly; the raw text proves the escapes. */
        CHECK(strstr(text, "nearmiss_filesystem_used_ratio{host=\"<script>alert(1)</script>\","
                           "mount=\"a\\\"b\\\\c\\nd\"} 0.91\n") != NULL);
        s = pfind(&pf, "nearmiss_filesystem_used_ratio", "host", H1, "mount", PROM_RAW);
        CHECK(s && s->value > 0.9099 && s->value < 0.9101);
        s = pfind(&pf, "nearmiss_filesystem_inodes_used_ratio", "host", H1, "mount", "/var");
        CHECK(s && s->value > 0.0099 && s->value < 0.0101);
        s = pfind(&pf, "nearmiss_certificate_not_after_timestamp_seconds", "host", H1, "subject",
                  "/etc/ssl/<script>alert(1)</script>.pem");
        CHECK(s && s->value == 1796000000);
        /* From metrics: certificates and filesystems without a finding too,
         * the same one from a finding counted once. */
        s = pfind(&pf, "nearmiss_certificate_not_after_timestamp_seconds", "host", H1, "subject",
                  "/etc/ssl/other-\"><img src=x onerror=alert(1)>.pem");
        CHECK(s && s->value == 1797000000);
        CHECK_INT(pcount(&pf, "nearmiss_certificate_not_after_timestamp_seconds"), 2);
        s = pfind(&pf, "nearmiss_filesystem_used_ratio", "host", H1, "mount",
                  "/srv/<script>alert(1)</script>");
        CHECK(s && s->value > 0.7499 && s->value < 0.7501);
        s = pfind(&pf, "nearmiss_filesystem_size_bytes", "host", H1, "mount", "/var");
        CHECK(s && s->value == 2048000);
        s = pfind(&pf, "nearmiss_filesystem_avail_bytes", "host", H1, "mount", "/var");
        CHECK(s && s->value == 286720);
        /* metrics ("/var", "/srv/...") and findings ("a\"b..", "/var", "/"): one each. */
        CHECK_INT(pcount(&pf, "nearmiss_filesystem_used_ratio"), 4);
        /* Findings: waived ones apart; unknown severity/category kept as text. */
        s = pfind(&pf, "nearmiss_findings", "host", H1, "severity", "critical");
        CHECK(s && s->value == 1 && strcmp(plabel(s, "category"), "cert") == 0);
        s = pfind(&pf, "nearmiss_findings", "severity", "medium", "category", "disk");
        CHECK(s && s->value == 1);
        s = pfind(&pf, "nearmiss_findings", "severity", "bogus", "category", H1);
        CHECK(s && s->value == 1);
        s = pfind(&pf, "nearmiss_findings", "host", H1, "category", "reboot");
        CHECK(s == NULL);
        s = pfind(&pf, "nearmiss_waived_findings", "host", H1, NULL, NULL);
        CHECK(s && s->value == 1);
        s = pfind(&pf, "nearmiss_scan_duration_seconds", "host", H1, NULL, NULL);
        CHECK(s && s->value > 1.2339 && s->value < 1.2341);
        s = pfind(&pf, "nearmiss_fleet_findings", "severity", "high", "category", "spof");
        CHECK(s && s->value == 1);
        s = pfind(&pf, "nearmiss_fleet_risk_score", NULL, NULL, NULL, NULL);
        CHECK(s && s->value > 40.299 && s->value < 40.301);
        s = pfind(&pf, "nearmiss_last_run_timestamp_seconds", NULL, NULL, NULL, NULL);
        CHECK(s && s->value == 1795485665);
        /* Only the allowed label names appear. */
        bool names_ok = true;
        for (size_t i = 0; i < pf.n; i++)
            for (size_t k = 0; k < pf.s[i].n_labels; k++)
                names_ok = names_ok && strstr(" host status severity category subject mount ",
                                              pf.s[i].labels[k][0]) != NULL;
        CHECK(names_ok);
    }
    free(text);
    pfile_finish(&pf);
    json_decref(r);

    static const char *const names[] = {"hostile-sanitised.json", "fleet-test.json", "empty.json",
                                        "fleet-full.json"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        r = load(names[i], 0);
        text = r ? render_prom(r, &pf, names[i]) : NULL;
        if (text && i == 3) {
            /* metrics: every local filesystem of a healthy host, not only
             * those with findings. */
            const struct psample *s =
                pfind(&pf, "nearmiss_filesystem_used_ratio", "host", "alpine-ok", "mount", "/boot");
            CHECK(s && s->value > 0.2799 && s->value < 0.2801);
            /* cert-host holds only a truncated PEM file: no date, no series. */
            CHECK_INT(pcount(&pf, "nearmiss_certificate_not_after_timestamp_seconds"), 0);
            CHECK_INT(pcount(&pf, "nearmiss_fleet_findings") > 0, 1);
        }
        if (text && i == 1) {
            const struct psample *s =
                pfind(&pf, "nearmiss_filesystem_used_ratio", "host", "rocky-disk", "mount", "/var");
            CHECK(s && s->value > 0.9699 && s->value < 0.9701);
            CHECK_INT(pcount(&pf, "nearmiss_host_up"), 10);
            CHECK_INT(pcount(&pf, "nearmiss_host_risk_score"), 5);
            s = pfind(&pf, "nearmiss_scan_duration_seconds", "host", "hang", NULL, NULL);
            CHECK(s && s->value > 8.5019 && s->value < 8.5021);
        }
        if (text && i == 2) {
            /* Nothing scanned: no fleet score, but the run's time. */
            CHECK_INT(pcount(&pf, "nearmiss_fleet_risk_score"), 0);
            CHECK_INT(pcount(&pf, "nearmiss_last_run_timestamp_seconds"), 1);
        }
        free(text);
        pfile_finish(&pf);
        json_decref(r);
    }

    /* Two hosts of one name, a certificate listed twice: no duplicate series. */
    r = json_pack("{s:s, s:s, s:[{s:s, s:s, s:i, s:[{s:s,s:s,s:s,s:s,s:{s:i}},"
                  "{s:s,s:s,s:s,s:s,s:{s:i}}]}, {s:s, s:s, s:i, s:[]}], s:[]}",
                  "schema", "nearmiss.report/1", "finished_at", "2026-11-24T02:00:00Z", "hosts",
                  "name", "twin", "status", "ok", "score", 3, "findings", "check", "c", "category",
                  "cert", "severity", "low", "subject", "/x.pem", "item", "not_after_unix", 5,
                  "check", "c", "category", "cert", "severity", "low", "subject", "/x.pem", "item",
                  "not_after_unix", 9, "name", "twin", "status", "ok", "score", 4, "findings",
                  "fleet_findings");
    CHECK(r != NULL);
    text = r ? render_prom(r, &pf, "duplicates") : NULL;
    if (text) {
        CHECK_INT(pcount(&pf, "nearmiss_host_risk_score"), 1);
        const struct psample *s = pfind(&pf, "nearmiss_host_risk_score", NULL, NULL, NULL, NULL);
        CHECK(s && s->value == 3); /* the first one */
        CHECK_INT(pcount(&pf, "nearmiss_certificate_not_after_timestamp_seconds"), 1);
        s = pfind(&pf, "nearmiss_findings", "host", "twin", NULL, NULL);
        CHECK(s && s->value == 2);
    }
    free(text);
    pfile_finish(&pf);
    json_decref(r);

    /* Nothing scanned but fleet findings (every role unhealthy): the score
     * is null, and even a stored report that still holds a number for it
     * gives no sample. */
    for (int stale = 0; stale < 2; stale++) {
        r = json_pack("{s:s, s:s, s:{s:i, s:i, s:o}, s:[{s:s, s:s, s:n}], s:[{s:s, s:s, s:s}]}",
                      "schema", "nearmiss.report/1", "finished_at", "2026-11-24T02:00:00Z",
                      "summary", "hosts", 1, "scanned", 0, "fleet_score",
                      stale ? json_integer(40) : json_null(), "hosts", "name", "down", "status",
                      "timeout", "score", "fleet_findings", "check", "role-redundancy", "category",
                      "spof", "severity", "critical");
        CHECK(r != NULL);
        if (!stale && r) {
            json_t *fs = nm_score_fleet(r);
            CHECK(json_is_null(fs));
            json_decref(fs);
        }
        text = r ? render_prom(r, &pf, "nothing scanned") : NULL;
        CHECK(text != NULL);
        CHECK_INT(pcount(&pf, "nearmiss_fleet_risk_score"), 0);
        CHECK_INT(pcount(&pf, "nearmiss_fleet_findings"), 1);
        free(text);
        pfile_finish(&pf);
        json_decref(r);
    }

    r = invalid_utf8_report();
    text = render_prom(r, &pf, "invalid UTF-8");
    CHECK(text && strstr(text, "\\n") == NULL); /* no LF survived in the bad strings */
    free(text);
    pfile_finish(&pf);
    json_decref(r);
}

/* ---- nearmiss report ------------------------------------------------------------ */

static int run_report(const char *a1, const char *a2, const char *a3, const char *a4,
                      const char *a5, const char *a6, const char *a7)
{
    const char *in[] = {"report", a1, a2, a3, a4, a5, a6, a7, NULL};
    char *argv[9] = {0};
    int argc = 0;
    for (; in[argc]; argc++)
        argv[argc] = nm_xstrdup(in[argc]);
    fflush(stdout);
    int rc = nm_cmd_report(argc, argv);
    fflush(stdout);
    for (int i = 0; i < argc; i++)
        free(argv[i]);
    return rc;
}

static bool file_size(const char *path, off_t *ret)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return false;
    *ret = st.st_size;
    return true;
}

static bool exists(const char *dir, const char *name)
{
    char *p = nm_xasprintf("%s/%s", dir, name);
    off_t sz = 0;
    bool ok = file_size(p, &sz) && sz > 0;
    free(p);
    return ok;
}

static void rm_rf(const char *dir)
{
    char *cmd = nm_xasprintf("rm -rf '%s'", dir);
    CHECK_INT(system(cmd), 0);
    free(cmd);
}

static void test_cmd_report(void)
{
    char dir[] = "/tmp/nm-test-writers-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char *out = nm_xasprintf("%s/out/", dir);
    char *copy = nm_xasprintf("%s/run.json", dir);
    char *junk = nm_xasprintf("%s/junk.json", dir);
    char *one = nm_xasprintf("%s/sub/x.prom", dir);

    CHECK_INT(run_report("--help", NULL, NULL, NULL, NULL, NULL, NULL), 0);
    CHECK_INT(run_report(NULL, NULL, NULL, NULL, NULL, NULL, NULL), 1);
    CHECK_INT(run_report("-f", "pdf", DATA "empty.json", NULL, NULL, NULL, NULL), 1);
    CHECK_INT(run_report("-f", "json", DATA "empty.json", NULL, NULL, NULL, NULL), 1);
    CHECK_INT(run_report("-f", ",", DATA "empty.json", NULL, NULL, NULL, NULL), 1);
    CHECK_INT(run_report("-o", "-", "-f", "html,prom", DATA "empty.json", NULL, NULL), 1);
    CHECK_INT(run_report(DATA "empty.json", DATA "empty.json", NULL, NULL, NULL, NULL, NULL), 1);
    CHECK_INT(run_report("-", NULL, NULL, NULL, NULL, NULL, NULL), 1); /* stdin needs -o */
    CHECK_INT(run_report("-q", "/nonexistent/report.json", NULL, NULL, NULL, NULL, NULL), 1);
    CHECK_INT(run_report("-q", DATA "junit.xsd", NULL, NULL, NULL, NULL, NULL), 1);
    CHECK(nm_write_atomic(junk, "{\"schema\":\"nearmiss.report/2\",\"hosts\":[]}", 40, 0644,
                          NULL) == 0);
    CHECK_INT(run_report("-q", junk, NULL, NULL, NULL, NULL, NULL), 1);
    CHECK(nm_write_atomic(junk, "{\"schema\":\"nearmiss.report/1\"}", 30, 0644, NULL) == 0);
    CHECK_INT(run_report("-q", junk, NULL, NULL, NULL, NULL, NULL), 1);

    /* Directory: standard names. */
    CHECK_INT(run_report("-q", "-f", "html,junit,prom", "-o", out, DATA "hostile.json", NULL), 0);
    CHECK(exists(out, NM_REPORT_HTML_NAME));
    CHECK(exists(out, NM_REPORT_JUNIT_NAME));
    CHECK(exists(out, NM_REPORT_PROM_NAME));
    /* Default: beside the input, named after it. */
    char *data = NULL;
    size_t len = 0;
    CHECK(nm_read_file(DATA "fleet-test.json", 1 << 24, &data, &len, NULL) == 0);
    CHECK(nm_write_atomic(copy, data, len, 0644, NULL) == 0);
    free(data);
    CHECK_INT(run_report("-q", copy, "--format=html,junit,prom", NULL, NULL, NULL, NULL), 0);
    {
        /* Beside a scan's latest.json: the names scan writes, one name for
         * the current report whichever command wrote it. */
        char *latest = nm_xasprintf("%s/latest.json", dir);
        CHECK(nm_read_file(copy, 1 << 24, &data, &len, NULL) == 0);
        CHECK(nm_write_atomic(latest, data, len, 0644, NULL) == 0);
        free(data);
        CHECK_INT(run_report("-q", latest, "--format=html,junit,prom", NULL, NULL, NULL, NULL), 0);
        CHECK(exists(dir, NM_REPORT_HTML_NAME));
        CHECK(exists(dir, NM_REPORT_JUNIT_NAME));
        CHECK(exists(dir, NM_REPORT_PROM_NAME));
        CHECK(!exists(dir, "latest.html"));
        CHECK(!exists(dir, "latest.prom"));
        CHECK_STR(NM_REPORT_HTML_NAME, "report.html");
        free(latest);
    }
    CHECK(exists(dir, "run.html"));
    CHECK(exists(dir, "run.junit.xml"));
    CHECK(exists(dir, "run.prom"));
    {
        /* A stored run of `scan --fail-on medium` renders its warnings as
         * failures again. */
        char *jpath = nm_xasprintf("%s/run.junit.xml", dir);
        CHECK(nm_read_file(jpath, 1 << 24, &data, &len, NULL) == 0);
        CHECK(data && strstr(data, "type=\"medium\"") == NULL);
        free(data);
        json_t *fr = load("fleet-test.json", 0);
        json_object_set_new(fr, "fail_on", json_string("medium"));
        CHECK(json_dump_file(fr, copy, JSON_INDENT(1)) == 0);
        json_decref(fr);
        CHECK_INT(run_report("-q", copy, "--format=junit", NULL, NULL, NULL, NULL), 0);
        data = NULL;
        CHECK(nm_read_file(jpath, 1 << 24, &data, &len, NULL) == 0);
        CHECK(data && strstr(data, "type=\"medium\"") != NULL);
        free(data);
        free(jpath);
        CHECK(nm_write_atomic(copy, "", 0, 0644, NULL) == 0);
        CHECK(nm_read_file(DATA "fleet-test.json", 1 << 24, &data, &len, NULL) == 0);
        CHECK(nm_write_atomic(copy, data, len, 0644, NULL) == 0);
        free(data);
    }
    /* One format to a file name, creating its directory. */
    CHECK_INT(run_report("-q", "-f", "prom", "-o", one, copy, NULL), 0);
    {
        off_t a = 0, b = 0;
        char *beside = nm_xasprintf("%s/run.prom", dir);
        CHECK(file_size(one, &a) && file_size(beside, &b) && a == b && a > 0);
        free(beside);
    }
    /* An existing directory as -o, without a trailing slash. */
    char *sub = nm_xasprintf("%s/sub", dir);
    CHECK_INT(run_report("-q", "-o", sub, copy, NULL, NULL, NULL), 0);
    CHECK(exists(sub, NM_REPORT_HTML_NAME));
    /* nm_report_write_formats: nothing but JSON asked, nothing written. */
    char *none = nm_xasprintf("%s/none", dir);
    json_t *r = load("empty.json", 0);
    CHECK_INT(nm_report_write_formats(r, none, NM_FORMAT_JSON, NULL), 0);
    struct stat st;
    CHECK(stat(none, &st) != 0);
    CHECK_INT(nm_report_write_formats(r, none, NM_FORMAT_PROM | NM_FORMAT_JSON, NULL), 0);
    CHECK(exists(none, NM_REPORT_PROM_NAME));
    CHECK(!exists(none, NM_REPORT_HTML_NAME));
    /* An unwritable place: an error naming the file, nothing left behind. */
    nm_diag d = {{0}};
    char *blocked = nm_xasprintf("%s/run.json/x", dir);
    CHECK(nm_report_write_formats(r, blocked, NM_FORMAT_HTML, &d) < 0);
    CHECK(d.msg[0] != '\0');
    json_decref(r);

    rm_rf(dir);
    free(blocked);
    free(none);
    free(sub);
    free(out);
    free(copy);
    free(junk);
    free(one);
}

/* ---- promtool ------------------------------------------------------------------- */

static int run_promtool(void)
{
    const char *path = getenv("PATH");
    bool found = false;
    for (char *list = nm_xstrdup(path ? path : "/usr/bin:/bin"), *p = list, *e;; p = e + 1) {
        e = strchr(p, ':');
        if (e)
            *e = '\0';
        char *cand = nm_xasprintf("%s/promtool", *p ? p : ".");
        found = access(cand, X_OK) == 0;
        free(cand);
        if (found || !e) {
            free(list);
            break;
        }
    }
    if (!found) {
        fprintf(stderr, "promtool not installed (Debian: apt-get install prometheus, or "
                        "bash scripts/deps.sh)\n");
        return 1;
    }
    char dir[] = "/tmp/nm-test-promtool-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    /* promtool must be able to say no, or its yes below means nothing. */
    char *bad = nm_xasprintf("%s/bad.prom", dir);
    nm_diag d = {{0}};
    static const char broken[] = "# TYPE nm_x gauge\nnm_x{host=\"a} 1\n";
    CHECK(nm_write_atomic(bad, broken, sizeof broken - 1, 0600, &d) == 0);
    char *bcmd = nm_xasprintf("promtool check metrics < '%s' 2>/dev/null", bad);
    int bst = system(bcmd);
    CHECK(WIFEXITED(bst) && WEXITSTATUS(bst) != 0);
    free(bcmd);
    free(bad);
    static const char *const names[] = {"hostile.json", "hostile-sanitised.json", "fleet-test.json",
                                        "fleet-full.json", "empty.json"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        json_t *r = load(names[i], JSON_ALLOW_NUL);
        char *file = nm_xasprintf("%s/%zu.prom", dir, i);
        struct nm_host_iter it;
        struct nm_host_iter_array_state ist;
        if (r)
            nm_host_iter_array(&it, &ist, r);
        CHECK(r && nm_report_write_stream(nm_report_prom_stream, r, &it, file, NULL) == 0);
        char *cmd = nm_xasprintf("promtool check metrics < '%s'", file);
        int st = system(cmd);
        int rc = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
        if (rc != 0)
            fprintf(stderr, "promtool check metrics failed for %s (exit %d)\n", names[i], rc);
        CHECK_INT(rc, 0);
        free(cmd);
        free(file);
        json_decref(r);
    }
    rm_rf(dir);
    return test_result();
}

int main(int argc, char **argv)
{
    xmlInitParser();
    if (argc > 1 && strcmp(argv[1], "promtool") == 0) {
        int rc = run_promtool();
        xmlCleanupParser();
        return rc;
    }
    test_clean_text();
    test_parse_utc();
    test_formats_parse();
    test_html_hostile();
    test_html_fixtures();
    test_html_links_and_code();
    test_html_stream();
    test_junit();
    test_prom();
    test_cmd_report();
    xmlCleanupParser();
    return test_result();
}
