/* The worked examples of docs/scoring.md and the orderings a person expects
 * from a risk score, pinned. */
#include <math.h>

#include "nearmiss/score.h"
#include "test.h"

static double worth_of(const json_t *host, size_t i)
{
    return json_number_value(
        json_object_get(json_array_get(json_object_get(host, "score_breakdown"), i), "worth"));
}

static double score_of(const json_t *host)
{
    return json_number_value(json_object_get(host, "score"));
}

static int near(double a, double b)
{
    return fabs(a - b) < 1e-9;
}

/* A scanned host with the given criticality (NULL: default). */
static json_t *host_new(const char *criticality)
{
    json_t *h = json_pack("{s:s, s:[]}", "status", "ok", "findings");
    if (criticality)
        json_object_set_new(h, "criticality", json_string(criticality));
    return h;
}

static void add(json_t *h, const char *severity, size_t n)
{
    json_t *fs = json_object_get(h, "findings");
    for (size_t i = 0; i < n; i++) {
        json_t *f = json_pack("{s:s, s:s}", "severity", severity, "check", "c");
        json_object_set_new(f, "fingerprint",
                            json_sprintf("%s-%zu", severity, json_array_size(fs)));
        json_array_append_new(fs, f);
    }
}

static json_t *host_with(const char *criticality, size_t crit, size_t high, size_t medium,
                         size_t low)
{
    json_t *h = host_new(criticality);
    add(h, "critical", crit);
    add(h, "high", high);
    add(h, "medium", medium);
    add(h, "low", low);
    nm_score_host(h);
    return h;
}

static double scored(const char *criticality, size_t crit, size_t high, size_t medium, size_t low)
{
    json_t *h = host_with(criticality, crit, high, medium, low);
    double s = score_of(h);
    json_decref(h);
    return s;
}

static void examples(void)
{
    /* Example 1: a critical-criticality db host, /var at 97 % (critical at
     * 95, urgency 1.2) and / at 88 % (medium at 85, urgency 1.1). */
    json_t *h = json_pack("{s:s, s:s, s:[{s:s, s:s, s:i, s:i, s:s}, {s:s, s:s, s:i, s:i, s:s}]}",
                          "status", "ok", "criticality", "critical", "findings", "severity",
                          "critical", "check", "disk-space", "value", 97, "threshold", 95,
                          "fingerprint", "a", "severity", "medium", "check", "disk-space", "value",
                          88, "threshold", 85, "fingerprint", "b");
    nm_score_host(h);
    CHECK(near(score_of(h), 41.9));
    CHECK(near(worth_of(h, 0), 41.2));
    CHECK(near(worth_of(h, 1), 0.4));
    CHECK(json_object_get(h, "score_capped_from") == NULL);
    json_decref(h);

    /* Example 2: a medium host, certificate with 5 days left (critical under
     * 7, urgency 1.14) and a pending reboot (medium). */
    h = json_pack("{s:s, s:[{s:s, s:i, s:i, s:s}, {s:s, s:s}]}", "status", "ok", "findings",
                  "severity", "critical", "value", 5, "threshold", 7, "fingerprint", "a",
                  "severity", "medium", "fingerprint", "b");
    nm_score_host(h);
    CHECK(near(score_of(h), 22.7));
    CHECK(near(worth_of(h, 0), 22.4));
    CHECK(near(worth_of(h, 1), 0.2));
    json_decref(h);

    /* Example 3: expired certificate (-3 days) on a low-criticality host; a
     * waived high finding and an info finding add nothing. */
    h = json_pack("{s:s, s:s, s:[{s:s, s:i, s:i}, {s:s, s:b}, {s:s}]}", "status", "ok",
                  "criticality", "low", "findings", "severity", "critical", "value", -3,
                  "threshold", 7, "severity", "high", "waived", 1, "severity", "info");
    nm_score_host(h);
    CHECK(near(score_of(h), 15.4));
    CHECK_INT(json_array_size(json_object_get(h, "score_breakdown")), 1);
    CHECK(near(worth_of(h, 0), 15.4));
    json_decref(h);

    /* Example 3b: expired by a rule whose threshold is 0 is as urgent as it
     * gets (1.5). */
    h = json_pack("{s:s, s:[{s:s, s:i, s:i}]}", "status", "ok", "findings", "severity", "critical",
                  "value", -5, "threshold", 0);
    nm_score_host(h);
    CHECK(near(score_of(h), 28.4));
    json_decref(h);

    /* Example 4: a host that could not be scanned has unknown risk. */
    h = json_pack("{s:s, s:[{s:s}]}", "status", "timeout", "findings", "severity", "critical");
    nm_score_host(h);
    CHECK(json_is_null(json_object_get(h, "score")));
    json_decref(h);

    /* Example 5: the fleet: hosts 41.9, 22.7, 0 and one unscanned (55.1) and a medium
     * fleet finding naming no known host. */
    json_t *r = json_pack("{s:{s:i}, s:[{s:f}, {s:f}, {s:i}, {s:n}], s:[{s:s, s:s}]}", "summary",
                          "scanned", 3, "hosts", "score", 41.9, "score", 22.7, "score", 0, "score",
                          "fleet_findings", "severity", "medium", "fingerprint", "ff");
    json_t *fs = nm_score_fleet(r);
    CHECK(json_is_number(fs) && near(json_number_value(fs), 55.2));
    json_decref(fs);
    json_t *bd = nm_score_fleet_breakdown(r);
    CHECK_INT(json_array_size(bd), 1);
    CHECK(near(json_number_value(json_object_get(json_array_get(bd, 0), "worth")), 0.1));
    json_decref(bd);
    json_decref(r);

    /* Urgency stays within 1 .. 1.5 whatever the values. */
    json_t *f = json_pack("{s:i, s:i}", "value", 1000, "threshold", 95);
    CHECK(nm_score_urgency(f) == 1.0);
    json_decref(f);
    f = json_pack("{s:f, s:i}", "value", 100.0, "threshold", 95);
    CHECK(nm_score_urgency(f) == 1.5);
    json_decref(f);
}

