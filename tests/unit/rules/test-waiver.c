#include <string.h>
#include <time.h>

#include "nearmiss/waiver.h"
#include "test.h"

static void expect_error(const char *json, const char *needle)
{
    struct nm_waivers ws;
    nm_diag d = {{0}};
    nm_waivers_init(&ws);
    CHECK(nm_waivers_load_buffer(&ws, "w.json", json, strlen(json), &d) < 0);
    CHECK_INT(ws.n, 0);
    if (!strstr(d.msg, needle) || !strstr(d.msg, "w.json")) {
        test_failures++;
        fprintf(stderr, "expected \"%s\" in: %s\n", needle, d.msg);
    }
    nm_waivers_finish(&ws);
}

static void test_errors(void)
{
    expect_error("[]", "nothing else");
    expect_error("{\"waivers\": [], \"x\": 1}", "nothing else");
    expect_error("{\"waivers\": [{\"check\": \"a\", \"expires\": \"never\"}]}",
                 "waivers[0]: justification: required");
    expect_error("{\"waivers\": [{\"check\": \"a\", \"justification\": \"because\"}]}",
                 "expires: required");
    expect_error("{\"waivers\": [{\"check\": \"a\", \"justification\": \"because\", "
                 "\"expires\": \"2026-02-30\"}]}",
                 "expires: not a date");
    expect_error("{\"waivers\": [{\"check\": \"a\", \"justification\": \"because\", "
                 "\"expires\": \"31.12.2026\"}]}",
                 "not a date");
    expect_error("{\"waivers\": [{\"check\": \"a\", \"justification\": \"because\", "
                 "\"expires\": \"never\", \"aproved_by\": \"x\"}]}",
                 "aproved_by: unknown key");
    expect_error("{\"waivers\": [{\"check\": \"a\", \"justification\": \"ok ok\", "
                 "\"expires\": \"never\"}, {\"check\": 5}]}",
                 "waivers[1]");
    expect_error("{\"waivers\": [{\"check\": \"a\", \"check\": \"b\"}]}", "duplicate");
}

static json_t *host(void)
{
    return json_pack("{s:s, s:[{s:s, s:s, s:s}, {s:s, s:s, s:s}, {s:s, s:s, s:s}], "
                     "s:[{s:s, s:s}, {s:s, s:s}]}",
                     "name", "db1", "findings", "check", "disk-space", "subject", "/backup",
                     "severity", "critical", "check", "disk-space", "subject", "/var", "severity",
                     "high", "check", "reboot-required-debian", "subject", "reboot", "severity",
                     "medium", "checks", "id", "disk-space", "result", "fail", "id",
                     "reboot-required-debian", "result", "warn");
}

static void test_apply(void)
{
    const char *file =
        "{\"waivers\": ["
        " {\"check\": \"disk-space\", \"hosts\": \"db*\", \"subject\": \"/back*\","
        "  \"justification\": \"archive volume, filled on purpose\", \"approved_by\": \"alice\","
        "  \"expires\": \"2030-01-01\"},"
        " {\"check\": \"reboot-required-debian\", \"hosts\": \"*\","
        "  \"justification\": \"reboot window next week\", \"expires\": \"2026-11-01\"},"
        " {\"check\": \"disk-space\", \"hosts\": \"web*\", \"justification\": \"not this host\","
        "  \"expires\": \"never\"}]}";
    struct nm_waivers ws;
    nm_diag d = {{0}};
    nm_waivers_init(&ws);
    CHECK_INT(nm_waivers_load_buffer(&ws, "w.json", file, strlen(file), &d), 0);
    CHECK_INT(ws.n, 3);
    json_t *h = host();
    /* 2026-11-24: the reboot waiver expired on 2026-11-01. */
    nm_waivers_apply(&ws, h, 1795478400);
    json_t *f = json_object_get(h, "findings");
    CHECK(json_is_true(json_object_get(json_array_get(f, 0), "waived")));
    CHECK_STR(json_string_value(
                  json_object_get(json_object_get(json_array_get(f, 0), "waiver"), "approved_by")),
              "alice");
    CHECK(!json_object_get(json_array_get(f, 1), "waived")); /* /var: subject does not match */
    CHECK(!json_object_get(json_array_get(f, 2), "waived"));
    CHECK(json_object_get(json_array_get(f, 2), "waiver_expired") != NULL);
    json_t *c = json_object_get(h, "checks");
    /* One of two disk findings waived: still fail.  None waived: unchanged. */
    CHECK_STR(json_string_value(json_object_get(json_array_get(c, 0), "result")), "fail");
    CHECK_STR(json_string_value(json_object_get(json_array_get(c, 1), "result")), "warn");
    json_t *rep = nm_waivers_report(&ws, 1795478400);
    CHECK_STR(json_string_value(json_object_get(json_array_get(rep, 1), "status")), "expired");
    CHECK_STR(json_string_value(json_object_get(json_array_get(rep, 2), "status")), "active");
    json_decref(rep);
    json_decref(h);

    /* All findings of a check waived: the check reads "waived". */
    h = json_pack("{s:s, s:[{s:s, s:s}], s:[{s:s, s:s}]}", "name", "db2", "findings", "check",
                  "disk-space", "subject", "/backup", "checks", "id", "disk-space", "result",
                  "fail");
    nm_waivers_apply(&ws, h, 1795478400);
    CHECK_STR(json_string_value(
                  json_object_get(json_array_get(json_object_get(h, "checks"), 0), "result")),
              "waived");
    json_decref(h);
    nm_waivers_finish(&ws);
}

int main(void)
{
    test_errors();
    test_apply();
    return test_result();
}
