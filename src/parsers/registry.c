#include <string.h>

#include "nearmiss/util.h"
#include "parsers/builtin.h"

/* The registry: check files name parsers by these strings. */
static const struct nm_parser_def parsers[] = {
    {"apt_simulate", nm_parse_apt_simulate,
     "apt-get -s upgrade: one item per package to be upgraded, with origin and security flag"},
    {"dnf_updateinfo", nm_parse_dnf_updateinfo,
     "dnf/yum updateinfo list (dnf4 and dnf5): one item per advisory and package"},
    {"apk_upgradable", nm_parse_apk_upgradable,
     "apk version -l \"<\" / apk list -u: one item per upgradable package"},
    {"zypper_patches", nm_parse_zypper_patches,
     "zypper --xmlout list-patches: one item per needed patch"},
    {"reboot_debian", nm_parse_reboot_debian, "Debian/Ubuntu reboot-required flag and .pkgs"},
    {"reboot_rpm", nm_parse_reboot_rpm,
     "RPM newest installed kernel vs running kernel, needs-restarting -r"},
    {"df", nm_parse_df, "df -PTk and df -PTi: one item per filesystem with space and inode use"},
    {"mounts", nm_parse_mounts, "/proc/mounts and /etc/fstab: one item per mount with options"},
    {"kernel_errors", nm_parse_kernel_errors,
     "kernel log lines: filesystem and I/O errors counted per device"},
    {"smartctl_json", nm_parse_smartctl_json,
     "smartctl --json -x for each device: one item per device"},
    {"x509_files", nm_parse_x509_files,
     "certificate files fetched from the host: one item per certificate"},
    {"mdstat", nm_parse_mdstat, "/proc/mdstat: one item per md array"},
    {"bonding", nm_parse_bonding, "/proc/net/bonding/*: one item per bond"},
    {"resolv_conf", nm_parse_resolv_conf,
     "/etc/resolv.conf (+ resolvectl): one item for name resolution"},
    {"timesync", nm_parse_timesync, "timedatectl show / chronyc / ntpq: one item for clock sync"},
    {"ipmi_psu", nm_parse_ipmi_psu, "ipmitool sdr type Power Supply: one item per PSU"},
    {"zpool", nm_parse_zpool, "zpool status -x / kstat state: one item per pool"},
    {"regex", nm_parse_regex, "regular expression with named captures, one item per matching line"},
    {"kv", nm_parse_kv, "key=value lines into one item"},
    {"table", nm_parse_table, "whitespace/column table with header: one item per row"},
    {"lines", nm_parse_lines, "one item per non-empty line"},
    {"json", nm_parse_json, "JSON document, items selected by JSON pointer"},
};

const struct nm_parser_def *nm_parser_find(const char *name)
{
    for (size_t i = 0; i < sizeof parsers / sizeof parsers[0]; i++)
        if (strcmp(parsers[i].name, name) == 0)
            return &parsers[i];
    return NULL;
}

bool nm_parser_reads_clock(const struct nm_parser_def *p)
{
    return p && p->fn == nm_parse_x509_files;
}

size_t nm_parser_count(void)
{
    return sizeof parsers / sizeof parsers[0];
}

const struct nm_parser_def *nm_parser_at(size_t i)
{
    return i < nm_parser_count() ? &parsers[i] : NULL;
}

json_t *nm_json_string_sanitized(const char *s, size_t len, size_t max)
{
    /* Host bytes may be any binary; JSON strings must be valid UTF-8. Invalid
     * sequences and control characters become U+FFFD so nothing downstream
     * (report, HTML, tickets) ever sees raw control bytes. */
    struct nm_buf b;
    nm_buf_init(&b, max + 4);
    const unsigned char *p = (const unsigned char *)s, *end = p + len;
    while (p < end && b.len < max) {
        unsigned c = *p;
        size_t n = 0;
        unsigned cp = 0;
        if (c < 0x80) {
            if ((c < 0x20 && c != '\t' && c != '\n') || c == 0x7f)
                nm_buf_append(&b, "\xef\xbf\xbd", 3);
            else
                nm_buf_append(&b, p, 1);
            p++;
            continue;
        }
        if ((c & 0xe0) == 0xc0) {
            n = 1;
            cp = c & 0x1f;
        } else if ((c & 0xf0) == 0xe0) {
            n = 2;
            cp = c & 0x0f;
        } else if ((c & 0xf8) == 0xf0) {
            n = 3;
            cp = c & 0x07;
        }
        bool ok = n > 0 && (size_t)(end - p) > n;
        for (size_t i = 1; ok && i <= n; i++) {
            if ((p[i] & 0xc0) != 0x80)
                ok = false;
            else
                cp = (cp << 6) | (p[i] & 0x3f);
        }
        /* Reject overlong forms, surrogates and values past U+10FFFF. */
        if (ok && ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
                   (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff))
            ok = false;
        if (ok) {
            nm_buf_append(&b, p, n + 1);
            p += n + 1;
        } else {
            nm_buf_append(&b, "\xef\xbf\xbd", 3);
            p++;
        }
    }
    json_t *j = json_stringn(b.data ? b.data : "", b.len);
    nm_buf_finish(&b);
    return j;
}