static void orderings(void)
{
    /* Severity ranks: three criticals > one critical > five highs > one
     * high > many lows > nothing. */
    double c3 = scored(NULL, 3, 0, 0, 0), c1 = scored(NULL, 1, 0, 0, 0);
    double h5 = scored(NULL, 0, 5, 0, 0), h1 = scored(NULL, 0, 1, 0, 0);
    double l40 = scored(NULL, 0, 0, 0, 40), none = scored(NULL, 0, 0, 0, 0);
    CHECK(c3 > c1);
    CHECK(c1 > h5);
    CHECK(h5 > h1);
    CHECK(h1 > l40);
    CHECK(l40 > none);
    CHECK(none == 0);
    /* Even five highs at their most urgent stay below the least urgent
     * critical. */
    json_t *h = host_new(NULL);
    for (int i = 0; i < 5; i++)
        json_array_append_new(
            json_object_get(h, "findings"),
            json_pack("{s:s, s:i, s:i}", "severity", "high", "value", 100, "threshold", 90));
    nm_score_host(h);
    CHECK(score_of(h) < c1);
    json_decref(h);

    /* The top end keeps ranking: a critical-criticality host with six
     * expired certificates does not tie with one holding five. */
    for (size_t n = 1; n < 6; n++) {
        json_t *a = host_new("critical"), *b = host_new("critical");
        for (size_t i = 0; i < n + 1; i++) {
            json_t *f =
                json_pack("{s:s, s:i, s:i}", "severity", "critical", "value", -1, "threshold", 7);
            if (i < n)
                json_array_append(json_object_get(a, "findings"), f);
            json_array_append_new(json_object_get(b, "findings"), f);
        }
        nm_score_host(a);
        nm_score_host(b);
        CHECK(score_of(b) > score_of(a));
        CHECK(score_of(b) < 100);
        json_decref(a);
        json_decref(b);
    }

    /* Host criticality ranks among equal findings. */
    CHECK(scored("critical", 1, 2, 0, 0) > scored("high", 1, 2, 0, 0));
    CHECK(scored("high", 1, 2, 0, 0) > scored(NULL, 1, 2, 0, 0));
    CHECK(scored(NULL, 1, 2, 0, 0) > scored("low", 1, 2, 0, 0));
    CHECK(scored("critical", 0, 1, 0, 0) > scored("low", 0, 1, 0, 0));

    /* An expired certificate outranks one expiring in 5 days. */
    json_t *exp = json_pack("{s:s, s:[{s:s, s:i, s:i}]}", "status", "ok", "findings", "severity",
                            "critical", "value", -2, "threshold", 7);
    json_t *soon = json_pack("{s:s, s:[{s:s, s:i, s:i}]}", "status", "ok", "findings", "severity",
                             "critical", "value", 5, "threshold", 7);
    nm_score_host(exp);
    nm_score_host(soon);
    CHECK(score_of(exp) > score_of(soon));
    json_decref(exp);
    json_decref(soon);

    /* A degraded array (high) with everything else a host at 0 criticals
     * can carry short of absurd never ties with a host holding a critical,
     * even on a low-criticality host. */
    double raid = scored("critical", 0, 1, 5, 20);
    CHECK(raid < scored("low", 1, 0, 0, 0));
    CHECK(raid != scored(NULL, 1, 0, 0, 0));

    /* Adding a finding never lowers a score, at every size and severity. */
    static const char *const sevs[] = {"critical", "high", "medium", "low", "info"};
    for (size_t s = 0; s < 5; s++) {
        json_t *g = host_new("high");
        double prev = 0;
        for (int i = 0; i < 60; i++) {
            add(g, sevs[(s + (size_t)i) % 5], 1);
            nm_score_host(g);
            CHECK(score_of(g) >= prev);
            prev = score_of(g);
        }
        /* Every counting finding in the breakdown, none worth less than 0. */
        size_t k;
        json_t *e;
        json_array_foreach (json_object_get(g, "score_breakdown"), k, e)
            CHECK(json_number_value(json_object_get(e, "worth")) >= 0);
        CHECK_INT(json_array_size(json_object_get(g, "score_breakdown")), 48);
        json_decref(g);
    }
    /* One low finding is not "nothing found". */
    CHECK(scored(NULL, 0, 0, 0, 1) > 0);
}

