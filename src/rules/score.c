#include <math.h>
#include <string.h>

#include "nearmiss/report_view.h"
#include "nearmiss/score.h"

/* docs/scoring.md explains every number here with worked examples. */

int nm_score_severity_weight(enum nm_severity s)
{
    /* One critical finding alone puts a host in the upper half; it takes
     * many low findings to rival one high. */
    switch (s) {
    case NM_SEV_CRITICAL:
        return 40;
    case NM_SEV_HIGH:
        return 15;
    case NM_SEV_MEDIUM:
        return 5;
    case NM_SEV_LOW:
        return 1;
    case NM_SEV_INFO:
    case NM_SEV_NONE:
        return 0;
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

double nm_score_urgency(const json_t *finding)
{
    const json_t *v = json_object_get(finding, "value");
    const json_t *t = json_object_get(finding, "threshold");
    if (!json_is_number(v) || !json_is_number(t))
        return 1.0;
    double value = json_number_value(v), thr = json_number_value(t), past;
    if (value >= thr && thr < 100 && value <= 100) {
        /* A percentage past its threshold: how much of the remaining room
         * is gone (disk at 97 with threshold 95: 2 of the last 5 points). */
        past = (value - thr) / (100 - thr);
    } else if (value < thr && value <= 0) {
        /* A countdown that ran out (expired: days left <= 0). */
        past = 1.0;
    } else if (value < thr && thr > 0) {
        /* A countdown under its threshold (days left): how much of the
         * warning time is used up. */
        past = (thr - value) / thr;
    } else {
        return 1.0;
    }
    if (past < 0)
        past = 0;
    if (past > 1)
        past = 1;
    return 1.0 + 0.5 * past;
}

static double round2(double x)
{
    return round(x * 100.0) / 100.0;
}

void nm_score_host(json_t *host)
{
    if (!nm_view_host_ok(host)) {
        json_object_set_new(host, "score", json_null());
        json_object_set_new(host, "score_breakdown", json_array());
        return;
    }
    const char *crit = json_string_value(json_object_get(host, "criticality"));
    double factor = nm_score_criticality_factor(crit);
    double total = 0;
    json_t *parts = json_array();
    size_t i;
    json_t *f;
    json_array_foreach (json_object_get(host, "findings"), i, f) {
        if (!nm_view_active(f))
            continue;
        enum nm_severity s = nm_view_severity(f);
        int weight = nm_score_severity_weight(s);
        if (weight <= 0)
            continue;
        double urgency = nm_score_urgency(f);
        double pts = round2(weight * urgency * factor);
        total += pts;
        json_array_append_new(
            parts, json_pack("{s:s?, s:s?, s:s?, s:s, s:i, s:f, s:f, s:f}", "fingerprint",
                             json_string_value(json_object_get(f, "fingerprint")), "check",
                             json_string_value(json_object_get(f, "check")), "subject",
                             json_string_value(json_object_get(f, "subject")), "severity",
                             nm_severity_name(s), "weight", weight, "urgency", round2(urgency),
                             "criticality", factor, "points", pts));
    }
    int score = (int)lround(total > 100 ? 100 : total);
    json_object_set_new(host, "score", json_integer(score));
    json_object_set_new(host, "score_breakdown", parts);
    if (total > 100)
        json_object_set_new(host, "score_capped_from", json_real(round2(total)));
    else
        json_object_del(host, "score_capped_from");
}

json_t *nm_score_fleet(const json_t *report)
{
    double sum = 0, max = 0;
    size_t n = 0, i;
    json_t *h;
    json_array_foreach (json_object_get(report, "hosts"), i, h) {
        json_t *s = json_object_get(h, "score");
        if (!json_is_integer(s))
            continue;
        double v = (double)json_integer_value(s);
        sum += v;
        max = v > max ? v : max;
        n++;
    }
    double fleet = 0;
    json_array_foreach (json_object_get(report, "fleet_findings"), i, h)
        fleet += nm_score_severity_weight(nm_view_severity(h));
    if (n == 0 && fleet == 0)
        return json_null();
    /* Half the worst host, half the average: one burning host shows, and so
     * does a fleet where everything smoulders; fleet-level single points of
     * failure add their weight on top. */
    double v = (n ? 0.5 * max + 0.5 * (sum / (double)n) : 0) + fleet;
    return json_integer((json_int_t)lround(v > 100 ? 100 : v));
}
