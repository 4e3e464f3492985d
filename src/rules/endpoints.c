/*
 * A host's TLS endpoints, judged: the checks whose items come from the
 * inventory's "tls" endpoints (probed from the scanner during the scan), and
 * the served-versus-on-disk comparison that no single check can make because
 * it needs both the endpoint and the cert-expiry check's records.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "nearmiss/endpoints.h"
#include "nearmiss/util.h"

/* On-disk certificates as the cert-expiry check records them (by SHA-256). */
#define CERT_DISK_CHECK   "cert-expiry"
#define CERT_SERVED_CHECK "cert-served-stale"

static bool is_ip_literal(const char *s)
{
    struct in6_addr a6;
    struct in_addr a4;
    return inet_pton(AF_INET, s, &a4) == 1 || inet_pton(AF_INET6, s, &a6) == 1;
}

static bool names_overlap(const json_t *a, const json_t *b)
{
    /* Each side: its cn and its sans; a shared DNS name is the same service. */
    const char *acn = json_string_value(json_object_get(a, "cn"));
    const char *bcn = json_string_value(json_object_get(b, "cn"));
    const json_t *as = json_object_get(a, "sans"), *bs = json_object_get(b, "sans");
    const char *an[65], *bn[65];
    size_t na = 0, nb = 0;
    if (acn)
        an[na++] = acn;
    if (bcn)
        bn[nb++] = bcn;
    /* IP SANs are skipped: every service on a host may carry the host's
     * address, so sharing one says nothing about being the same service. */
    for (size_t i = 0; i < json_array_size(as) && na < 65; i++)
        if (json_is_string(json_array_get(as, i)) &&
            !is_ip_literal(json_string_value(json_array_get(as, i))))
            an[na++] = json_string_value(json_array_get(as, i));
    for (size_t i = 0; i < json_array_size(bs) && nb < 65; i++)
        if (json_is_string(json_array_get(bs, i)) &&
            !is_ip_literal(json_string_value(json_array_get(bs, i))))
            bn[nb++] = json_string_value(json_array_get(bs, i));
    for (size_t i = 0; i < na; i++)
        for (size_t j = 0; j < nb; j++)
            if (strcasecmp(an[i], bn[j]) == 0)
                return true;
    return false;
}

/*
 * A renewed certificate that the service never reloaded: the endpoint still
 * serves the old one while a newer one for the same name sits on disk.  The
 * outage comes when the old one expires although "we renewed it".
 */
static void compare_served_with_disk(const struct nm_host *h, json_t *hj, const json_t *items)
{
    const json_t *disk = json_object_get(json_object_get(hj, "metrics"), CERT_DISK_CHECK);
    if (!disk)
        return;
    for (size_t i = 0; i < json_array_size(items); i++) {
        const json_t *ep = json_array_get(items, i);
        const json_t *leaf = json_array_get(json_object_get(ep, "chain"), 0);
        const char *served_fp = json_string_value(json_object_get(leaf, "sha256"));
        const json_t *served_na = json_object_get(leaf, "not_after_unix");
        if (!served_fp || !json_is_integer(served_na))
            continue;
        const char *sha;
        const json_t *rec;
        json_object_foreach ((json_t *)disk, sha, rec) {
            const json_t *na = json_object_get(rec, "not_after_unix");
            if (strcmp(sha, served_fp) == 0 || !json_is_integer(na) ||
                json_integer_value(na) <= json_integer_value(served_na) ||
                !names_overlap(leaf, rec))
                continue;
            const char *endpoint = json_string_value(json_object_get(ep, "subject"));
            const char *path = json_string_value(json_array_get(json_object_get(rec, "paths"), 0));
            if (!path)
                path = json_string_value(json_object_get(rec, "subject"));
            const char *served_date = json_string_value(json_object_get(leaf, "not_after"));
            const char *disk_date = json_string_value(json_object_get(rec, "not_after"));
            char *msg = nm_xasprintf("%s serves a certificate that expires %s, but a renewed one "
                                     "for the same name is on disk (%s, expires %s): the service "
                                     "was not reloaded",
                                     endpoint ? endpoint : "the endpoint",
                                     served_date ? served_date : "sooner", path ? path : "?",
                                     disk_date ? disk_date : "later");
            char fp[65];
            nm_finding_fingerprint(CERT_SERVED_CHECK, h->name, endpoint ? endpoint : "?", fp);
            json_t *f = json_pack(
                "{s:s, s:s, s:s, s:s, s:s, s:O, s:O, s:s, s:s, s:s}", "check", CERT_SERVED_CHECK,
                "category", "cert", "severity", "medium", "subject", endpoint ? endpoint : "?",
                "message", msg, "value",
                json_object_get(leaf, "days_left") ? json_object_get(leaf, "days_left")
                                                   : json_null(),
                "threshold", json_null(), "fingerprint", fp, "evidence",
                "served certificate sha256 differs from the newer on-disk one", "remediation",
                "Reload or restart the service that terminates TLS here so it "
                "picks up the renewed certificate, and add a reload hook to the "
                "renewal (e.g. certbot --deploy-hook).");
            free(msg);
            json_array_append_new(json_object_get(hj, "findings"), f);
            break;
        }
    }
}

/* Judges the host's endpoints with the checks whose items come from TLS. */
void nm_endpoints_judge(const struct nm_checkset *cs, const struct nm_host *h, json_t *hj)
{
    json_t *items = json_object_get(hj, "tls");
    items = json_is_array(items) ? json_incref(items) : json_array();
    json_t *metrics = json_object_get(hj, "metrics");
    for (size_t i = 0; i < cs->n_checks; i++) {
        const struct nm_check *c = &cs->checks[i];
        if (!c->source_tls)
            continue;
        json_t *entry;
        if (!nm_check_applies_to_host(c, h, NULL, 0))
            entry = nm_check_result_entry(c, NM_RESULT_NOTAPPLICABLE,
                                          "host roles/labels do not match the check");
        else if (json_array_size(items) == 0)
            entry = nm_check_result_entry(c, NM_RESULT_NOTAPPLICABLE,
                                          "the inventory lists no tls endpoints for this host");
        else
            entry = nm_check_judge_items(c, h, items, json_object_get(hj, "findings"), metrics);
        json_array_append_new(json_object_get(hj, "checks"), entry);
    }
    compare_served_with_disk(h, hj, items);
    json_decref(items);
}
