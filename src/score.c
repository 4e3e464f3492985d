#include <math.h>
#include <string.h>

#include "nearmiss/score.h"

int nm_score_severity_weight(enum nm_severity s)
{
    /* One critical finding alone puts a host in the top band; it takes
     * many low findings to rival one high. */
    switch (s) {
    case NM_SEV_CRITICAL: return 40;
    case NM_SEV_HIGH: return 15;
    case NM_SEV_MEDIUM: return 5;
    case NM_SEV_LOW: return 1;
    case NM_SEV_INFO:
    case NM_SEV_NONE: return 0;
    }
    return 0;
}

double nm_score_criticality_factor(const char *c)
{
    if (!c)
        return 1.0;
    if (strcmp(c, "low") == 0)
        return 0.5;
    if (strcmp(c, "high") == 0)
        return 1.5;
    if (strcmp(c, "critical") == 0)
        return 2.0;
    return 1.0;
}

void nm_score_host(json_t *host)
{
    const char *status = json_string_value(json_object_get(host, "status"));
    if (!status || strcmp(status, "ok") != 0) {
        json_object_set_new(host, "score", json_null());
        json_object_set_new(host, "score_breakdown", json_array());
        return;
    }
    double factor = nm_score_criticality_factor(
        json_string_value(json_object_get(host, "criticality")));
    double total = 0;
    json_t *parts = json_array();
    size_t i;
    json_t *f;
    json_array_foreach(json_object_get(host, "findings"), i, f) {
        if (json_is_true(json_object_get(f, "waived")))
            continue;
        enum nm_severity s = nm_severity_from_name(json_string_value(json_object_get(f, "severity")));
        double pts = nm_score_severity_weight(s) * factor;
        if (pts <= 0)
            continue;
        total += pts;
        json_array_append_new(parts, json_pack("{s:s, s:s, s:f}", "fingerprint",
                                               json_string_value(json_object_get(f, "fingerprint")),
                                               "check", json_string_value(json_object_get(f, "check")),
                                               "points", pts));
    }
    int score = (int)lround(total > 100 ? 100 : total);
    json_object_set_new(host, "score", json_integer(score));
    json_object_set_new(host, "score_breakdown", parts);
}

json_t *nm_score_fleet(const json_t *report)
{
    double sum = 0, max = 0;
    size_t n = 0, i;
    json_t *h;
    json_array_foreach(json_object_get(report, "hosts"), i, h) {
        json_t *s = json_object_get(h, "score");
        if (!json_is_integer(s))
            continue;
        double v = (double)json_integer_value(s);
        sum += v;
        max = v > max ? v : max;
        n++;
    }
    double fleet = 0;
    json_array_foreach(json_object_get(report, "fleet_findings"), i, h)
        fleet += nm_score_severity_weight(
            nm_severity_from_name(json_string_value(json_object_get(h, "severity"))));
    if (n == 0 && fleet == 0)
        return json_null();
    /* Half the worst host, half the average: one burning host shows, and so
     * does a fleet where everything smoulders. */
    double v = (n ? 0.5 * max + 0.5 * (sum / (double)n) : 0) + fleet;
    return json_integer((json_int_t)lround(v > 100 ? 100 : v));
}
