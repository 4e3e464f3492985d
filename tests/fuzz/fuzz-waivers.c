/*
 * The waiver loader, then waivers applied to a small host report and listed
 * as the report lists them (expired or not against a fixed clock).
 */
#include "fuzz.h"
#include "nearmiss/waiver.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct nm_waivers ws;
    nm_diag d;
    nm_waivers_init(&ws);
    if (nm_waivers_load_buffer(&ws, "fuzz.json", (const char *)data, size, &d) == 0) {
        json_t *host = json_pack(
            "{s:s, s:[{s:s, s:s, s:s, s:s}, {s:s, s:s, s:s, s:s}], s:[{s:s, s:s}]}", "name", "web1",
            "findings", "check", "cert-expiry", "subject", "/etc/ssl/a.pem", "severity", "high",
            "fingerprint", "00aa", "check", "disk-space", "subject", "/var", "severity", "critical",
            "fingerprint", "11bb", "checks", "id", "cert-expiry", "result", "fail");
        nm_waivers_apply(&ws, host, 1796176800);
        json_decref(host);
        json_decref(nm_waivers_report(&ws, 1796176800));
    }
    nm_waivers_finish(&ws);
    return 0;
}

const struct nm_fuzz_replay nm_fuzz_replay = {"waivers", NULL};