static void fleet(void)
{
    /* Nothing scanned: no fleet score, whatever the fleet findings say. */
    json_t *r = json_pack("{s:[{s:n, s:s}], s:[{s:s}]}", "hosts", "score", "status", "timeout",
                          "fleet_findings", "severity", "critical");
    json_t *fs = nm_score_fleet(r);
    CHECK(json_is_null(fs));
    json_decref(fs);
    json_t *bd = nm_score_fleet_breakdown(r);
    CHECK_INT(json_array_size(bd), 0);
    json_decref(bd);
    json_decref(r);
    r = json_pack("{s:[], s:[]}", "hosts", "fleet_findings");
    fs = nm_score_fleet(r);
    CHECK(json_is_null(fs));
    json_decref(fs);
    json_decref(r);

    /* A scanned, clean fleet is 0, not unknown. */
    r = json_pack("{s:[{s:i}], s:[]}", "hosts", "score", 0, "fleet_findings");
    fs = nm_score_fleet(r);
    CHECK(json_is_number(fs) && json_number_value(fs) == 0);
    json_decref(fs);
    json_decref(r);

    /* A fleet finding on a role of critical hosts counts more than the
     * same finding on a role of low-criticality hosts. */
    json_t *a =
        json_pack("{s:[{s:s, s:s, s:i}], s:[{s:s, s:[s]}]}", "hosts", "name", "db1", "criticality",
                  "critical", "score", 0, "fleet_findings", "severity", "high", "hosts", "db1");
    json_t *b =
        json_pack("{s:[{s:s, s:s, s:i}], s:[{s:s, s:[s]}]}", "hosts", "name", "db1", "criticality",
                  "low", "score", 0, "fleet_findings", "severity", "high", "hosts", "db1");
    json_t *fa = nm_score_fleet(a), *fb = nm_score_fleet(b);
    CHECK(json_number_value(fa) > json_number_value(fb));
    json_decref(fa);
    json_decref(fb);
    json_decref(a);
    json_decref(b);

    /* The fleet score ranks too: more or worse hosts, higher score. */
    json_t *h1 = host_with(NULL, 1, 0, 0, 0), *h2 = host_with(NULL, 0, 5, 0, 0);
    r = json_pack("{s:[O, O], s:[]}", "hosts", h1, h2, "fleet_findings");
    json_t *one = json_pack("{s:[O], s:[]}", "hosts", h1, "fleet_findings");
    json_t *f2 = nm_score_fleet(r), *f1 = nm_score_fleet(one);
    CHECK(json_number_value(f2) > json_number_value(f1));
    CHECK(json_number_value(f2) < 100);
    json_decref(f1);
    json_decref(f2);
    json_decref(one);
    json_decref(r);
    json_decref(h1);
    json_decref(h2);
}

int main(void)
{
    examples();
    orderings();
    fleet();
    return test_result();
}
