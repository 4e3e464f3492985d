/* Typed reading of a report (nearmiss/report_view.h). */
#include <stdlib.h>
#include <string.h>

#include "nearmiss/report_view.h"
#include "nearmiss/util.h"

enum nm_host_status nm_view_host_status(const json_t *host)
{
    return nm_host_status_from_name(json_string_value(json_object_get(host, "status")));
}

bool nm_view_host_ok(const json_t *host)
{
    return nm_view_host_status(host) == NM_HOST_OK;
}

enum nm_severity nm_view_severity(const json_t *finding)
{
    return nm_severity_from_name(json_string_value(json_object_get(finding, "severity")));
}

bool nm_view_active(const json_t *finding)
{
    return !json_is_true(json_object_get(finding, "waived"));
}

enum nm_severity nm_view_worst_active(const json_t *report)
{
    enum nm_severity worst = NM_SEV_NONE, s;
    size_t i, j;
    const json_t *h, *f;
    json_array_foreach (json_object_get(report, "hosts"), i, h) {
        json_array_foreach (json_object_get(h, "findings"), j, f) {
            if (nm_view_active(f) && (s = nm_view_severity(f)) > worst)
                worst = s;
        }
    }
    json_array_foreach (json_object_get(report, "fleet_findings"), i, f) {
        if (nm_view_active(f) && (s = nm_view_severity(f)) > worst)
            worst = s;
    }
    return worst;
}

static int by_name(const void *a, const void *b)
{
    const struct nm_report_index_entry *x = a, *y = b;
    return strcmp(x->name, y->name);
}

/* Equal names keep their order in the report, so a lookup finds the first. */
static int by_name_then_position(const void *a, const void *b)
{
    const struct nm_report_index_entry *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : (x->pos > y->pos) - (x->pos < y->pos);
}

void nm_report_index_init(struct nm_report_index *idx, const json_t *report)
{
    const json_t *hosts = json_object_get(report, "hosts");
    size_t i, n = 0;
    const json_t *h;
    idx->entries = nm_xcalloc(json_array_size(hosts) + 1, sizeof *idx->entries);
    json_array_foreach (hosts, i, h) {
        const char *name = json_string_value(json_object_get(h, "name"));
        if (name)
            idx->entries[n++] = (struct nm_report_index_entry){.name = name, .host = h, .pos = i};
    }
    if (n > 1)
        qsort(idx->entries, n, sizeof *idx->entries, by_name_then_position);
    idx->n = n;
}

void nm_report_index_finish(struct nm_report_index *idx)
{
    if (!idx)
        return;
    free(idx->entries);
    idx->entries = NULL;
    idx->n = 0;
}

const json_t *nm_report_index_host(const struct nm_report_index *idx, const char *name)
{
    if (!name || idx->n == 0)
        return NULL;
    struct nm_report_index_entry key = {.name = name};
    const struct nm_report_index_entry *e =
        bsearch(&key, idx->entries, idx->n, sizeof *idx->entries, by_name);
    if (!e)
        return NULL;
    while (e > idx->entries && strcmp(e[-1].name, name) == 0)
        e--;
    return e->host;
}
