/* The worked examples of docs/scoring.md, pinned. */
#include <math.h>

#include "nearmiss/score.h"
#include "test.h"

static double points_of(const json_t *host, size_t i)
{
    return json_real_value(
        json_object_get(json_array_get(json_object_get(host, "score_breakdown"), i), "points"));
}

int main(void)
{
    /* Example 1: a critical-criticality db host, /var at 97 % (critical at
     * 95) and / at 88 % (medium at 85): 40 x 1.2 x 2 = 96 and
     * 5 x 1.1 x 2 = 11; 107 capped at 100. */
    json_t *h = json_pack("{s:s, s:s, s:[{s:s, s:s, s:i, s:i, s:s}, {s:s, s:s, s:i, s:i, s:s}]}",
                          "status", "ok", "criticality", "critical", "findings", "severity",
                          "critical", "check", "disk-space", "value", 97, "threshold", 95,
                          "fingerprint", "a", "severity", "medium", "check", "disk-space", "value",
                          88, "threshold", 85, "fingerprint", "b");
    nm_score_host(h);
    CHECK(fabs(points_of(h, 0) - 96.0) < 1e-9);
    CHECK(fabs(points_of(h, 1) - 11.0) < 1e-9);
    CHECK_INT(json_integer_value(json_object_get(h, "score")), 100);
    CHECK(fabs(json_real_value(json_object_get(h, "score_capped_from")) - 107.0) < 1e-9);
    json_decref(h);

    /* Example 2: a medium host, certificate with 5 days left (critical under
     * 7): urgency 1 + 0.5 x 2/7 = 1.142857 -> 40 x 1.14 = 45.71; a pending
     * reboot (medium, no value): 5.  Score 51. */
    h = json_pack("{s:s, s:[{s:s, s:i, s:i}, {s:s}]}", "status", "ok", "findings", "severity",
                  "critical", "value", 5, "threshold", 7, "severity", "medium");
    nm_score_host(h);
    CHECK(fabs(points_of(h, 0) - 45.71) < 1e-9);
    CHECK(fabs(points_of(h, 1) - 5.0) < 1e-9);
    CHECK_INT(json_integer_value(json_object_get(h, "score")), 51);
    json_decref(h);

    /* Example 3: expired certificate (-3 days) on a low-criticality host:
     * 40 x 1.5 x 0.5 = 30; a waived high finding and an info finding add
     * nothing. */
    h = json_pack("{s:s, s:s, s:[{s:s, s:i, s:i}, {s:s, s:b}, {s:s}]}", "status", "ok",
                  "criticality", "low", "findings", "severity", "critical", "value", -3,
                  "threshold", 7, "severity", "high", "waived", 1, "severity", "info");
    nm_score_host(h);
    CHECK_INT(json_integer_value(json_object_get(h, "score")), 30);
    CHECK_INT(json_array_size(json_object_get(h, "score_breakdown")), 1);
    json_decref(h);

    /* Example 3b: an expired certificate judged by a rule whose threshold is
     * 0 ("expired") is as urgent as it gets: 40 x 1.5 = 60. */
    h = json_pack("{s:s, s:[{s:s, s:i, s:i}]}", "status", "ok", "findings", "severity", "critical",
                  "value", -5, "threshold", 0);
    nm_score_host(h);
    CHECK_INT(json_integer_value(json_object_get(h, "score")), 60);
    json_decref(h);

    /* Example 4: a host that could not be scanned has unknown risk. */
    h = json_pack("{s:s, s:[{s:s}]}", "status", "timeout", "findings", "severity", "critical");
    nm_score_host(h);
    CHECK(json_is_null(json_object_get(h, "score")));
    json_decref(h);

    /* Example 5: the fleet: hosts 100, 51, 0 and one unscanned; a medium
     * fleet finding.  0.5 x 100 + 0.5 x 50.33 + 5 = 80.17 -> 80. */
    json_t *r = json_pack("{s:[{s:i}, {s:i}, {s:i}, {s:n}], s:[{s:s}]}", "hosts", "score", 100,
                          "score", 51, "score", 0, "score", "fleet_findings", "severity", "medium");
    json_t *fs = nm_score_fleet(r);
    CHECK_INT(json_integer_value(fs), 80);
    json_decref(fs);
    json_decref(r);

    /* Urgency stays within 1 .. 1.5 whatever the values. */
    json_t *f = json_pack("{s:i, s:i}", "value", 1000, "threshold", 95);
    CHECK(nm_score_urgency(f) == 1.0);
    json_decref(f);
    f = json_pack("{s:f, s:i}", "value", 100.0, "threshold", 95);
    CHECK(nm_score_urgency(f) == 1.5);
    json_decref(f);
    return test_result();
}
