/*
 * A stored report as `nearmiss report` reads it (nm_report_parse: JSON,
 * schema, hosts), rendered to HTML, JUnit and Prometheus: the renderers must
 * take any JSON that passes those checks, however odd its types.
 */
#include <stdlib.h>

#include "fuzz.h"
#include "nearmiss/report.h"
#include "nearmiss/writers.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *report = NULL;
    if (nm_report_parse((const char *)data, size, "fuzz.json", &report, NULL) < 0)
        return 0;
    for (size_t i = 0; i < nm_report_n_formats; i++) {
        char *out = NULL;
        size_t len = 0;
        if (nm_report_formats[i].render(report, &out, &len, NULL) == 0)
            free(out);
    }
    json_decref(report);
    return 0;
}

const struct nm_fuzz_replay nm_fuzz_replay = {"report", NULL};
