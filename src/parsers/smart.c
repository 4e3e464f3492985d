/*
 * smartctl_json: the output of the SMART probe (docs/parsers-disk.md):
 *
 *   smartctl --scan-open output
 *   --- smartctl /dev/sda -d sat ---
 *   {"json_format_version":[1,0],"smartctl":{...},"device":{...},...}
 *   --- smartctl /dev/nvme0 -d nvme ---
 *   {...}
 *
 * or one bare smartctl JSON document.  One item per device.
 *
 * Unlike the other parsers this one also grades what it reads: the SMART
 * rule needs a reason per attribute, and the thresholds are the product
 * contract's (CONTRACT.md "Severity defaults: SMART"), so they live here,
 * next to the fields they read, with their sources in docs/parsers-disk.md.
 *
 * The JSON is hostile like everything else: each document is parsed by
 * jansson with a size cap, every member is type-checked before use, and
 * every string that reaches an item goes through nm_json_string_sanitized.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "parsers/cursor.h"
#include "nearmiss/utf8.h"
#include "nearmiss/util.h"
#include "parsers/builtin.h"

#define SMART_JSON_MAX (8u << 20) /* smartctl -x JSON is ~100 KiB for an ATA disk */
#define MAX_NAME_BYTES 256
#define MAX_LIST       64 /* failing attributes, messages kept per device */
#define MAX_SCAN       4096

enum sev { SEV_OK, SEV_MEDIUM, SEV_CRITICAL };
static const char *const sev_names[] = {"ok", "medium", "critical"};

static json_t *jstr_or_null(const json_t *v, size_t max)
{
    if (!json_is_string(v))
        return json_null();
    return nm_json_string_sanitized(json_string_value(v), json_string_length(v), max);
}

/* An integer member; reals that hold an integral value count too (the
 * fallback parse decodes every number as a real, see parse_doc). */
static bool jint(const json_t *v, json_int_t *out)
{
    if (json_is_integer(v)) {
        *out = json_integer_value(v);
        return true;
    }
    if (json_is_real(v)) {
        double x = json_real_value(v);
        if (x >= -9.2e18 && x <= 9.2e18 && x == (double)(json_int_t)x) {
            *out = (json_int_t)x;
            return true;
        }
    }
    return false;
}

static json_t *jint_or_null(const json_t *v)
{
    json_int_t x;
    return jint(v, &x) ? json_integer(x) : json_null();
}

static const json_t *jget2(const json_t *o, const char *a, const char *b)
{
    return json_object_get(json_object_get(o, a), b);
}

/* ------------------------------------------------------------------ */
/* Reasons and evidence                                                */

struct verdict {
    json_t *reasons;
    enum sev sev;
    struct nm_buf ev; /* raw JSON fragments the verdict rests on */
};

static void verdict_init(struct verdict *v, struct nm_span sep_line)
{
    v->reasons = json_array();
    v->sev = SEV_OK;
    nm_buf_init(&v->ev, NM_PARSER_MAX_EVIDENCE * 4);
    nm_evidence_add(&v->ev, sep_line);
}

/* Appends "label: <compact JSON of node>" as one evidence line. */
static void evidence_json(struct verdict *v, const char *label, const json_t *node)
{
    if (!node)
        return;
    char *dump = json_dumps(node, JSON_COMPACT | JSON_ENCODE_ANY);
    if (!dump)
        return;
    if (v->ev.len > 0)
        nm_buf_append(&v->ev, "\n", 1);
    nm_buf_appends(&v->ev, label);
    nm_buf_append(&v->ev, ": ", 2);
    nm_buf_appends(&v->ev, dump);
    free(dump);
}

static void add_reason(struct verdict *v, const char *attribute, json_t *value, enum sev sev,
                       const char *why)
{
    json_t *r = json_object();
    json_object_set_new(r, "attribute", json_string(attribute));
    json_object_set_new(r, "value", value);
    json_object_set_new(r, "severity", json_string(sev_names[sev]));
    json_object_set_new(r, "why", json_string(why));
    json_array_append_new(v->reasons, r);
    if (sev > v->sev)
        v->sev = sev;
}

static void verdict_finish(struct verdict *v, json_t *item, bool graded)
{
    json_object_set_new(item, "reasons", v->reasons);
    json_object_set_new(item, "severity", graded ? json_string(sev_names[v->sev]) : json_null());
    json_object_set_new(item, "evidence", nm_evidence_json(&v->ev));
    nm_buf_finish(&v->ev);
}

/* ------------------------------------------------------------------ */
/* Per-protocol fields                                                 */

