/* The report's summary: counts by status and severity, and the fleet score. */
#include <string.h>

#include "nearmiss/report.h"
#include "nearmiss/score.h"

void nm_report_summarize(json_t *report)
{
    static const char *const sev[] = {"critical", "high", "medium", "low", "info"};
    json_int_t counts[5] = {0};
    json_int_t scanned = 0, failed = 0;
    json_t *hosts = json_object_get(report, "hosts");
    size_t i;
    json_t *h;
    json_array_foreach (hosts, i, h) {
        if (strcmp(json_string_value(json_object_get(h, "status")), "ok") == 0)
            scanned++;
        else
            failed++;
        size_t j;
        json_t *f;
        json_array_foreach (json_object_get(h, "findings"), j, f) {
            if (json_is_true(json_object_get(f, "waived")))
                continue;
            const char *s = json_string_value(json_object_get(f, "severity"));
            for (size_t k = 0; k < 5; k++)
                if (s && strcmp(s, sev[k]) == 0)
                    counts[k]++;
        }
    }
    json_array_foreach (json_object_get(report, "fleet_findings"), i, h) {
        const char *s = json_string_value(json_object_get(h, "severity"));
        for (size_t k = 0; k < 5; k++)
            if (s && strcmp(s, sev[k]) == 0)
                counts[k]++;
    }
    json_t *fc = json_object();
    for (size_t k = 0; k < 5; k++)
        json_object_set_new(fc, sev[k], json_integer(counts[k]));
    json_t *summary = json_pack("{s:I, s:I, s:I, s:o}", "hosts", (json_int_t)json_array_size(hosts),
                                "scanned", scanned, "failed", failed, "findings", fc);
    json_object_set_new(summary, "fleet_score", nm_score_fleet(report));
    json_object_set_new(report, "summary", summary);
}
