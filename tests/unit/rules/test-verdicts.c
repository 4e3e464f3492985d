/*
 * Verdicts of the shipped checks (the files in checks/) on captured probe output:
 * the parser cases of tests/data/parsers/ judged by the real rules, so a
 * change of a rule's severity shows here and not only in the sshd suite.
 * Run from tests/ (as meson does).
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "nearmiss/check.h"
#include "nearmiss/util.h"
#include "test.h"

static struct nm_checkset cs;

static struct nm_section section(int rc, const char *out, size_t out_len, const char *err)
{
    struct nm_section sec;
    memset(&sec, 0, sizeof sec);
    snprintf(sec.id, sizeof sec.id, "p");
    sec.state = NM_SECTION_DONE;
    sec.exit_code = rc;
    nm_buf_init(&sec.out, 1 << 24);
    nm_buf_init(&sec.err, 1 << 20);
    nm_buf_append(&sec.out, out, out_len);
    nm_buf_appends(&sec.err, err);
    return sec;
}

/* Judges a probe output with check `id`; returns the check entry, findings
 * in *ret_findings (both new references). */
static json_t *judge(const char *id, int rc, const char *out, size_t out_len, const char *err,
                     json_t **ret_findings)
{
    const struct nm_check *c = nm_checkset_find(&cs, id);
    CHECK(c != NULL);
    char name[] = "host1";
    struct nm_host h = {.name = name};
    json_t *findings = json_array();
    struct nm_section sec = section(rc, out, out_len, err);
    json_t *e = c ? nm_check_evaluate(c, &h, &sec, 0, findings, NULL) : json_object();
    nm_buf_finish(&sec.out);
    nm_buf_finish(&sec.err);
    *ret_findings = findings;
    return e;
}

static json_t *judge_file(const char *id, const char *path, int rc, const char *err,
                          json_t **ret_findings)
{
    char *data = NULL;
    size_t len = 0;
    CHECK(nm_read_file(path, 1 << 24, &data, &len, NULL) == 0);
    json_t *e = judge(id, rc, data ? data : "", len, err, ret_findings);
    free(data);
    return e;
}

static const json_t *finding(const json_t *findings, const char *subject)
{
    size_t i;
    const json_t *f;
    json_array_foreach (findings, i, f)
        if (strcmp(json_string_value(json_object_get(f, "subject")), subject) == 0)
            return f;
    return NULL;
}

static void expect(const json_t *findings, const char *subject, const char *severity,
                   const char *in_message)
{
    const json_t *f = finding(findings, subject);
    if (!severity) {
        CHECK(f == NULL);
        if (f)
            fprintf(stderr, "  %s: unexpected finding %s\n", subject,
                    json_string_value(json_object_get(f, "message")));
        return;
    }
    CHECK(f != NULL);
    if (!f) {
        fprintf(stderr, "  %s: no finding, expected %s\n", subject, severity);
        return;
    }
    const char *msg = json_string_value(json_object_get(f, "message"));
    CHECK_STR(json_string_value(json_object_get(f, "severity")), severity);
    CHECK(msg && strstr(msg, in_message) != NULL);
    if (!msg || !strstr(msg, in_message))
        fprintf(stderr, "  %s: message \"%s\" lacks \"%s\"\n", subject, msg ? msg : "", in_message);
}

static const char *result(const json_t *e)
{
    return json_string_value(json_object_get(e, "result"));
}

static void test_raid_resync(void)
{
    json_t *fs;
    /* After an unclean shutdown: mirrors with every member active are low
     * and say why; parity levels stay medium and say so per level. */
    json_t *e =
        judge_file("raid-md", "data/parsers/mdstat/resync-after-unclean-shutdown.in", 0, "", &fs);
    CHECK_STR(result(e), "warn");
    expect(fs, "/dev/md0", "low", "holds a copy of the data");
    expect(fs, "/dev/md0", "low", "resync 31.4% done");
    expect(fs, "/dev/md1", "low", "the copies identical again");
    expect(fs, "/dev/md2", "medium", "parity may be stale until it ends");
    expect(fs, "/dev/md3", "medium", "P and Q parity may be stale");
    CHECK(json_number_value(json_object_get(finding(fs, "/dev/md3"), "value")) == 22.5);
    json_decref(e);
    json_decref(fs);

    /* Waiting: a raid5 resync (medium), a raid1 resync pending after boot
     * (low), and a running scrub (no finding). */
    e = judge_file("raid-md", "data/parsers/mdstat/raid5-delayed-check-pending.in", 0, "", &fs);
    expect(fs, "/dev/md2", "medium", "resync delayed; parity may be stale");
    expect(fs, "/dev/md1", NULL, NULL);
    expect(fs, "/dev/md0", "low", "resync pending; every member is active");
    json_decref(e);
    json_decref(fs);

    /* A degraded mirror rebuilding is still high, and a reshape medium. */
    e = judge_file("raid-md", "data/parsers/mdstat/raid1-recovering.in", 0, "", &fs);
    CHECK_STR(result(e), "fail");
    expect(fs, "/dev/md0", "high", "rebuilding");
    json_decref(e);
    json_decref(fs);
    e = judge_file("raid-md", "data/parsers/mdstat/raid6-reshape-raid10-degraded.in", 0, "", &fs);
    expect(fs, "/dev/md3", "medium", "not fully redundant until it ends");
    json_decref(e);
    json_decref(fs);
}

