#include <stdlib.h>
#include <string.h>

#include "nearmiss/report.h"
#include "nearmiss/util.h"

int nm_report_write_json(const json_t *report, const char *out_dir, char **ret_path, nm_diag *d)
{
    int r = nm_mkdir_p(out_dir, 0755, d);
    if (r < 0)
        return r;
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

    /* nearmiss-20261124T020000Z.json: sortable, one per run. */
    const char *started = json_string_value(json_object_get(report, "started_at"));
    char stamp[32] = "unknown";
    if (started) {
        size_t o = 0;
        for (const char *s = started; *s && o + 1 < sizeof stamp; s++)
            if (*s != '-' && *s != ':')
                stamp[o++] = *s;
        stamp[o] = '\0';
    }
    char *stamped = nm_xasprintf("%s/nearmiss-%s.json", out_dir, stamp);
    char *latest = nm_xasprintf("%s/latest.json", out_dir);
    r = nm_write_atomic(stamped, text, len, 0644, d);
    if (r == 0)
        r = nm_write_atomic(latest, text, len, 0644, d);
    free(text);
    free(latest);
    if (r == 0 && ret_path)
        *ret_path = stamped;
    else
        free(stamped);
    return r;
}
