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
    {"os_lifecycle", nm_parse_os_lifecycle,
     "os-release lines and extended-support markers: one item for the host's release"},
    {"listeners", nm_parse_listeners,
     "ss -ltnpH, or /proc/net/tcp and tcp6: one item per listening TCP socket"},
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

bool nm_parser_reads_bytes(const struct nm_parser_def *p)
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
