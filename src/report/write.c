/* What the writers share: turning libxml2's serialised buffer into ours, and
 * rendering straight to a file atomically. */
#include <libxml/xmlmemory.h>
#include <stdlib.h>
#include <string.h>

#include "nearmiss/outdir.h"
#include "nearmiss/util.h"
#include "nearmiss/writers.h"
#include "report/write.h"

int nm_report_take_xml(xmlChar *mem, int size, const char *what, char **ret_data, size_t *ret_len,
                       nm_diag *d)
{
    if (!mem || size <= 0) {
        xmlFree(mem);
        return nm_diag_set(d, NM_ERR_NOMEM, "cannot serialise the %s", what);
    }
    /* Copied so callers free with free(), whatever allocator libxml2 uses. */
    char *out = nm_xmalloc((size_t)size + 1);
    memcpy(out, mem, (size_t)size);
    out[size] = '\0';
    xmlFree(mem);
    *ret_data = out;
    *ret_len = (size_t)size;
    return 0;
}

int nm_report_write_rendered(nm_report_renderer render, const json_t *report, const char *path,
                             nm_diag *d)
{
    if (render == nm_report_render_html)
        return nm_report_write_html(report, path, d); /* streamed, not held */
    char *data = NULL;
    size_t len = 0;
    int r = render(report, &data, &len, d);
    if (r < 0)
        return r;
    r = nm_write_atomic(path, data, len, NM_OUTDIR_FILE_MODE, d);
    free(data);
    return r;
}
