/* The report's summary: counts by status and severity, and the fleet score. */
#include <string.h>

#include "nearmiss/report_view.h"
#include "nearmiss/report.h"
#include "nearmiss/score.h"

void nm_report_summarize(json_t *report)
{
    /* In the report's order, worst first. */
    static const enum nm_severity order[] = {NM_SEV_CRITICAL, NM_SEV_HIGH, NM_SEV_MEDIUM,
                                             NM_SEV_LOW, NM_SEV_INFO};
    json_int_t counts[NM_SEV_CRITICAL + 1] = {0};
    enum nm_severity s;
    json_int_t scanned = 0, failed = 0;
    json_t *hosts = json_object_get(report, "hosts");
    size_t i;
    json_t *h;
    json_array_foreach (hosts, i, h) {
        if (nm_view_host_ok(h))
            scanned++;
        else
            failed++;
        size_t j;
        json_t *f;
        json_array_foreach (json_object_get(h, "findings"), j, f) {
            if (nm_view_active(f) && (s = nm_view_severity(f)) != NM_SEV_NONE)
                counts[s]++;
        }
    }
    /* Waivers are for host findings; fleet findings always count. */
    json_array_foreach (json_object_get(report, "fleet_findings"), i, h) {
        if ((s = nm_view_severity(h)) != NM_SEV_NONE)
            counts[s]++;
    }
    json_t *fc = json_object();
    for (size_t k = 0; k < sizeof order / sizeof order[0]; k++)
        json_object_set_new(fc, nm_severity_name(order[k]), json_integer(counts[order[k]]));
    json_t *summary = json_pack("{s:I, s:I, s:I, s:o}", "hosts", (json_int_t)json_array_size(hosts),
                                "scanned", scanned, "failed", failed, "findings", fc);
    json_object_set_new(summary, "fleet_score", nm_score_fleet(report));
    json_object_set_new(summary, "fleet_score_breakdown", nm_score_fleet_breakdown(report));
    json_object_set_new(report, "summary", summary);
}
