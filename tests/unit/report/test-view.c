/* The typed view of a report: statuses, severities, waived findings, and the
 * host index, on a report as hostile as a hand-edited file can be. */
#include <jansson.h>
#include <stdlib.h>

#include "nearmiss/report_view.h"
#include "test.h"

static const char report_text[] =
    "{\"hosts\": ["
    " {\"name\": \"web1\", \"status\": \"ok\", \"findings\": ["
    "   {\"severity\": \"high\"}, {\"severity\": \"critical\", \"waived\": true}]},"
    " {\"name\": \"db1\", \"status\": \"hostkey_mismatch\", \"findings\": []},"
    " {\"name\": \"odd\", \"status\": \"OK\", \"findings\": [{\"severity\": \"urgent\"}]},"
    " {\"name\": \"web1\", \"status\": \"timeout\"},"
    " {\"status\": \"ok\"},"
    " {\"name\": 7, \"status\": null}],"
    " \"fleet_findings\": [{\"severity\": \"medium\"}]}";

int main(void)
{
    json_error_t err;
    json_t *r = json_loads(report_text, 0, &err);
    CHECK(r != NULL);
    const json_t *hosts = json_object_get(r, "hosts");

    CHECK_INT(nm_view_host_status(json_array_get(hosts, 0)), NM_HOST_OK);
    CHECK(nm_view_host_ok(json_array_get(hosts, 0)));
    CHECK_INT(nm_view_host_status(json_array_get(hosts, 1)), NM_HOST_HOSTKEY_MISMATCH);
    CHECK(!nm_view_host_ok(json_array_get(hosts, 1)));
    /* Names are exact: "OK" is not a status; null and missing are unknown. */
    CHECK_INT(nm_view_host_status(json_array_get(hosts, 2)), NM_HOST_UNKNOWN);
    CHECK_INT(nm_view_host_status(json_array_get(hosts, 5)), NM_HOST_UNKNOWN);
    CHECK_INT(nm_view_host_status(NULL), NM_HOST_UNKNOWN);
    for (int s = NM_HOST_OK; s <= NM_HOST_ERROR; s++)
        CHECK_INT(nm_host_status_from_name(nm_host_status_name((enum nm_host_status)s)), s);

    const json_t *f = json_object_get(json_array_get(hosts, 0), "findings");
    CHECK_INT(nm_view_severity(json_array_get(f, 0)), NM_SEV_HIGH);
    CHECK(nm_view_active(json_array_get(f, 0)));
    CHECK_INT(nm_view_severity(json_array_get(f, 1)), NM_SEV_CRITICAL);
    CHECK(!nm_view_active(json_array_get(f, 1)));
    f = json_object_get(json_array_get(hosts, 2), "findings");
    CHECK_INT(nm_view_severity(json_array_get(f, 0)), NM_SEV_NONE);

    /* The waived critical does not count; the fleet's medium does, below high. */
    CHECK_INT(nm_view_worst_active(r), NM_SEV_HIGH);
    json_t *calm = json_pack("{s:[], s:[{s:s}]}", "hosts", "fleet_findings", "severity", "low");
    CHECK_INT(nm_view_worst_active(calm), NM_SEV_LOW);
    json_decref(calm);
    CHECK_INT(nm_view_worst_active(NULL), NM_SEV_NONE);

    struct nm_report_index idx;
    nm_report_index_init(&idx, r);
    CHECK_INT(idx.n, 4); /* the two without a string name are left out */
    /* Of two hosts named web1, the first. */
    CHECK(nm_report_index_host(&idx, "web1") == json_array_get(hosts, 0));
    CHECK(nm_report_index_host(&idx, "db1") == json_array_get(hosts, 1));
    CHECK(nm_report_index_host(&idx, "odd") == json_array_get(hosts, 2));
    CHECK(nm_report_index_host(&idx, "nope") == NULL);
    CHECK(nm_report_index_host(&idx, NULL) == NULL);
    nm_report_index_finish(&idx);
    nm_report_index_finish(&idx);
    nm_report_index_finish(NULL);

    nm_report_index_init(&idx, NULL);
    CHECK(nm_report_index_host(&idx, "web1") == NULL);
    nm_report_index_finish(&idx);

    json_decref(r);
    return test_result();
}