static void test_failed_units_without_systemd(void)
{
    json_t *fs;
    /* systemctl on a host whose init is not systemd, as the probe reports
     * it: notapplicable with the probe's reason, no finding. */
    json_t *e = judge("failed-units", 77, "", 0,
                      "System has not been booted with systemd as init system (PID 1). Can't "
                      "operate.\nFailed to connect to bus: Host is down\nsystemd is not the init "
                      "system on this host (no /run/systemd/system): no units to check\n",
                      &fs);
    CHECK_STR(result(e), "notapplicable");
    CHECK_STR(json_string_value(json_object_get(e, "reason")),
              "systemd is not the init system on this host (no /run/systemd/system): no units "
              "to check");
    CHECK_INT(json_array_size(fs), 0);
    json_decref(e);
    json_decref(fs);

    /* Any other failure of systemctl stays an error. */
    e = judge("failed-units", 1, "", 0, "Failed to list units: Access denied\n", &fs);
    CHECK_STR(result(e), "error");
    json_decref(e);
    json_decref(fs);

    /* The real probe script on this machine: where systemd is not init
     * (a container), notapplicable; where it is, a verdict on the real
     * units. */
    const struct nm_check *c = nm_checkset_find(&cs, "failed-units");
    if (!c)
        return;
    char *errpath = nm_xasprintf("/tmp/nm-test-verdicts-%ld.err", (long)getpid());
    char *cmd = nm_xasprintf("( %s ) 2>%s", c->probe->script, errpath);
    FILE *p = popen(cmd, "r");
    CHECK(p != NULL);
    struct nm_buf out;
    nm_buf_init(&out, 1 << 20);
    char buf[4096];
    size_t n;
    while (p && (n = fread(buf, 1, sizeof buf, p)) > 0)
        nm_buf_append(&out, buf, n);
    int st = p ? pclose(p) : -1;
    int rc = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    char *err = NULL;
    size_t elen = 0;
    if (nm_read_file(errpath, 1 << 20, &err, &elen, NULL) < 0)
        err = nm_xstrdup("");
    unlink(errpath);
    free(errpath);
    struct stat sb;
    bool booted = stat("/run/systemd/system", &sb) == 0 && S_ISDIR(sb.st_mode);
    e = judge("failed-units", rc, out.data ? out.data : "", out.len, err, &fs);
    printf("this machine: systemd %s, probe exit %d -> %s\n", booted ? "booted" : "not init", rc,
           result(e));
    if (booted)
        CHECK(strcmp(result(e), "pass") == 0 || strcmp(result(e), "warn") == 0);
    else
        CHECK_STR(result(e), "notapplicable");
    json_decref(e);
    json_decref(fs);
    free(err);
    free(cmd);
    nm_buf_finish(&out);
}

/* Pending updates where the repositories carry no updateinfo: every one is
 * an "other update" (low), kernels say a reboot follows; mirror errors on
 * stderr change nothing. */
static void test_dnf_other_updates(void)
{
    static const char mirror_err[] =
        "http://mirror.centos.org/centos/7/updates/x86_64/repodata/repomd.xml: [Errno 12] "
        "Timeout on http://mirror.centos.org/centos/7/updates/x86_64/repodata/repomd.xml: (28, "
        "'Operation timed out after 30001 milliseconds with 0 out of 0 bytes received')\n"
        "Trying other mirror.\n";
    json_t *fs;
    json_t *e = judge_file("patch-dnf", "data/parsers/dnf_updateinfo/centos79-yum-check-update.in",
                           0, mirror_err, &fs);
    CHECK_STR(result(e), "warn");
    CHECK_INT(json_array_size(fs), 16);
    expect(fs, "other update glibc", "low",
           "other update: glibc 2.17-326.el7_9.3 (updates) is available, no advisory covers it");
    expect(fs, "other update kernel", "low", "a new kernel runs only after a reboot");
    expect(fs, "other update texlive-collection-fontsrecommended", "low", "2:20130427.svn28201");
    expect(fs, "other update grub2", "low", "grub2 1:2.02-0.87.0.2.el7.centos.14 (updates)");
    size_t i;
    const json_t *f;
    json_array_foreach (fs, i, f)
        CHECK_STR(json_string_value(json_object_get(f, "category")), "patch");
    json_decref(e);
    json_decref(fs);

    e = judge_file("patch-dnf", "data/parsers/dnf_updateinfo/rocky89-dnf-check-update.in", 0, "",
                   &fs);
    CHECK_STR(result(e), "warn");
    CHECK_INT(json_array_size(fs), 16);
    expect(fs, "other update kernel-core", "low", "reboot");
    expect(fs, "other update glibc", "low", "no advisory covers it");
    expect(fs, "other update xorg-x11-drv-fbdev-compat-something", "low", "0.5.0-2.el8");
    json_decref(e);
    json_decref(fs);

    /* Where advisories exist, they keep their own severity; what they
     * cover is not reported twice; a bugfix advisory is an other update. */
    e = judge_file("patch-dnf",
                   "data/parsers/dnf_updateinfo/rocky89-advisories-and-check-update.in", 0, "",
                   &fs);
    CHECK_INT(json_array_size(fs), 16);
    expect(fs, "RLSA-2024:1130 curl", "medium", "fixes curl");
    expect(fs, "RLSA-2024:1130 libcurl", "medium", "fixes libcurl");
    expect(fs, "other update curl", NULL, NULL);
    expect(fs, "other update tzdata", NULL, NULL);
    expect(fs, "RLBA-2024:1122 tzdata", "low", "other update: RLBA-2024:1122 (bugfix)");
    json_decref(e);
    json_decref(fs);
}

int main(void)
{
    nm_diag d = {{0}};
    nm_checkset_init(&cs);
    if (nm_checkset_load_dir(&cs, "../checks", &d) < 0) {
        fprintf(stderr, "loading ../checks: %s\n", d.msg);
        return 1;
    }
    test_raid_resync();
    test_failed_units_without_systemd();
    test_dnf_other_updates();
    nm_checkset_finish(&cs);
    return test_result();
}
