/*
 * The JSON report and the set of files a run publishes: the timestamped
 * JSON, the rendered formats, then latest.json, staged in the report
 * directory and renamed into place together (nearmiss/outdir.h).
 */
#include <stdlib.h>
#include <string.h>

#include "nearmiss/outdir.h"
#include "nearmiss/report.h"
#include "nearmiss/util.h"
#include "nearmiss/writers.h"

int nm_report_parse(const char *data, size_t len, const char *name, json_t **ret_report, nm_diag *d)
{
    json_error_t err;
    /* JSON_ALLOW_NUL: a hand-edited report may hold \u0000; the writers turn
     * NULs into U+FFFD rather than cut strings short. */
    json_t *report = json_loadb(data, len, JSON_ALLOW_NUL, &err);
    if (!report)
        return nm_diag_set(d, NM_ERR_PARSE, "%s:%d:%d: not valid JSON: %s", name, err.line,
                           err.column, err.text);
    int r = 0;
    const char *schema = json_string_value(json_object_get(report, "schema"));
    if (!json_is_object(report) || !schema)
        r = nm_diag_set(d, NM_ERR_PARSE, "%s: not a nearmiss report (no \"schema\")", name);
    else if (strcmp(schema, NM_REPORT_SCHEMA) != 0 &&
             !nm_str_has_prefix(schema, NM_REPORT_SCHEMA "."))
        r = nm_diag_set(d, NM_ERR_PARSE,
                        "%s: schema \"%.100s\" is not supported (this version reads %s)", name,
                        schema, NM_REPORT_SCHEMA);
    else if (!json_is_array(json_object_get(report, "hosts")))
        r = nm_diag_set(d, NM_ERR_PARSE, "%s: \"hosts\" is missing or not an array", name);
    if (r < 0) {
        json_decref(report);
        return r;
    }
    *ret_report = report;
    return 0;
}

static int render_json(const json_t *report, char **ret_text, size_t *ret_len, nm_diag *d)
{
    /* Host data went through the sanitiser, so this cannot fail on content;
     * JSON_ENSURE_ASCII is not used: reports stay readable UTF-8.  Fifteen
     * significant digits print a score of 37.8 as 37.8, where jansson's
     * default seventeen show the binary rounding (37.799999999999997). */
    char *text = json_dumps(report, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15));
    if (!text)
        return nm_diag_set(d, NM_ERR_NOMEM, "cannot serialise the report");
    /* One trailing newline, as text files have; jansson allocates with malloc. */
    size_t len = strlen(text);
    text = nm_xrealloc(text, len + 2);
    text[len++] = '\n';
    text[len] = '\0';
    *ret_text = text;
    *ret_len = len;
    return 0;
}

char *nm_report_stamped_name(const json_t *report)
{
    /* nearmiss-20261124T020000Z.json: sortable, one per run. */
    const char *started = json_string_value(json_object_get(report, "started_at"));
    char stamp[32] = "unknown";
    if (started) {
        size_t o = 0;
        for (const char *s = started; *s && o + 1 < sizeof stamp; s++)
            if ((*s >= '0' && *s <= '9') || (*s >= 'A' && *s <= 'Z'))
                stamp[o++] = *s;
        stamp[o] = '\0';
    }
    return nm_xasprintf("nearmiss-%s.json", stamp);
}

int nm_report_stage(const json_t *report, struct nm_outdir *od, unsigned formats,
                    char **ret_json_name, nm_diag *d)
{
    char *text = NULL, *stamped = NULL;
    size_t len = 0;
    int r = render_json(report, &text, &len, d);
    if (r < 0)
        return r;
    stamped = nm_report_stamped_name(report);
    r = nm_outdir_stage(od, stamped, text, len, d);
    if (r == 0)
        r = nm_report_stage_formats(report, od, formats, d);
    /* Last, so that whoever reads latest.json finds the rest already there. */
    if (r == 0)
        r = nm_outdir_stage(od, NM_REPORT_LATEST_NAME, text, len, d);
    free(text);
    if (r == 0 && ret_json_name) {
        *ret_json_name = stamped;
        stamped = NULL;
    }
    free(stamped);
    return r;
}

int nm_report_write_json(const json_t *report, const char *out_dir, char **ret_path, nm_diag *d)
{
    struct nm_outdir od;
    char *name = NULL;
    nm_outdir_init(&od);
    int r = nm_outdir_open(&od, out_dir, NM_OUTDIR_FILE_MODE, d);
    if (r == 0)
        r = nm_report_stage(report, &od, NM_FORMAT_JSON, &name, d);
    if (r == 0)
        r = nm_outdir_publish(&od, d);
    nm_outdir_finish(&od);
    if (r == 0 && ret_path)
        *ret_path = nm_xasprintf("%s/%s", out_dir, name);
    free(name);
    return r;
}