static const char *const exit_bit_names[8] = {
    "cmdline",
    "open_failed",
    "command_failed",
    "disk_failing",
    "prefail_below_threshold",
    "attr_below_threshold_past",
    "error_log",
    "selftest_errors",
};

static json_t *exit_bits(json_int_t status)
{
    if (status < 0)
        return json_null();
    json_t *a = json_array();
    for (int i = 0; i < 8; i++)
        if (status >= 0 && (status & (1 << i)))
            json_array_append_new(a, json_string(exit_bit_names[i]));
    return a;
}

/* The ATA attributes the contract grades, plus 10 (spin retries), 184
 * (end-to-end errors) and 196 (reallocation events) for the report. */
static const struct {
    int id;
    const char *key;
    /* A raw value above 0 is a reason of this severity, told as "N " and
     * what (ATA 5, graded by its value, is told in ata_fields). */
    enum sev sev;
    const char *what;
} ata_ids[] = {
    {5, "ata_5_raw", SEV_OK, NULL},
    {10, "ata_10_raw", SEV_OK, NULL},
    {184, "ata_184_raw", SEV_OK, NULL},
    {187, "ata_187_raw", SEV_CRITICAL,
     "reads the drive could not correct by ECC (ATA 187 Reported_Uncorrect)"},
    {188, "ata_188_raw", SEV_CRITICAL,
     "commands timed out inside the drive (ATA 188 Command_Timeout)"},
    {196, "ata_196_raw", SEV_OK, NULL},
    {197, "ata_197_raw", SEV_CRITICAL,
     "sectors unreadable and waiting to be remapped (ATA 197 Current_Pending_Sector)"},
    {198, "ata_198_raw", SEV_CRITICAL,
     "sectors found uncorrectable by the offline scan (ATA 198 Offline_Uncorrectable)"},
    {199, "ata_199_raw", SEV_MEDIUM,
     "CRC errors on the SATA link (ATA 199 UDMA_CRC_Error_Count): usually the cable or "
     "backplane, not the media"},
};
#define N_ATA_IDS (sizeof ata_ids / sizeof ata_ids[0])

static void ata_fields(const json_t *doc, json_t *item, struct verdict *v)
{
    const json_t *table = jget2(doc, "ata_smart_attributes", "table");
    const json_t *rows[N_ATA_IDS] = {0};
    json_int_t raw[N_ATA_IDS] = {0};
    bool have[N_ATA_IDS] = {0};
    json_t *now = json_array(), *past = json_array();
    size_t i;
    const json_t *row;

    json_array_foreach (table, i, row) {
        json_int_t id;
        if (i >= 256)
            break; /* attribute ids are one byte */
        if (!json_is_object(row) || !jint(json_object_get(row, "id"), &id))
            continue;
        const json_t *wf = json_object_get(row, "when_failed");
        const char *w = json_is_string(wf) ? json_string_value(wf) : "";
        json_t *list = strcmp(w, "now") == 0 ? now : strcmp(w, "past") == 0 ? past : NULL;
        if (list && json_array_size(list) < MAX_LIST) {
            const json_t *name = json_object_get(row, "name");
            json_array_append_new(list, json_is_string(name) ? jstr_or_null(name, MAX_NAME_BYTES)
                                                             : json_integer(id));
        }
        for (size_t k = 0; k < N_ATA_IDS; k++) {
            if (ata_ids[k].id == id && !rows[k]) {
                rows[k] = row;
                have[k] = jint(jget2(row, "raw", "value"), &raw[k]);
            }
        }
    }
    for (size_t k = 0; k < N_ATA_IDS; k++)
        json_object_set_new(item, ata_ids[k].key, have[k] ? json_integer(raw[k]) : json_null());
    json_object_set_new(item, "failing_now", now);
    json_object_set_new(item, "failing_past", past);

    /* Contract: ATA 5 > 16 or 187/188/197/198 raw > 0 critical; ATA 5 in
     * 1..16 and 199 > 0 medium.  Sources in docs/parsers-disk.md. */
    for (size_t k = 0; k < N_ATA_IDS; k++) {
        if (!have[k] || raw[k] <= 0)
            continue;
        struct nm_buf why;
        nm_buf_init(&why, 512);
        enum sev sev = SEV_OK;
        long long r = (long long)raw[k];
        if (ata_ids[k].id == 5) {
            sev = r > 16 ? SEV_CRITICAL : SEV_MEDIUM;
            nm_buf_appendf(&why,
                           "%lld sectors reallocated (ATA 5 Reallocated_Sector_Ct); %s: the disk "
                           "is replacing failed sectors with spares",
                           r, r > 16 ? "more than 16" : "a few (1..16)");
        } else if (ata_ids[k].what) {
            sev = ata_ids[k].sev;
            nm_buf_appendf(&why, "%lld %s", r, ata_ids[k].what);
        }
        if (sev != SEV_OK) {
            add_reason(v, ata_ids[k].key, json_integer(raw[k]), sev, why.data);
            /* the attribute row, without its bulky flags object */
            json_t *c = json_copy((json_t *)rows[k]);
            json_object_del(c, "flags");
            evidence_json(v, "ata_smart_attributes", c);
            json_decref(c);
        }
        nm_buf_finish(&why);
    }
}

/* NVMe Base Specification, SMART / Health Information log page (02h),
 * byte 0 "Critical Warning". */
static const char *const cw_bit_names[8] = {
    "spare_below",   "temperature",   "reliability_degraded", "read_only", "volatile_backup_failed",
    "pmr_read_only", "reserved_bit6", "reserved_bit7",
};

static void nvme_fields(const json_t *doc, json_t *item, struct verdict *v)
{
    const json_t *log = json_object_get(doc, "nvme_smart_health_information_log");
    static const char *const keys[] = {
        "critical_warning", "media_errors",     "available_spare",    "available_spare_threshold",
        "percentage_used",  "unsafe_shutdowns", "num_err_log_entries"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        json_object_set_new(item, keys[i], jint_or_null(json_object_get(log, keys[i])));

    json_int_t cw = 0, media = 0, spare = 0, thresh = 0, used = 0;
    bool has_cw = jint(json_object_get(log, "critical_warning"), &cw);
    json_t *bits = json_array();
    struct nm_buf names;
    nm_buf_init(&names, 256);
    for (int i = 0; has_cw && i < 8; i++) {
        if (cw & (1 << i)) {
            json_array_append_new(bits, json_string(cw_bit_names[i]));
            if (names.len)
                nm_buf_appends(&names, ", ");
            nm_buf_appends(&names, cw_bit_names[i]);
        }
    }
    json_object_set_new(item, "critical_warning_bits", bits);

    struct nm_buf why;
    nm_buf_init(&why, 512);
    if (has_cw && cw != 0) {
        nm_buf_appendf(&why, "NVMe critical warning 0x%02llx set by the controller (%s)",
                       (unsigned long long)cw & 0xffffffffu,
                       names.len ? names.data : "unknown bits");
        add_reason(v, "critical_warning", json_integer(cw), SEV_CRITICAL, why.data);
        evidence_json(v, "nvme_smart_health_information_log.critical_warning",
                      json_object_get(log, "critical_warning"));
    }
    if (jint(json_object_get(log, "media_errors"), &media) && media > 0) {
        nm_buf_reset(&why);
        nm_buf_appendf(&why,
                       "%lld unrecovered data integrity errors on the media (NVMe Media "
                       "and Data Integrity Errors)",
                       (long long)media);
        add_reason(v, "media_errors", json_integer(media), SEV_CRITICAL, why.data);
        evidence_json(v, "nvme_smart_health_information_log.media_errors",
                      json_object_get(log, "media_errors"));
    }
    if (jint(json_object_get(log, "available_spare"), &spare) &&
        jint(json_object_get(log, "available_spare_threshold"), &thresh) && spare < thresh) {
        nm_buf_reset(&why);
        nm_buf_appendf(&why, "available spare %lld%% is below the drive's threshold %lld%%",
                       (long long)spare, (long long)thresh);
        add_reason(v, "available_spare", json_integer(spare), SEV_CRITICAL, why.data);
        evidence_json(v, "nvme_smart_health_information_log.available_spare",
                      json_object_get(log, "available_spare"));
        evidence_json(v, "nvme_smart_health_information_log.available_spare_threshold",
                      json_object_get(log, "available_spare_threshold"));
    }
    if (jint(json_object_get(log, "percentage_used"), &used) && used >= 80) {
        nm_buf_reset(&why);
        nm_buf_appendf(&why, "%lld%% of the rated endurance used (NVMe Percentage Used)%s",
                       (long long)used, used >= 100 ? ": past the rated life" : "");
        add_reason(v, "percentage_used", json_integer(used),
                   used >= 100 ? SEV_CRITICAL : SEV_MEDIUM, why.data);
        evidence_json(v, "nvme_smart_health_information_log.percentage_used",
                      json_object_get(log, "percentage_used"));
    }
    /* num_err_log_entries is deliberately never a reason: the controller
     * logs benign events there (e.g. unsupported admin commands). */
    nm_buf_finish(&why);
    nm_buf_finish(&names);
}

static void scsi_fields(const json_t *doc, json_t *item, struct verdict *v)
{
    const json_t *gd = json_object_get(doc, "scsi_grown_defect_list");
    json_object_set_new(item, "grown_defects", jint_or_null(gd));
    static const char *const dirs[] = {"read", "write", "verify"};
    static const char *const keys[] = {"scsi_uncorrected_read", "scsi_uncorrected_write",
                                       "scsi_uncorrected_verify"};
    static const char *const labels[] = {
        "scsi_error_counter_log.read.total_uncorrected_errors",
        "scsi_error_counter_log.write.total_uncorrected_errors",
        "scsi_error_counter_log.verify.total_uncorrected_errors",
    };
    const json_t *ecl = json_object_get(doc, "scsi_error_counter_log");
    struct nm_buf why;
    nm_buf_init(&why, 512);
    json_int_t n;
    if (jint(gd, &n) && n > 0) {
        /* The contract is silent on SCSI; a growing defect list is the SAS
         * counterpart of ATA 5 (see docs/parsers-disk.md). */
        nm_buf_appendf(&why, "%lld sectors in the grown defect list (remapped since manufacture)",
                       (long long)n);
        add_reason(v, "grown_defects", json_integer(n), SEV_MEDIUM, why.data);
        evidence_json(v, "scsi_grown_defect_list", gd);
    }
    for (size_t i = 0; i < 3; i++) {
        const json_t *u = jget2(ecl, dirs[i], "total_uncorrected_errors");
        json_object_set_new(item, keys[i], jint_or_null(u));
        if (jint(u, &n) && n > 0) {
            nm_buf_reset(&why);
            nm_buf_appendf(&why, "%lld uncorrected %s errors in the SCSI error counter log",
                           (long long)n, dirs[i]);
            add_reason(v, keys[i], json_integer(n), SEV_MEDIUM, why.data);
            evidence_json(v, labels[i], u);
        }
    }
    nm_buf_finish(&why);
}

/* ------------------------------------------------------------------ */
/* One device                                                          */

struct devref {
    struct nm_span sep_line; /* "--- smartctl DEV -d TYPE ---", or empty */
    struct nm_span dev, type;
};

static const char *protocol_of(const json_t *doc)
{
    const json_t *p = jget2(doc, "device", "protocol");
    const char *s = json_is_string(p) ? json_string_value(p) : "";
    if (strcmp(s, "ATA") == 0 || strcmp(s, "NVMe") == 0 || strcmp(s, "SCSI") == 0)
        return s;
    if (json_object_get(doc, "ata_smart_attributes"))
        return "ATA";
    if (json_object_get(doc, "nvme_smart_health_information_log"))
        return "NVMe";
    if (json_object_get(doc, "scsi_grown_defect_list") ||
        json_object_get(doc, "scsi_error_counter_log"))
        return "SCSI";
    return NULL;
}

static bool has_device_data(const json_t *doc)
{
    static const char *const keys[] = {"model_name",
                                       "serial_number",
                                       "smart_status",
                                       "product",
                                       "ata_smart_attributes",
                                       "nvme_smart_health_information_log",
                                       "scsi_grown_defect_list",
                                       "scsi_error_counter_log"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (json_object_get(doc, keys[i]))
            return true;
    return false;
}

static json_t *device_name(const struct devref *ref, const json_t *doc)
{
    if (ref->dev.n > 0)
        return nm_span_json(ref->dev, MAX_NAME_BYTES);
    return jstr_or_null(jget2(doc, "device", "name"), MAX_NAME_BYTES);
}

static json_t *device_type(const struct devref *ref, const json_t *doc)
{
    if (ref->type.n > 0)
        return nm_span_json(ref->type, MAX_NAME_BYTES);
    return jstr_or_null(jget2(doc, "device", "type"), MAX_NAME_BYTES);
}

/* Subject of an item that has no model/serial: the device, and the -d type
 * when it names a port behind a controller (megaraid,0 and megaraid,1 share
 * /dev/bus/0). */
static json_t *error_subject(const json_t *dev, const json_t *type)
{
    const char *d = json_is_string(dev) ? json_string_value(dev) : "smartctl";
    const char *t = json_is_string(type) ? json_string_value(type) : NULL;
    if (t && strchr(t, ','))
        return json_pack("s++", d, " -d ", t);
    return json_string(d);
}

static json_t *error_item(json_t *dev, json_t *type, json_t *protocol, const char *msg,
                          struct nm_span sep_line, const char *evidence_extra)
{
    json_t *it = json_object();
    json_object_set_new(it, "subject", error_subject(dev, type));
    json_object_set_new(it, "device", dev);
    json_object_set_new(it, "device_type", type);
    json_object_set_new(it, "protocol", protocol ? protocol : json_null());
    json_object_set_new(it, "model", json_null());
    json_object_set_new(it, "serial", json_null());
    json_object_set_new(it, "exit_status", json_null());
    json_object_set_new(it, "exit_status_bits", json_null());
    json_object_set_new(it, "messages", json_array());
    json_object_set_new(it, "error",
                        nm_json_string_sanitized(msg, strlen(msg), NM_PARSER_MAX_EVIDENCE));
    struct verdict v;
    verdict_init(&v, sep_line);
    if (evidence_extra)
        nm_evidence_add(&v.ev, (struct nm_span){evidence_extra, strlen(evidence_extra)});
    verdict_finish(&v, it, false);
    return it;
}

static json_t *device_item(const json_t *doc, const struct devref *ref)
{
    json_t *dev = device_name(ref, doc);
    json_t *type = device_type(ref, doc);
    const char *proto = protocol_of(doc);
    const json_t *sc = json_object_get(doc, "smartctl");
    json_int_t status = -1;
    bool has_status = jint(json_object_get(sc, "exit_status"), &status);

    /* smartctl's own messages: the first error-severity one explains a
     * device smartctl could not read. */
    json_t *messages = json_array();
    const char *first_error = NULL, *first_any = NULL;
    const json_t *m;
    size_t i;
    json_array_foreach (json_object_get(sc, "messages"), i, m) {
        const json_t *s = json_object_get(m, "string");
        const json_t *sv = json_object_get(m, "severity");
        if (!json_is_string(s))
            continue;
        if (!first_any)
            first_any = json_string_value(s);
        if (!first_error && json_is_string(sv) && strcmp(json_string_value(sv), "error") == 0)
            first_error = json_string_value(s);
        if (json_array_size(messages) < MAX_LIST)
            json_array_append_new(messages, jstr_or_null(s, NM_PARSER_MAX_EVIDENCE));
    }

    /* Exit bits 0 (command line) and 1 (open/identify failed) mean there is
     * no device data to grade. */
    if ((has_status && status >= 0 && (status & 3)) || !has_device_data(doc)) {
        const char *msg = first_error  ? first_error
                          : first_any  ? first_any
                          : has_status ? "smartctl failed without a message"
                                       : "smartctl printed no device data";
        char *dump = json_dumps(json_object_get(sc, "messages"), JSON_COMPACT);
        char *extra = dump ? nm_xasprintf("smartctl.messages: %s", dump) : NULL;
        json_t *it =
            error_item(dev, type, proto ? json_string(proto) : NULL, msg, ref->sep_line, extra);
        json_object_set_new(it, "exit_status", has_status ? json_integer(status) : json_null());
        json_object_set_new(it, "exit_status_bits", exit_bits(has_status ? status : -1));
        json_object_set_new(it, "messages", messages);
        free(extra);
        free(dump);
        return it;
    }

    json_t *it = json_object();
    const json_t *model = json_object_get(doc, "model_name");
    json_t *jmodel;
    if (json_is_string(model)) {
        jmodel = jstr_or_null(model, MAX_NAME_BYTES);
    } else if (json_is_string(json_object_get(doc, "vendor")) &&
               json_is_string(json_object_get(doc, "product"))) {
        /* older smartctl SCSI output has no model_name */
        char *vp = nm_xasprintf("%s %s", json_string_value(json_object_get(doc, "vendor")),
                                json_string_value(json_object_get(doc, "product")));
        jmodel = nm_json_string_sanitized(vp, strlen(vp), MAX_NAME_BYTES);
        free(vp);
    } else {
        jmodel = json_null();
    }
    json_t *jserial = jstr_or_null(json_object_get(doc, "serial_number"), MAX_NAME_BYTES);
    const json_t *fw = json_object_get(doc, "firmware_version");
    if (!fw)
        fw = json_object_get(doc, "revision"); /* SCSI */

    struct nm_buf subj;
    nm_buf_init(&subj, MAX_NAME_BYTES * 4);
    nm_buf_appends(&subj, json_is_string(dev) ? json_string_value(dev) : "smartctl");
    if (json_is_string(jmodel)) {
        nm_buf_append(&subj, " ", 1);
        nm_buf_appends(&subj, json_string_value(jmodel));
    }
    if (json_is_string(jserial)) {
        nm_buf_append(&subj, " ", 1);
        nm_buf_appends(&subj, json_string_value(jserial));
    }
    json_object_set_new(it, "subject", json_stringn(subj.data ? subj.data : "", subj.len));
    nm_buf_finish(&subj);
    json_object_set_new(it, "device", dev);
    json_object_set_new(it, "device_type", type);
    json_object_set_new(it, "protocol", proto ? json_string(proto) : json_null());
    json_object_set_new(it, "model", jmodel);
    json_object_set_new(it, "serial", jserial);
    json_object_set_new(it, "firmware", jstr_or_null(fw, MAX_NAME_BYTES));

    const json_t *passed = jget2(doc, "smart_status", "passed");
    json_object_set_new(it, "passed",
                        json_is_boolean(passed) ? json_boolean(json_is_true(passed)) : json_null());
    json_object_set_new(it, "exit_status", has_status ? json_integer(status) : json_null());
    json_object_set_new(it, "exit_status_bits", exit_bits(has_status ? status : -1));

    const json_t *poh = jget2(doc, "power_on_time", "hours");
    if (!poh)
        poh = jget2(doc, "nvme_smart_health_information_log", "power_on_hours");
    json_object_set_new(it, "power_on_hours", jint_or_null(poh));
    const json_t *temp = jget2(doc, "temperature", "current");
    if (!temp)
        temp = jget2(doc, "nvme_smart_health_information_log", "temperature");
    json_object_set_new(it, "temperature_c", jint_or_null(temp));
    json_object_set_new(it, "messages", messages);
    json_object_set_new(it, "error", json_null());

    struct verdict v;
    verdict_init(&v, ref->sep_line);
    evidence_json(&v, "smart_status", json_object_get(doc, "smart_status"));
    if (has_status)
        evidence_json(&v, "smartctl.exit_status", json_object_get(sc, "exit_status"));
    /* The drive's own verdict: smart_status.passed false, or (when the
     * document lacks smart_status) smartctl's exit bit 3 DISK FAILING. */
    if (json_is_false(passed))
        add_reason(&v, "smart_status.passed", json_false(), SEV_CRITICAL,
                   "the drive's own SMART overall-health self-assessment is FAILED");
    else if (!passed && has_status && status >= 0 && (status & 8))
        add_reason(&v, "exit_status", json_integer(status), SEV_CRITICAL,
                   "smartctl reports the drive's SMART status as DISK FAILING (exit status bit 3)");

    if (proto && strcmp(proto, "ATA") == 0)
        ata_fields(doc, it, &v);
    else if (proto && strcmp(proto, "NVMe") == 0)
        nvme_fields(doc, it, &v);
    else if (proto && strcmp(proto, "SCSI") == 0)
        scsi_fields(doc, it, &v);
    verdict_finish(&v, it, true);
    return it;
}

/* Parses one smartctl document.  Returns the root object or NULL with a
 * message in err. */
static json_t *parse_doc(const char *s, size_t n, json_error_t *err)
{
    /* Duplicate keys are accepted (the last wins), trailing bytes after the
     * document are ignored. */
    json_t *doc = json_loadb(s, n, JSON_DISABLE_EOF_CHECK, err);
    if (!doc && json_error_code(err) == json_error_numeric_overflow)
        /* A counter beyond int64 (buggy firmware, 128-bit NVMe counters):
         * read every number as a real rather than lose the device. */
        doc = json_loadb(s, n, JSON_DISABLE_EOF_CHECK | JSON_DECODE_INT_AS_REAL, err);
    if (doc && !json_is_object(doc)) {
        json_decref(doc);
        static const char msg[] = "not a JSON object";
        memcpy(err->text, msg, sizeof msg);
        err->line = 1;
        return NULL;
    }
    return doc;
}

/* ------------------------------------------------------------------ */
/* --scan-open lines and separators                                    */

struct scan_ent {
    struct nm_span line, dev, type, proto, open_error;
    bool open_failed, used;
};

/* "/dev/sda -d sat # /dev/sda [SAT], ATA device"
 * "# /dev/sdb -d scsi # /dev/sdb, SCSI device open failed: Permission denied"
 * (smartctl.cpp scan_devices) */
static bool parse_scan_line(struct nm_span line, struct scan_ent *out)
{
    const char *p = line.p, *e = nm_span_end(line);
    memset(out, 0, sizeof *out);
    out->line = line;
    if (e - p >= 2 && p[0] == '#' && p[1] == ' ') {
        out->open_failed = true;
        p += 2;
    }
    const char *s = p;
    while (p < e && !nm_is_blank(*p))
        p++;
    if (p == s || *s == '#')
        return false;
    out->dev = nm_span_range(s, p);
    if (e - p < 4 || memcmp(p, " -d ", 4) != 0)
        return false;
    p += 4;
    s = p;
    while (p < e && !nm_is_blank(*p))
        p++;
    if (p == s)
        return false;
    out->type = nm_span_range(s, p);
    struct nm_span rest = nm_span_range(p, e);
    static const char *const protos[] = {", ATA device", ", SCSI device", ", NVMe device"};
    static const char *const names[] = {"ATA", "SCSI", "NVMe"};
    for (int i = 0; i < 3; i++) {
        if (nm_span_find(rest, protos[i])) {
            out->proto = (struct nm_span){names[i], strlen(names[i])};
        }
    }
    const char *of = nm_span_find(rest, " open failed: ");
    if (of) {
        out->open_failed = true;
        out->open_error = nm_span_trim_crlf(nm_span_range(of + 14, e));
    }
    return true;
}

/* "--- smartctl /dev/sda -d sat ---" */
static bool parse_separator(struct nm_span line, struct devref *ref)
{
    static const char head[] = "--- smartctl ", tail[] = " ---";
    size_t hl = sizeof head - 1, tl = sizeof tail - 1;
    struct nm_span t = nm_span_trim_crlf(line);
    if (t.n < hl + tl || !nm_span_has_prefix(t, head) || !nm_span_has_suffix(t, tail))
        return false;
    struct nm_span in = nm_span_trim_crlf((struct nm_span){t.p + hl, t.n - hl - tl});
    memset(ref, 0, sizeof *ref);
    ref->sep_line = line;
    const char *d = nm_span_find(in, " -d ");
    if (d) {
        ref->dev = nm_span_trim_crlf(nm_span_range(in.p, d));
        ref->type = nm_span_trim_crlf(nm_span_range(d + 4, nm_span_end(in)));
    } else {
        ref->dev = in;
    }
    return true;
}

static void scan_key(struct nm_buf *b, struct nm_span dev, struct nm_span type)
{
    nm_buf_reset(b);
    json_t *d = nm_span_json(dev, MAX_NAME_BYTES), *t = nm_span_json(type, MAX_NAME_BYTES);
    nm_buf_appends(b, json_string_value(d));
    nm_buf_appends(b, " -d ");
    nm_buf_appends(b, json_string_value(t));
    json_decref(d);
    json_decref(t);
}

/* One "--- smartctl ... ---" section: its JSON, or what went wrong. */
static json_t *section_item(const struct devref *ref, struct nm_span body, json_t *scan_proto)
{
    json_t *dev = nm_span_json(ref->dev, MAX_NAME_BYTES);
    json_t *type = ref->type.n > 0 ? nm_span_json(ref->type, MAX_NAME_BYTES) : json_null();
    const char *brace = body.n > 0 ? memchr(body.p, '{', body.n) : NULL;
    if (!brace) {
        struct nm_span first = {NULL, 0}, l;
        for (const char *q = body.p; nm_span_next_line(&q, nm_span_end(body), &l);) {
            if (nm_span_trim_crlf(l).n > 0) {
                first = nm_span_trim_crlf(l);
                break;
            }
        }
        char *msg = first.p ? nm_xasprintf("no JSON from smartctl: %.*s",
                                           (int)(first.n > 512 ? 512 : first.n), first.p)
                            : nm_xstrdup("no output from smartctl");
        json_t *it = error_item(dev, type, json_incref(scan_proto), msg, ref->sep_line, NULL);
        free(msg);
        return it;
    }
    size_t n = (size_t)(nm_span_end(body) - brace);
    if (n > SMART_JSON_MAX) {
        return error_item(dev, type, json_incref(scan_proto),
                          "smartctl JSON larger than 8 MiB, not read", ref->sep_line, NULL);
    }
    json_error_t err;
    json_t *doc = parse_doc(brace, n, &err);
    if (!doc) {
        char *msg = nm_xasprintf("malformed smartctl JSON: %s (line %d, column %d)", err.text,
                                 err.line, err.column);
        json_t *it = error_item(dev, type, json_incref(scan_proto), msg, ref->sep_line, NULL);
        free(msg);
        return it;
    }
    json_decref(dev);
    json_decref(type);
    json_t *it = device_item(doc, ref);
    if (json_is_null(json_object_get(it, "protocol")) && scan_proto)
        json_object_set(it, "protocol", scan_proto);
    json_decref(doc);
    return it;
}

int nm_parse_smartctl_json(const char *data, size_t len, const json_t *options, json_t **ret_items,
                           nm_diag *d)
{
    const char *p = data ? data : "", *end = p + (data ? len : 0);
    const char *q = p;
    while (q < end && (nm_is_blank(*q) || *q == '\n' || *q == '\r'))
        q++;

    /* A bare document (the shared samples, or smartctl run by hand). */
    if (q < end && *q == '{') {
        if ((size_t)(end - q) > SMART_JSON_MAX)
            return nm_diag_set(d, NM_ERR_TOOBIG, "smartctl_json: document larger than 8 MiB");
        json_error_t err;
        json_t *doc = parse_doc(q, (size_t)(end - q), &err);
        if (!doc)
            return nm_diag_set(d, NM_ERR_PARSE,
                               "smartctl_json: malformed JSON: %s (line %d, column %d)", err.text,
                               err.line, err.column);
        struct devref ref;
        memset(&ref, 0, sizeof ref);
        json_t *items = json_array();
        json_array_append_new(items, device_item(doc, &ref));
        json_decref(doc);
        *ret_items = items;
        return 0;
    }

    json_t *items = json_array();
    struct scan_ent *scan = NULL;
    size_t nscan = 0, alloc = 0;
    json_t *scan_index = json_object(); /* "dev -d type" -> index into scan */
    struct nm_buf key;
    nm_buf_init(&key, 1024);
    struct devref cur;
    memset(&cur, 0, sizeof cur);
    bool in_section = false;
    const char *body_start = NULL;
    struct nm_span line;

    for (;;) {
        const char *line_start = p;
        bool more = nm_span_next_line(&p, end, &line);
        struct devref next;
        bool is_sep = more && parse_separator(line, &next);
        if (in_section && (is_sep || !more)) {
            struct nm_span body = nm_span_range(body_start, more ? line_start : end);
            json_t *proto = NULL;
            if (cur.type.p) {
                scan_key(&key, cur.dev, cur.type);
                json_t *idx = json_object_get(scan_index, key.data);
                if (idx) {
                    struct scan_ent *se = &scan[json_integer_value(idx)];
                    se->used = true;
                    if (se->proto.p)
                        proto = nm_span_json(se->proto, 16);
                }
            }
            if (json_array_size(items) < NM_PARSER_MAX_ITEMS)
                json_array_append_new(items, section_item(&cur, body, proto));
            json_decref(proto);
            in_section = false;
        }
        if (!more)
            break;
        if (is_sep) {
            cur = next;
            in_section = true;
            body_start = p;
            continue;
        }
        if (in_section)
            continue;
        struct nm_span tl = nm_span_trim_crlf(line);
        if (nm_span_has_prefix(tl, "# scan_smart_devices: ")) {
            /* the scan itself failed */
            struct nm_span msg = nm_span_after(tl, 22);
            char *m = nm_xasprintf("smartctl --scan-open failed: %.*s",
                                   (int)(msg.n > 512 ? 512 : msg.n), msg.p);
            struct nm_span none = {NULL, 0};
            json_t *it = error_item(json_null(), json_null(), NULL, m, none, NULL);
            json_object_set_new(it, "subject", json_string("smartctl --scan-open"));
            json_object_set_new(it, "evidence", nm_span_evidence(tl));
            json_array_append_new(items, it);
            free(m);
            continue;
        }
        struct scan_ent se;
        if (nscan < MAX_SCAN && parse_scan_line(tl, &se)) {
            if (nscan == alloc) {
                alloc = alloc ? alloc * 2 : 16;
                scan = nm_xreallocarray(scan, alloc, sizeof *scan);
            }
            scan[nscan] = se;
            scan_key(&key, se.dev, se.type);
            if (!json_object_get(scan_index, key.data))
                json_object_set_new(scan_index, key.data, json_integer((json_int_t)nscan));
            nscan++;
        }
    }

    /* Devices the scan listed but that have no section: smartctl could not
     * open them, or the probe output ends early. */
    for (size_t i = 0; i < nscan && json_array_size(items) < NM_PARSER_MAX_ITEMS; i++) {
        struct scan_ent *se = &scan[i];
        if (se->used)
            continue;
        char *msg;
        size_t elen = se->open_error.n > 512 ? 512 : se->open_error.n;
        if (se->open_failed)
            msg = nm_xasprintf("open failed: %.*s", (int)elen,
                               se->open_error.p ? se->open_error.p : "");
        else
            msg = nm_xstrdup("no smartctl output for this device (probe output cut short?)");
        struct devref ref;
        memset(&ref, 0, sizeof ref);
        json_t *it = error_item(
            nm_span_json(se->dev, MAX_NAME_BYTES), nm_span_json(se->type, MAX_NAME_BYTES),
            se->proto.p ? nm_span_json(se->proto, 16) : NULL, msg, ref.sep_line, NULL);
        json_object_set_new(it, "evidence", nm_span_evidence(se->line));
        json_array_append_new(items, it);
        free(msg);
    }

    free(scan);
    json_decref(scan_index);
    nm_buf_finish(&key);
    *ret_items = items;
    return 0;
}
