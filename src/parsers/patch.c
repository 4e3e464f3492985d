/*
 * Patch and reboot parsers: what the package manager says is pending
 * (apt, dnf/yum, apk, zypper) and whether the host waits for a reboot.
 * Probe commands, item fields and limits: docs/parsers-patch.md.
 *
 * Every byte here comes from a host.  Lines are (pointer, length) spans over
 * the caller's buffer, which may hold NUL bytes and need not be terminated;
 * nothing is copied except into sanitised JSON strings of bounded size.
 *
 * Common pattern: a parser that recognises nothing at all must not answer
 * "no pending updates" - an error message, a localised or truncated output
 * would otherwise read as a clean host.  So each parser knows what its clean
 * output looks like and fails on anything it cannot account for.
 */
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>

#include "parsers/cursor.h"
#include "nearmiss/utf8.h"
#include "nearmiss/util.h"
#include "parsers/builtin.h"

#define FIELD_MAX      256  /* package names, versions, advisory ids */
#define SUMMARY_MAX    1024 /* zypper patch summaries */
#define LIST_MAX       4096 /* entries in one array field (origins, packages, reasons) */
#define ZYPPER_XML_MAX (64u << 20)
#define QUOTE_MAX      80 /* bytes of host text quoted in a diagnostic */

/* ---- spans: cursor.h; what only these formats need ---------------------- */

static bool is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool all_digits(struct nm_span s)
{
    if (s.n == 0)
        return false;
    for (size_t i = 0; i < s.n; i++)
        if (!nm_is_digit(s.p[i]))
            return false;
    return true;
}

/* ---- JSON helpers ------------------------------------------------------- */

static json_t *jfield(struct nm_span s)
{
    return nm_span_json(s, FIELD_MAX);
}

/* The error for a listing with nothing in it but lines not understood:
 * "WHAT and N unrecognised line(s), first: LINE". */
static int unrecognised(nm_diag *d, const char *what, size_t unknown, struct nm_span first)
{
    char q[128];
    nm_span_quote(first, QUOTE_MAX, q, sizeof q);
    return nm_diag_set(d, NM_ERR_PARSE, "%s and %zu unrecognised line(s), first: %s", what, unknown,
                       q);
}

/* Appends item (stolen) unless `seen` already holds the string under its
 * `field`, which it then holds: one item per package (or advisory). */
static void push_first(json_t *items, json_t *seen, json_t *item, const char *field)
{
    const char *k = json_string_value(json_object_get(item, field));
    if (k && json_object_get(seen, k)) {
        json_decref(item);
        return;
    }
    if (k)
        json_object_set_new(seen, k, json_true());
    nm_push_item(items, item);
}

/* Appends the sanitised string to arr unless `seen` already holds it (keys
 * are the sanitised text, so they are valid UTF-8 without NUL bytes). */
static void push_unique(json_t *arr, json_t *seen, struct nm_span s, size_t max)
{
    if (json_array_size(arr) >= LIST_MAX)
        return;
    json_t *j = nm_span_json(s, max);
    const char *key = json_string_value(j);
    if (!key || json_object_get(seen, key)) {
        json_decref(j);
        return;
    }
    json_object_set_new(seen, key, json_true());
    json_array_append_new(arr, j);
}

/* ======================================================================== */
/* apt_simulate                                                             */
/* ======================================================================== */

/* A release string names the archive a version comes from, as apt's
 * VerIterator::RelStr() prints it: "Label:Version/Archive", "Label:Archive",
 * "Archive" or a site name.  Security pockets: Debian's "Debian-Security:12/
 * stable-security" (and "Debian-Security:10/oldoldstable" from before the
 * -security suite names), Ubuntu's "Ubuntu:22.04/jammy-security", and the
 * ESM ones "UbuntuESM:22.04/jammy-infra-security" and
 * "UbuntuESMApps:22.04/jammy-apps-security". */
static bool apt_origin_is_security(struct nm_span o)
{
    return nm_span_has_suffix(o, "-security") || nm_span_has_prefix(o, "Debian-Security:") ||
           nm_span_eq(o, "Debian-Security");
}

/* "Inst PKG [OLD] (NEW REL1, REL2 [ARCH]) [BROKEN...]" into an item. */
static json_t *apt_parse_inst(struct nm_span line)
{
    struct nm_span rest = nm_span_after(line, 5), pkg, cur = {NULL, 0};
    if (!nm_span_next_tok(&rest, &pkg))
        return NULL;
    rest = nm_span_trim(rest);
    if (rest.n > 0 && rest.p[0] == '[') {
        const char *close = memchr(rest.p, ']', rest.n);
        if (!close)
            return NULL;
        cur = (struct nm_span){rest.p + 1, (size_t)(close - rest.p - 1)};
        rest = nm_span_trim(nm_span_after(rest, (size_t)(close - rest.p) + 1));
    }
    if (rest.n == 0 || rest.p[0] != '(')
        return NULL;
    /* The candidate part ends at the last ')' of the line: what may follow
     * it ("[]", "[libfoo:amd64 ]") holds package names, never ')'. */
    size_t close = rest.n;
    while (close > 1 && rest.p[close - 1] != ')')
        close--;
    if (close <= 1)
        return NULL;
    struct nm_span inner = {rest.p + 1, close - 2}, cand, arch = {NULL, 0};
    if (!nm_span_next_tok(&inner, &cand))
        return NULL;
    struct nm_span rel = nm_span_trim(inner);
    if (rel.n > 0 && rel.p[rel.n - 1] == ']') {
        size_t open = rel.n - 1;
        while (open > 0 && rel.p[open - 1] != '[')
            open--;
        if (open > 0) {
            arch = (struct nm_span){rel.p + open, rel.n - 1 - open};
            rel.n = open - 1;
            rel = nm_span_trim(rel);
        }
    }

    json_t *origins = json_array();
    bool security = false;
    while (rel.n > 0 && json_array_size(origins) < LIST_MAX) {
        const char *comma = memmem(rel.p, rel.n, ", ", 2);
        struct nm_span o = {rel.p, comma ? (size_t)(comma - rel.p) : rel.n};
        o = nm_span_trim(o);
        if (o.n > 0) {
            security = security || apt_origin_is_security(o);
            json_array_append_new(origins, jfield(o));
        }
        rel = comma ? nm_span_after(rel, (size_t)(comma - rel.p) + 2) : (struct nm_span){NULL, 0};
    }

    json_t *item = json_object();
    json_object_set_new(item, "subject", jfield(pkg));
    json_object_set_new(item, "package", jfield(pkg));
    json_object_set_new(item, "current", cur.p ? jfield(cur) : json_null());
    json_object_set_new(item, "candidate", jfield(cand));
    json_object_set_new(item, "arch", arch.p && arch.n ? jfield(arch) : json_null());
    json_object_set_new(item, "origins", origins);
    json_object_set_new(item, "security", json_boolean(security));
    json_object_set_new(item, "new", json_boolean(cur.p == NULL));
    json_object_set_new(item, "kept_back", json_false());
    json_object_set_new(item, "evidence", nm_span_evidence(line));
    return item;
}

static json_t *apt_kept_item(struct nm_span pkg, struct nm_span header, struct nm_span line,
                             bool phasing)
{
    /* Evidence: the block header and the line naming the package. */
    struct nm_buf b;
    nm_buf_init(&b, NM_PARSER_MAX_EVIDENCE);
    nm_buf_append(&b, header.p, header.n);
    nm_buf_append(&b, "\n", 1);
    nm_buf_append(&b, line.p, line.n);
    json_t *item = json_object();
    json_object_set_new(item, "subject", jfield(pkg));
    json_object_set_new(item, "package", jfield(pkg));
    json_object_set_new(item, "current", json_null());
    json_object_set_new(item, "candidate", json_null());
    json_object_set_new(item, "arch", json_null());
    json_object_set_new(item, "origins", json_array());
    json_object_set_new(item, "security", json_false());
    json_object_set_new(item, "new", json_false());
    json_object_set_new(item, "kept_back", json_true());
    if (phasing)
        json_object_set_new(item, "phasing", json_true());
    json_object_set_new(item, "evidence", nm_evidence_json(&b));
    nm_buf_finish(&b);
    return item;
}

/* "130 upgraded, 0 newly installed, 0 to remove and 0 not upgraded." or,
 * from apt >= 2.9, "  Upgrading: 3, Installing: 0, Removing: 0, ...". */
static bool apt_summary(struct nm_span line, uint64_t *ret_expected)
{
    const char *p = line.p, *end = line.p + line.n;
    uint64_t up, inst;
    struct nm_span t = nm_span_trim(line);
    if (nm_span_has_prefix(t, "Upgrading: ")) {
        p = t.p + 11;
        if (nm_parse_u64(&p, end, &up) < 0)
            return false;
        const char *q = memmem(p, (size_t)(end - p), "Installing: ", 12);
        if (!q)
            return false;
        q += 12;
        if (nm_parse_u64(&q, end, &inst) < 0)
            return false;
        *ret_expected = up > UINT64_MAX - inst ? UINT64_MAX : up + inst;
        return true;
    }
    if (nm_parse_u64(&p, end, &up) < 0)
        return false;
    struct nm_span r = {p, (size_t)(end - p)};
    if (!nm_span_has_prefix(r, " upgraded, "))
        return false;
    p += 11;
    if (nm_parse_u64(&p, end, &inst) < 0)
        return false;
    r = (struct nm_span){p, (size_t)(end - p)};
    if (!nm_span_has_prefix(r, " newly installed"))
        return false;
    *ret_expected = up > UINT64_MAX - inst ? UINT64_MAX : up + inst;
    return true;
}

/* A package name without apt's ":ARCH" qualifier (libc6:i386), which
 * dpkg-query's ${Package} does not print. */
static struct nm_span apt_bare_name(struct nm_span pkg)
{
    for (size_t i = 0; i < pkg.n; i++)
        if (pkg.p[i] == ':')
            return (struct nm_span){pkg.p, i};
    return pkg;
}

/* sources[name] = source, unless name has one already (the first line
 * about a package wins). */
static void source_put_first(json_t *sources, struct nm_span name, struct nm_span source)
{
    json_t *k = jfield(name);
    const char *key = json_string_value(k);
    if (key && !json_object_get(sources, key))
        json_object_set_new(sources, key, jfield(source));
    json_decref(k);
}

/* "PKG SOURCE" or "PKG SOURCE (VERSION)" or "PKG " (dpkg-query's ${Source} is
 * empty when the source package has the binary's name) into sources[PKG]. */
static void apt_source_line(struct nm_span line, json_t *sources)
{
    struct nm_span rest = line, pkg, src;
    if (json_object_size(sources) >= LIST_MAX * 2 || !nm_span_next_tok(&rest, &pkg))
        return;
    if (!nm_span_next_tok(&rest, &src))
        src = pkg;
    source_put_first(sources, pkg, src);
}

/* Every item gets "source": the source package dpkg-query named for it, else
 * its own name (a package new to the host, or output without the section). */
static void apt_set_sources(json_t *items, const json_t *sources)
{
    size_t i;
    json_t *it;
    json_array_foreach (items, i, it) {
        const char *pkg = json_string_value(json_object_get(it, "package"));
        if (!pkg)
            continue;
        struct nm_span bare = apt_bare_name((struct nm_span){pkg, strlen(pkg)});
        json_t *k = jfield(bare);
        const json_t *src = json_object_get(sources, json_string_value(k));
        json_object_set_new(it, "source", src ? json_incref((json_t *)src) : json_incref(k));
        json_decref(k);
    }
}

int nm_parse_apt_simulate(const char *data, size_t len, const json_t *options, json_t **ret_items,
                          nm_diag *d)
{
    const char *cur = data, *end = data + len;
    struct nm_span line, header = {NULL, 0};
    json_t *items = json_array(), *seen = json_object(), *sources = json_object();
    bool have_summary = false, in_kept = false, phasing = false, in_sources = false;
    uint64_t expected = 0, inst_lines = 0;
    char q[128];
    int r = 0;

    while (nm_span_next_line(&cur, end, &line)) {
        /* The probe's second part: dpkg-query's source package of each
         * binary that an Inst line named (apt-get -s does not say). */
        if (nm_span_eq(line, "nearmiss:apt-sources")) {
            in_sources = true;
            continue;
        }
        if (in_sources) {
            apt_source_line(line, sources);
            continue;
        }
        if (in_kept && line.n > 0 && line.p[0] == ' ') {
            struct nm_span rest = line, pkg;
            while (nm_span_next_tok(&rest, &pkg)) {
                json_t *key = jfield(pkg);
                const char *k = json_string_value(key);
                if (k && !json_object_get(seen, k)) {
                    json_object_set_new(seen, k, json_true());
                    nm_push_item(items, apt_kept_item(pkg, header, line, phasing));
                }
                json_decref(key);
            }
            continue;
        }
        in_kept = false;
        if (nm_span_has_prefix(line, "Inst ")) {
            inst_lines++;
            json_t *item = apt_parse_inst(line);
            if (!item) {
                nm_span_quote(line, QUOTE_MAX, q, sizeof q);
                r = nm_diag_set(d, NM_ERR_PARSE, "apt_simulate: malformed Inst line: %s", q);
                goto out;
            }
            push_first(items, seen, item, "package");
        } else if (nm_span_eq(line, "The following packages have been kept back:") ||
                   nm_span_eq(line, "The following upgrades have been deferred due to phasing:")) {
            in_kept = true;
            phasing = nm_span_find(line, "phasing") != NULL;
            header = line;
        } else if (nm_span_has_prefix(line, "E: ")) {
            /* apt gave up (unmet dependencies, broken dpkg state...): no
             * list of upgrades follows, so "nothing pending" would be a lie. */
            nm_span_quote(line, QUOTE_MAX, q, sizeof q);
            r = nm_diag_set(d, NM_ERR_PARSE, "apt_simulate: apt-get failed: %s", q);
            goto out;
        } else if (!have_summary && apt_summary(line, &expected)) {
            have_summary = true;
        }
        /* Everything else (Conf/Remv lines, package lists, W: warnings,
         * progress) says nothing the Inst lines do not. */
    }
    if (!have_summary) {
        r = nm_diag_set(d, NM_ERR_PARSE,
                        "apt_simulate: no \"N upgraded, N newly installed\" summary: not the "
                        "output of LC_ALL=C apt-get -s, or truncated");
        goto out;
    }
    if (inst_lines < expected) {
        r = nm_diag_set(d, NM_ERR_PARSE,
                        "apt_simulate: output truncated: summary announces %llu installs, "
                        "only %llu Inst lines",
                        (unsigned long long)expected, (unsigned long long)inst_lines);
        goto out;
    }
    apt_set_sources(items, sources);
    *ret_items = items;
    items = NULL;
out:
    json_decref(items);
    json_decref(seen);
    json_decref(sources);
    return r;
}

/* ======================================================================== */
/* dnf_updateinfo                                                           */
/* ======================================================================== */

/* Lines dnf, yum and subscription-manager print around the list (with or
 * without -q, on stdout or merged stderr).  Known, so they are not counted
 * as unrecognised. */
static const char *const dnf_noise[] = {
    "Last metadata expiration check:",
    "Updating Subscription Management repositories.",
    "Unable to read consumer identity",
    "Skipping unreadable repository",
    "This system is not registered",
    "This system is receiving updates",
    "Not root, Subscription Management repositories not updated",
    "Updating and loading repositories:",
    "Repositories loaded.",
    "No security updates needed",
    "No packages needed for security",
    "Loaded plugins:",
    "updateinfo list done",
    "Loading mirror speeds from cached hostfile",
    "Metadata cache created.",
    "Waiting for process with pid",
    "Errors during downloading metadata for repository",
    "Ignoring repositories:",
};

static bool dnf_is_noise(struct nm_span line)
{
    if (line.n > 0 && nm_is_blank(line.p[0]))
        return true; /* mirror lists (" * base: ..."), dnf5 progress bars */
    if (nm_span_find(line, " | "))
        return true; /* dnf4 download progress: "repo  42 MB/s | 21 MB  00:00" */
    if (nm_span_has_prefix(line, "Repository ") && nm_span_find(line, "is listed more than once"))
        return true;
    for (size_t i = 0; i < sizeof dnf_noise / sizeof dnf_noise[0]; i++)
        if (nm_span_has_prefix(line, dnf_noise[i]))
            return true;
    return false;
}

static bool dnf_is_advisory_id(struct nm_span s)
{
    if (s.n == 0 || s.n > FIELD_MAX || !(is_alpha(s.p[0]) || nm_is_digit(s.p[0])))
        return false;
    bool digit = false;
    for (size_t i = 0; i < s.n; i++) {
        char c = s.p[i];
        if (nm_is_digit(c))
            digit = true;
        else if (!is_alpha(c) && c != '-' && c != ':' && c != '.' && c != '_')
            return false;
    }
    return digit;
}

/* "name-[epoch:]version-release.arch": the name is what precedes the
 * second-to-last '-', and the last '.' starts an arch (x86_64, noarch...). */
static bool dnf_nevra_name(struct nm_span s, struct nm_span *ret_name)
{
    if (s.n == 0 || s.n > 2 * FIELD_MAX)
        return false;
    size_t dashes = 0, i = s.n;
    while (i > 0) {
        i--;
        if ((unsigned char)s.p[i] <= ' ' || s.p[i] == 0x7f)
            return false;
        if (s.p[i] == '-' && ++dashes == 2)
            break;
    }
    if (dashes < 2 || i == 0)
        return false;
    /* ".ARCH" ends it, and arches start with a letter (x86_64, noarch, src) */
    size_t dot = s.n;
    while (dot > i && s.p[dot - 1] != '.')
        dot--;
    if (dot == i || dot == s.n || !is_alpha(s.p[dot]) || memchr(s.p + dot, '-', s.n - dot))
        return false;
    for (size_t j = 0; j < i; j++)
        if ((unsigned char)s.p[j] <= ' ' || s.p[j] == 0x7f)
            return false;
    *ret_name = (struct nm_span){s.p, i};
    return true;
}

static const char *dnf_severity(struct nm_span s)
{
    if (nm_span_eq_nocase(s, "critical"))
        return "critical";
    if (nm_span_eq_nocase(s, "important"))
        return "important";
    /* Amazon Linux names the middle level "medium". */
    if (nm_span_eq_nocase(s, "moderate") || nm_span_eq_nocase(s, "medium"))
        return "moderate";
    if (nm_span_eq_nocase(s, "low"))
        return "low";
    return "unknown";
}

static const char *dnf_type(struct nm_span s)
{
    static const char *const types[] = {"security",   "bugfix",      "enhancement",
                                        "newpackage", "unspecified", "unknown"};
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        if (nm_span_eq(s, types[i]))
            return types[i];
    return NULL;
}

static bool dnf_is_date(struct nm_span s)
{
    /* 2024-06-01 */
    return s.n == 10 && nm_is_digit(s.p[0]) && nm_is_digit(s.p[3]) && s.p[4] == '-' &&
           s.p[7] == '-' && nm_is_digit(s.p[9]);
}

static json_t *dnf_item(struct nm_span line, struct nm_span adv, const char *type, const char *sev,
                        struct nm_span pkg, struct nm_span name, struct nm_span issued)
{
    json_t *item = json_object();
    struct nm_buf b;
    nm_buf_init(&b, 2 * FIELD_MAX + 1);
    nm_buf_append(&b, adv.p, adv.n);
    nm_buf_append(&b, " ", 1);
    nm_buf_append(&b, pkg.p, pkg.n);
    json_object_set_new(item, "subject",
                        nm_span_json((struct nm_span){b.data, b.len}, 2 * FIELD_MAX + 1));
    nm_buf_finish(&b);
    json_object_set_new(item, "advisory", jfield(adv));
    /* What installing it is called: the advisory, or "other update". */
    json_object_set_new(item, "fix", jfield(adv));
    json_object_set_new(item, "type", json_string(type));
    json_object_set_new(item, "security", json_boolean(strcmp(type, "security") == 0));
    json_object_set_new(item, "severity", json_string(sev));
    json_object_set_new(item, "package", nm_span_json(pkg, 2 * FIELD_MAX));
    json_object_set_new(item, "name", jfield(name));
    json_object_set_new(item, "issued", issued.p ? jfield(issued) : json_null());
    json_object_set_new(item, "evidence", nm_span_evidence(line));
    return item;
}

/* The patch-dnf probe prints this line, then `check-update`'s stdout, then
 * the exit line (docs/parsers-patch.md). */
#define DNF_CU_MARK  "nearmiss:check-update"
#define DNF_CU_EXIT  "nearmiss:check-update-exit "
#define DNF_SRC_MARK "nearmiss:rpm-sources"

/* "name.arch" -> name and arch (arches start with a letter). */
static bool dnf_name_arch(struct nm_span s, struct nm_span *ret_name, struct nm_span *ret_arch)
{
    if (s.n < 3 || s.n > 2 * FIELD_MAX)
        return false;
    size_t dot = s.n;
    while (dot > 0 && s.p[dot - 1] != '.')
        dot--;
    if (dot < 2 || dot == s.n || !is_alpha(s.p[dot]))
        return false;
    for (size_t i = 0; i < s.n; i++)
        if ((unsigned char)s.p[i] <= ' ' || s.p[i] == 0x7f || s.p[i] == '/')
            return false;
    *ret_name = (struct nm_span){s.p, dot - 1};
    *ret_arch = (struct nm_span){s.p + dot, s.n - dot};
    return true;
}

/* "[EPOCH:]VERSION-RELEASE": a '-' and no spaces, starting with a digit or
 * an epoch. */
static bool dnf_is_evr(struct nm_span s)
{
    if (s.n < 3 || s.n > FIELD_MAX || !nm_is_digit(s.p[0]) || !memchr(s.p, '-', s.n))
        return false;
    for (size_t i = 0; i < s.n; i++)
        if ((unsigned char)s.p[i] <= ' ' || s.p[i] == 0x7f || s.p[i] == '/')
            return false;
    return true;
}

/* The kernel packages whose update only takes effect after a reboot. */
static bool dnf_is_kernel(struct nm_span name)
{
    static const char *const k[] = {"kernel", "kernel-core", "kernel-uek", "kernel-rt",
                                    "kernel-rt-core"};
    for (size_t i = 0; i < sizeof k / sizeof k[0]; i++)
        if (nm_span_eq(name, k[i]))
            return true;
    return false;
}

/* One package that check-update lists (name.arch, [epoch:]version-release,
 * repository). */
static json_t *dnf_update_item(struct nm_span evidence, struct nm_span na, struct nm_span evr,
                               struct nm_span repo)
{
    struct nm_span name, arch;
    if (!dnf_name_arch(na, &name, &arch))
        return NULL;
    json_t *item = json_object();
    json_object_set_new(item, "subject", nm_span_json(na, 2 * FIELD_MAX));
    json_object_set_new(item, "advisory", json_null());
    json_object_set_new(item, "fix", json_string("other update"));
    json_object_set_new(item, "type", json_string("update"));
    json_object_set_new(item, "security", json_false());
    json_object_set_new(item, "severity", json_string("unknown"));
    struct nm_buf b;
    nm_buf_init(&b, 3 * FIELD_MAX);
    nm_buf_append(&b, name.p, name.n);
    nm_buf_append(&b, "-", 1);
    nm_buf_append(&b, evr.p, evr.n);
    nm_buf_append(&b, ".", 1);
    nm_buf_append(&b, arch.p, arch.n);
    json_object_set_new(item, "package",
                        nm_span_json((struct nm_span){b.data, b.len}, 3 * FIELD_MAX));
    nm_buf_finish(&b);
    json_object_set_new(item, "name", jfield(name));
    json_object_set_new(item, "arch", jfield(arch));
    json_object_set_new(item, "version", jfield(evr));
    json_object_set_new(item, "repo", jfield(repo));
    json_object_set_new(item, "kernel", json_boolean(dnf_is_kernel(name)));
    json_object_set_new(item, "obsoletes", json_null());
    json_object_set_new(item, "covered", json_false());
    json_object_set_new(item, "evidence", nm_span_evidence(evidence));
    return item;
}

/* "NAME SRPM" from rpm -q --qf '%{NAME} %{SOURCERPM}\n': sources[NAME] = the
 * source package, SRPM without "-VERSION-RELEASE.src.rpm". */
static void dnf_source_line(struct nm_span line, json_t *sources)
{
    struct nm_span rest = line, name, srpm;
    if (json_object_size(sources) >= LIST_MAX * 2 || !nm_span_next_tok(&rest, &name) ||
        !nm_span_next_tok(&rest, &srpm) || !nm_span_has_suffix(srpm, ".src.rpm"))
        return;
    srpm.n -= 8;
    for (int dashes = 0; dashes < 2; dashes++) {
        while (srpm.n > 0 && srpm.p[srpm.n - 1] != '-')
            srpm.n--;
        if (srpm.n < 2)
            return; /* not NAME-VERSION-RELEASE */
        srpm.n--;
    }
    source_put_first(sources, name, srpm);
}

/* "source" and "kernel" on every item: the source package rpm named, else
 * the package's own name. */
static void dnf_set_sources(json_t *items, const json_t *sources)
{
    size_t i;
    json_t *it;
    json_array_foreach (items, i, it) {
        json_t *name = json_object_get(it, "name");
        const char *n = json_string_value(name);
        if (!n)
            continue;
        const json_t *src = json_object_get(sources, n);
        json_object_set_new(it, "source", json_incref((json_t *)(src ? src : name)));
        json_object_set_new(it, "kernel",
                            json_boolean(dnf_is_kernel((struct nm_span){n, strlen(n)})));
    }
}

/* After the last line, "covered" on every item: an update that an advisory
 * names is that advisory's, and a bugfix or enhancement advisory for a
 * package a security advisory already fixes adds nothing to do; neither is
 * an "other update" of its own. */
static void dnf_mark_covered(json_t *items)
{
    json_t *any = json_object(), *sec = json_object();
    size_t i;
    json_t *it;
    json_array_foreach (items, i, it) {
        const char *n = json_string_value(json_object_get(it, "name"));
        if (!n || !json_is_string(json_object_get(it, "advisory")))
            continue;
        json_object_set_new(any, n, json_true());
        if (json_is_true(json_object_get(it, "security")))
            json_object_set_new(sec, n, json_true());
    }
    json_array_foreach (items, i, it) {
        const char *n = json_string_value(json_object_get(it, "name"));
        bool adv = json_is_string(json_object_get(it, "advisory"));
        bool covered = n && (adv ? !json_is_true(json_object_get(it, "security")) &&
                                       json_object_get(sec, n) != NULL
                                 : json_object_get(any, n) != NULL);
        json_object_set_new(it, "covered", json_boolean(covered));
    }
    json_decref(any);
    json_decref(sec);
}

int nm_parse_dnf_updateinfo(const char *data, size_t len, const json_t *options, json_t **ret_items,
                            nm_diag *d)
{
    const char *cur = data, *end = data + len;
    struct nm_span line, first_unknown = {NULL, 0}, first_error = {NULL, 0};
    json_t *items = json_array(), *seen = json_object();
    size_t unknown = 0;
    char q[128];
    int r = 0;
    /* check-update part: an entry is name.arch, version and repository;
     * yum and dnf wrap a long name (or version) onto an indented line.
     * Under "Obsoleting Packages", an indented complete entry is the
     * installed package the one above replaces. */
    bool cu = false, obsoleting = false;
    struct nm_span ent[3], ent_start = {NULL, 0};
    size_t n_ent = 0;
    json_t *last_obsoleting = NULL, *sources = json_object();
    bool in_sources = false;

    while (nm_span_next_line(&cur, end, &line)) {
        struct nm_span t[7], name, none = {NULL, 0};
        if (nm_span_trim(line).n == 0)
            continue;
        /* The probe's last part: the source package of each update listed. */
        if (nm_span_eq(nm_span_trim(line), DNF_SRC_MARK)) {
            in_sources = true;
            continue;
        }
        if (in_sources) {
            dnf_source_line(line, sources);
            continue;
        }
        if (nm_span_eq(nm_span_trim(line), DNF_CU_MARK)) {
            cu = true;
            continue;
        }
        if (cu && nm_span_has_prefix(line, DNF_CU_EXIT))
            continue; /* its status is in the probe's evidence; the lines are what count */
        if (cu && !nm_span_has_prefix(line, "Error:")) {
            bool indented = nm_is_blank(line.p[0]);
            size_t n = nm_span_split(line, t, 4);
            if (!indented && n == 2 && nm_span_eq(t[0], "Obsoleting") &&
                nm_span_eq(t[1], "Packages")) {
                obsoleting = true;
                n_ent = 0;
                continue;
            }
            if (indented && n_ent > 0 && n_ent + n <= 3) {
                for (size_t k = 0; k < n; k++)
                    ent[n_ent++] = t[k];
            } else if (indented && obsoleting && n == 3 && last_obsoleting) {
                struct nm_span on, oa;
                if (dnf_name_arch(t[0], &on, &oa) && dnf_is_evr(t[1]))
                    json_object_set_new(last_obsoleting, "obsoletes", jfield(on));
                continue;
            } else if (!indented && n >= 1 && n <= 3 && !dnf_is_noise(line)) {
                n_ent = 0;
                ent_start = line;
                for (size_t k = 0; k < n; k++)
                    ent[n_ent++] = t[k];
            } else if (dnf_is_noise(line)) {
                continue;
            } else {
                if (unknown++ == 0)
                    first_unknown = line;
                continue;
            }
            if (n_ent < 3)
                continue;
            n_ent = 0;
            struct nm_span whole = {ent_start.p, (size_t)(line.p + line.n - ent_start.p)};
            json_t *item =
                dnf_is_evr(ent[1]) ? dnf_update_item(whole, ent[0], ent[1], ent[2]) : NULL;
            if (!item) {
                if (unknown++ == 0)
                    first_unknown = ent_start;
                continue;
            }
            const char *subj = json_string_value(json_object_get(item, "subject"));
            if (subj && json_object_get(seen, subj)) {
                json_decref(item); /* listed twice: the first one counts */
                last_obsoleting = NULL;
                continue;
            }
            last_obsoleting = obsoleting ? item : NULL;
            push_first(items, seen, item, "subject");
            continue;
        }
        if (nm_span_has_prefix(line, "Error:")) {
            /* With skip_if_unavailable=True dnf goes on without the repo
             * ("Ignoring repositories: ..."): what is listed is still true,
             * but an empty list then proves nothing. */
            if (!first_error.p)
                first_error = line;
            continue;
        }
        size_t n = nm_span_split(line, t, 7);
        json_t *item = NULL;
        if (n == 5 && nm_span_eq(t[0], "Name") && nm_span_eq(t[1], "Type") &&
            nm_span_eq(t[2], "Severity") && nm_span_eq(t[3], "Package") &&
            nm_span_eq(t[4], "Issued")) {
            continue; /* dnf5 table header */
        } else if (n == 6 && dnf_is_advisory_id(t[0]) && dnf_type(t[1]) &&
                   dnf_nevra_name(t[3], &name) && dnf_is_date(t[4])) {
            /* dnf5: ADVISORY TYPE SEVERITY NEVRA DATE TIME */
            struct nm_span issued = {t[4].p, (size_t)(t[5].p + t[5].n - t[4].p)};
            const char *type = dnf_type(t[1]);
            const char *sev = strcmp(type, "security") == 0 ? dnf_severity(t[2]) : "unknown";
            item = dnf_item(line, t[0], type, sev, t[3], name, issued);
        } else if (n == 3 && dnf_is_advisory_id(t[0]) && dnf_nevra_name(t[2], &name) &&
                   (nm_span_has_suffix(t[1], "/Sec.") || dnf_type(t[1]))) {
            /* dnf4, yum: ADVISORY SEVERITY/Sec.|TYPE NEVRA */
            if (nm_span_has_suffix(t[1], "/Sec.")) {
                struct nm_span sev = {t[1].p, t[1].n - 5};
                item = dnf_item(line, t[0], "security", dnf_severity(sev), t[2], name, none);
            } else {
                item = dnf_item(line, t[0], dnf_type(t[1]), "unknown", t[2], name, none);
            }
        } else if (n == 4 && nm_span_eq(t[0], "i") && dnf_is_advisory_id(t[1])) {
            continue; /* "i ADVISORY ...": already installed (--all) */
        } else if (dnf_is_noise(line)) {
            continue;
        } else {
            if (unknown++ == 0)
                first_unknown = line;
            continue;
        }
        /* One item per advisory and package: identical lines are one. */
        push_first(items, seen, item, "subject");
    }
    if (json_array_size(items) == 0 && first_error.p) {
        nm_span_quote(first_error, QUOTE_MAX, q, sizeof q);
        r = nm_diag_set(d, NM_ERR_PARSE, "dnf_updateinfo: no advisory listed and dnf said: %s", q);
        goto out;
    }
    if (json_array_size(items) == 0 && unknown > 0) {
        r = unrecognised(d, "dnf_updateinfo: no advisory line", unknown, first_unknown);
        goto out;
    }
    dnf_mark_covered(items);
    dnf_set_sources(items, sources);
    *ret_items = items;
    items = NULL;
out:
    json_decref(items);
    json_decref(seen);
    json_decref(sources);
    return r;
}

/* ======================================================================== */
/* apk_upgradable                                                           */
/* ======================================================================== */

/* "name-version-rN" -> name, "version-rN".  Names may hold '-' and digits
 * (py3-foo-bar, libcrypto3); versions never hold '-', releases are "rN". */
static bool apk_split(struct nm_span s, struct nm_span *ret_name, struct nm_span *ret_ver)
{
    if (s.n == 0 || s.n > 2 * FIELD_MAX)
        return false;
    size_t i = s.n;
    while (i > 0 && s.p[i - 1] != '-')
        i--;
    if (i < 2)
        return false;
    size_t rel = i; /* first byte after the last '-' */
    bool has_rel =
        rel < s.n && s.p[rel] == 'r' && all_digits((struct nm_span){s.p + rel + 1, s.n - rel - 1});
    size_t cut = rel - 1;
    if (has_rel) {
        while (cut > 0 && s.p[cut - 1] != '-')
            cut--;
        if (cut < 2)
            return false;
        cut--;
    }
    if (cut + 1 >= s.n || !nm_is_digit(s.p[cut + 1]))
        return false;
    for (size_t j = 0; j < s.n; j++)
        if ((unsigned char)s.p[j] <= ' ' || s.p[j] == 0x7f)
            return false;
    *ret_name = (struct nm_span){s.p, cut};
    *ret_ver = (struct nm_span){s.p + cut + 1, s.n - cut - 1};
    return true;
}

static json_t *apk_item(struct nm_span line, struct nm_span name, struct nm_span current,
                        struct nm_span candidate, struct nm_span arch)
{
    json_t *item = json_object();
    json_object_set_new(item, "subject", jfield(name));
    json_object_set_new(item, "package", jfield(name));
    json_object_set_new(item, "current", current.p ? jfield(current) : json_null());
    json_object_set_new(item, "candidate", jfield(candidate));
    json_object_set_new(item, "arch", arch.p ? jfield(arch) : json_null());
    json_object_set_new(item, "evidence", nm_span_evidence(line));
    return item;
}

static bool apk_is_op(char c)
{
    return c == '<' || c == '>' || c == '=' || c == '?' || c == '~';
}

/* `apk version -l '<'`: "%-40s%s %s %s" - name-version padded to 40
 * columns, the comparison, the available version, the repository tag
 * (usually empty).  A name-version of 40 columns or more touches the op. */
static json_t *apk_parse_version(struct nm_span line, struct nm_span raw, bool *ret_recognised)
{
    struct nm_span t[5], pv, op, ver, name, cur;
    size_t n = nm_span_split(line, t, 5);
    if (n < 2 || n > 4)
        return NULL;
    pv = t[0];
    size_t k = pv.n;
    while (k > 0 && apk_is_op(pv.p[k - 1]))
        k--;
    if (k < pv.n) { /* glued: "NAME-VER<" VERSION [TAG] */
        op = (struct nm_span){pv.p + k, pv.n - k};
        pv.n = k;
        ver = t[1];
        if (n > 3)
            return NULL;
    } else {
        if (n < 3)
            return NULL;
        op = t[1];
        ver = t[2];
    }
    if (op.n > 2 || !apk_split(pv, &name, &cur) || ver.n == 0 || !nm_is_digit(ver.p[0]))
        return NULL;
    *ret_recognised = true;
    if (!nm_span_eq(op, "<"))
        return NULL; /* "=", ">", "?": not an upgrade (apk version without -l '<') */
    return apk_item(raw, name, cur, ver, (struct nm_span){NULL, 0});
}

/* `apk list -u`: "NAME-NEWVER ARCH {ORIGIN} (LICENSE) [upgradable from: NAME-OLDVER]" */
static json_t *apk_parse_list(struct nm_span line, struct nm_span raw)
{
    static const char mark[] = "[upgradable from: ";
    const char *m = memmem(line.p, line.n, mark, sizeof mark - 1);
    struct nm_span rest = line, pv, arch, name, cand, oname, ocur;
    if (!m || !nm_span_next_tok(&rest, &pv) || !nm_span_next_tok(&rest, &arch) ||
        !apk_split(pv, &name, &cand))
        return NULL;
    const char *from = m + sizeof mark - 1, *end = line.p + line.n;
    const char *close = memchr(from, ']', (size_t)(end - from));
    if (!close)
        return NULL;
    struct nm_span old = {from, (size_t)(close - from)};
    if (!apk_split(old, &oname, &ocur))
        return NULL;
    return apk_item(raw, name, ocur, cand, arch);
}

int nm_parse_apk_upgradable(const char *data, size_t len, const json_t *options, json_t **ret_items,
                            nm_diag *d)
{
    const char *cur = data, *end = data + len;
    struct nm_span line, first_unknown = {NULL, 0}, first_warning = {NULL, 0};
    json_t *items = json_array(), *seen = json_object();
    size_t unknown = 0;
    char q[128];
    int r = 0;

    while (nm_span_next_line(&cur, end, &line)) {
        struct nm_span t = nm_span_trim(line);
        json_t *item = NULL;
        bool recognised = false;
        if (t.n == 0)
            continue;
        if (nm_span_has_prefix(t, "Installed:") && nm_span_find(t, "Available:"))
            continue; /* apk version header */
        if (nm_span_has_prefix(t, "fetch "))
            continue;
        if (nm_span_has_prefix(t, "WARNING: ")) {
            /* "Ignoring URL: No such file or directory": an index is missing,
             * so nothing listed would prove nothing. */
            if (!first_warning.p)
                first_warning = t;
            continue;
        }
        if (nm_span_find(t, "[upgradable from: "))
            item = apk_parse_list(t, line);
        else
            item = apk_parse_version(t, line, &recognised);
        if (!item) {
            if (!recognised && unknown++ == 0)
                first_unknown = line;
            continue;
        }
        push_first(items, seen, item, "package");
    }
    if (json_array_size(items) == 0 && first_warning.p) {
        nm_span_quote(first_warning, QUOTE_MAX, q, sizeof q);
        r = nm_diag_set(d, NM_ERR_PARSE, "apk_upgradable: nothing listed and apk warned: %s", q);
        goto out;
    }
    if (json_array_size(items) == 0 && unknown > 0) {
        r = unrecognised(d, "apk_upgradable: no upgradable package line", unknown, first_unknown);
        goto out;
    }
    *ret_items = items;
    items = NULL;
out:
    json_decref(items);
    json_decref(seen);
    return r;
}

/* ======================================================================== */
/* zypper_patches                                                           */
/* ======================================================================== */

static pthread_once_t xml_once = PTHREAD_ONCE_INIT;

static void xml_init(void)
{
    /* libxml2 2.9's lazy initialisation is not thread safe; hosts are
     * parsed from several threads. */
    xmlInitParser();
}

static bool xml_name_is(const xmlNode *n, const char *name)
{
    return n->type == XML_ELEMENT_NODE && strcmp((const char *)n->name, name) == 0;
}

/* An attribute as a sanitised JSON string, or NULL when absent. */
static json_t *xml_attr(const xmlNode *n, const char *name, size_t max)
{
    xmlChar *v = xmlGetNoNsProp(n, (const xmlChar *)name);
    if (!v)
        return NULL;
    json_t *j = nm_json_string_sanitized((const char *)v, strlen((const char *)v), max);
    xmlFree(v);
    return j;
}

static json_t *xml_attr_bool(const xmlNode *n, const char *name)
{
    xmlChar *v = xmlGetNoNsProp(n, (const xmlChar *)name);
    json_t *j = !v                                      ? json_null()
                : strcmp((const char *)v, "true") == 0  ? json_true()
                : strcmp((const char *)v, "false") == 0 ? json_false()
                                                        : json_null();
    xmlFree(v);
    return j;
}

static bool xml_attr_is(const xmlNode *n, const char *name, const char *value, bool if_absent)
{
    xmlChar *v = xmlGetNoNsProp(n, (const xmlChar *)name);
    bool r = v ? strcmp((const char *)v, value) == 0 : if_absent;
    xmlFree(v);
    return r;
}

static const char *zypper_severity(const xmlNode *n)
{
    static const char *const known[] = {"critical", "important", "moderate", "low"};
    xmlChar *v = xmlGetNoNsProp(n, (const xmlChar *)"severity");
    const char *r = "unspecified";
    for (size_t i = 0; v && i < sizeof known / sizeof known[0]; i++)
        if (nm_span_eq_nocase((struct nm_span){(const char *)v, strlen((const char *)v)}, known[i]))
            r = known[i];
    xmlFree(v);
    return r;
}

static json_t *zypper_item(const xmlNode *u, bool blocked)
{
    json_t *name = xml_attr(u, "name", FIELD_MAX);
    if (!name)
        return NULL;
    json_t *category = xml_attr(u, "category", FIELD_MAX);
    json_t *status = xml_attr(u, "status", FIELD_MAX);
    json_t *summary = NULL, *issued = NULL, *cves = json_array(), *seen = json_object();
    for (const xmlNode *c = u->children; c; c = c->next) {
        if (xml_name_is(c, "issue-date") && !issued)
            issued = xml_attr(c, "text", FIELD_MAX);
        if (xml_name_is(c, "issue-list")) {
            for (const xmlNode *i = c->children; i; i = i->next) {
                if (!xml_name_is(i, "issue") || !xml_attr_is(i, "type", "cve", false))
                    continue;
                xmlChar *id = xmlGetNoNsProp(i, (const xmlChar *)"id");
                if (id)
                    push_unique(cves, seen,
                                (struct nm_span){(const char *)id, strlen((const char *)id)},
                                FIELD_MAX);
                xmlFree(id);
            }
        }
        if (xml_name_is(c, "summary") && !summary) {
            xmlChar *text = xmlNodeGetContent(c);
            struct nm_span s = {text ? (const char *)text : "",
                                text ? strlen((const char *)text) : 0};
            /* zypper writes "<summary>TEXT  </summary>" */
            summary = nm_span_json(nm_span_trim_crlf(s), SUMMARY_MAX);
            xmlFree(text);
        }
    }
    json_decref(seen);
    const char *cat = json_string_value(category);
    json_t *item = json_object();
    json_object_set_new(item, "subject", json_incref(name));
    json_object_set_new(item, "patch", name);
    json_t *edition = xml_attr(u, "edition", FIELD_MAX);
    json_object_set_new(item, "edition", edition ? edition : json_null());
    json_object_set_new(item, "category", category ? category : json_null());
    json_object_set_new(item, "security", json_boolean(cat && strcmp(cat, "security") == 0));
    json_object_set_new(item, "severity", json_string(zypper_severity(u)));
    json_object_set_new(item, "status", status ? status : json_null());
    json_object_set_new(item, "summary", summary ? json_incref(summary) : json_null());
    json_object_set_new(item, "pkgmanager", xml_attr_bool(u, "pkgmanager"));
    json_object_set_new(item, "restart", xml_attr_bool(u, "restart"));
    json_object_set_new(item, "interactive", xml_attr_bool(u, "interactive"));
    json_object_set_new(item, "blocked", json_boolean(blocked));
    json_object_set_new(item, "issued", issued ? issued : json_null());
    json_object_set_new(item, "cves", cves);
    json_object_set_new(item, "evidence", summary ? summary : json_incref(name));
    return item;
}

int nm_parse_zypper_patches(const char *data, size_t len, const json_t *options, json_t **ret_items,
                            nm_diag *d)
{
    xmlParserCtxtPtr ctxt = NULL;
    xmlDocPtr doc = NULL;
    json_t *items = NULL;
    char err_text[256] = "", applet[96] = "";
    bool have_list = false;
    int r = 0;

    if (!data) { /* a direct caller may pass (NULL, 0); the engine passes "" */
        data = "";
        len = 0;
    }
    if (len > ZYPPER_XML_MAX || len > INT_MAX)
        return nm_diag_set(d, NM_ERR_TOOBIG, "zypper XML: %zu bytes, more than the %u allowed", len,
                           ZYPPER_XML_MAX);
    /* zypper never writes a DTD; one in host output can only be an attempt
     * at entity expansion or external loading.  Refuse it before libxml2
     * sees it (and check the tree again below). */
    if (len > 0 && (memmem(data, len, "<!DOCTYPE", 9) || memmem(data, len, "<!ENTITY", 8)))
        return nm_diag_set(d, NM_ERR_PARSE, "zypper XML: DTDs and entity declarations are refused");

    pthread_once(&xml_once, xml_init);
    ctxt = xmlNewParserCtxt();
    if (!ctxt)
        return nm_diag_set(d, NM_ERR_NOMEM, "zypper XML: cannot create parser");
    /* No XML_PARSE_NOENT (entity substitution), DTDLOAD, DTDATTR, XINCLUDE
     * or HUGE; NONET forbids any fetch; NOERROR/NOWARNING keep libxml2 from
     * printing (the error is taken from the context instead). */
    doc = xmlCtxtReadMemory(ctxt, data, (int)len, "zypper.xml", NULL,
                            XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    if (!doc) {
        const xmlError *e = xmlCtxtGetLastError(ctxt);
        struct nm_span m = {e && e->message ? e->message : "not well-formed",
                            e && e->message ? strlen(e->message) : 15};
        while (m.n > 0 && (m.p[m.n - 1] == '\n' || nm_is_blank(m.p[m.n - 1])))
            m.n--;
        nm_span_quote(m, QUOTE_MAX, err_text, sizeof err_text);
        r = nm_diag_set(d, NM_ERR_PARSE, "zypper XML: line %d: %s", e ? e->line : 0, err_text);
        goto out;
    }
    if (doc->intSubset || doc->extSubset) {
        r = nm_diag_set(d, NM_ERR_PARSE, "zypper XML: DTDs and entity declarations are refused");
        goto out;
    }
    const xmlNode *root = xmlDocGetRootElement(doc);
    if (!root || !xml_name_is(root, "stream")) {
        r = nm_diag_set(d, NM_ERR_PARSE, "zypper XML: root element is <%.40s>, expected <stream>",
                        root ? (const char *)root->name : "");
        goto out;
    }
    items = json_array();
    for (const xmlNode *c = root->children; c; c = c->next) {
        if (xml_name_is(c, "message") && !err_text[0] && xml_attr_is(c, "type", "error", false)) {
            xmlChar *text = xmlNodeGetContent(c);
            if (text)
                nm_span_quote((struct nm_span){(const char *)text, strlen((const char *)text)},
                              QUOTE_MAX, err_text, sizeof err_text);
            xmlFree(text);
        }
        if (!xml_name_is(c, "update-status"))
            continue;
        for (const xmlNode *l = c->children; l; l = l->next) {
            bool blocked = xml_name_is(l, "blocked-update-list");
            if (!blocked && !xml_name_is(l, "update-list"))
                continue;
            have_list = true;
            for (const xmlNode *u = l->children; u; u = u->next) {
                /* <appletinfo status="no-update-repositories"/>: nothing
                 * could be checked, which is not the same as nothing due. */
                if (xml_name_is(u, "appletinfo") && !applet[0]) {
                    xmlChar *st = xmlGetNoNsProp(u, (const xmlChar *)"status");
                    nm_span_quote((struct nm_span){st ? (const char *)st : "?",
                                                   st ? strlen((const char *)st) : 1},
                                  QUOTE_MAX, applet, sizeof applet);
                    xmlFree(st);
                }
                /* Patches only (list-updates shows packages in the same
                 * shape); needed ones, which is all list-patches shows
                 * unless asked for --all. */
                if (!xml_name_is(u, "update") || !xml_attr_is(u, "kind", "patch", true) ||
                    !xml_attr_is(u, "status", "needed", true))
                    continue;
                json_t *item = zypper_item(u, blocked);
                if (item && !nm_push_item(items, item))
                    break;
            }
        }
    }
    /* A repository that could not be refreshed hides its patches: what is
     * listed stands, but an empty list then proves nothing. */
    if (json_array_size(items) == 0 && err_text[0]) {
        r = nm_diag_set(d, NM_ERR_PARSE, "zypper XML: no patch listed and zypper said: %s",
                        err_text);
        goto out;
    }
    if (json_array_size(items) == 0 && applet[0]) {
        r = nm_diag_set(d, NM_ERR_PARSE, "zypper XML: no patch listed and zypper says: %s", applet);
        goto out;
    }
    if (!have_list) {
        r = nm_diag_set(d, NM_ERR_PARSE,
                        "zypper XML: no <update-status><update-list> (truncated?)");
        goto out;
    }
    *ret_items = items;
    items = NULL;
out:
    json_decref(items);
    xmlFreeDoc(doc);
    xmlFreeParserCtxt(ctxt);
    return r;
}

/* ======================================================================== */
/* reboot_debian                                                            */
/* ======================================================================== */

int nm_parse_reboot_debian(const char *data, size_t len, const json_t *options, json_t **ret_items,
                           nm_diag *d)
{
    const char *cur = data, *end = data + len;
    struct nm_span line;
    bool found = false, required = false;
    char q[128];

    while (nm_span_next_line(&cur, end, &line)) {
        struct nm_span t = nm_span_trim(line);
        if (t.n == 0)
            continue;
        if (nm_span_eq(t, "reboot-required: yes"))
            required = true;
        else if (!nm_span_eq(t, "reboot-required: no")) {
            nm_span_quote(t, QUOTE_MAX, q, sizeof q);
            return nm_diag_set(d, NM_ERR_PARSE,
                               "reboot_debian: expected \"reboot-required: yes|no\", got: %s", q);
        }
        found = true;
        break;
    }
    if (!found)
        return nm_diag_set(d, NM_ERR_PARSE,
                           "reboot_debian: empty output, expected \"reboot-required: yes|no\"");
    if (!required) {
        while (nm_span_next_line(&cur, end, &line)) {
            struct nm_span t = nm_span_trim(line);
            if (t.n > 0) {
                nm_span_quote(t, QUOTE_MAX, q, sizeof q);
                return nm_diag_set(
                    d, NM_ERR_PARSE,
                    "reboot_debian: unexpected line after \"reboot-required: no\": %s", q);
            }
        }
        *ret_items = json_array();
        return 0;
    }
    /* /var/run/reboot-required.pkgs: one package per line, repeated when
     * several updates asked for the reboot. */
    json_t *pkgs = json_array(), *seen = json_object();
    while (nm_span_next_line(&cur, end, &line)) {
        struct nm_span t = nm_span_trim(line);
        if (t.n > 0)
            push_unique(pkgs, seen, t, FIELD_MAX);
    }
    json_decref(seen);
    json_t *item = json_object();
    json_object_set_new(item, "subject", json_string("reboot"));
    json_object_set_new(item, "required", json_true());
    json_object_set_new(item, "packages", pkgs);
    json_object_set_new(item, "evidence", nm_span_evidence((struct nm_span){data, len}));
    json_t *items = json_array();
    json_array_append_new(items, item);
    *ret_items = items;
    return 0;
}

/* ======================================================================== */
/* reboot_rpm                                                               */
/* ======================================================================== */

static bool rpm_isalnum(char c)
{
    return nm_is_digit(c) || is_alpha(c);
}

/* rpmvercmp() from rpm 4.18 (lib/rpmvercmp.c) on bounded spans: versions are
 * compared segment by segment, a segment being a run of digits (compared
 * as numbers, leading zeros ignored) or of letters (compared as bytes);
 * other bytes only separate.  A numeric segment is newer than an alphabetic
 * one; '~' sorts before anything, even the end ("1.0~rc1" < "1.0"); '^'
 * sorts after the end but before anything else ("1.0^git1" > "1.0",
 * "1.0^git1" < "1.0.1").  Returns -1, 0 or 1. */
static int rpmvercmp_span(struct nm_span a, struct nm_span b)
{
    const char *one = a.p, *oe = a.p + a.n, *two = b.p, *te = b.p + b.n;

    if (a.n == b.n && memcmp(a.p, b.p, a.n) == 0)
        return 0;
    while (one < oe || two < te) {
        while (one < oe && !rpm_isalnum(*one) && *one != '~' && *one != '^')
            one++;
        while (two < te && !rpm_isalnum(*two) && *two != '~' && *two != '^')
            two++;

        if ((one < oe && *one == '~') || (two < te && *two == '~')) {
            if (!(one < oe && *one == '~'))
                return 1;
            if (!(two < te && *two == '~'))
                return -1;
            one++;
            two++;
            continue;
        }
        if ((one < oe && *one == '^') || (two < te && *two == '^')) {
            if (one == oe)
                return -1;
            if (two == te)
                return 1;
            if (*one != '^')
                return 1;
            if (*two != '^')
                return -1;
            one++;
            two++;
            continue;
        }
        if (!(one < oe && two < te))
            break;

        const char *s1 = one, *s2 = two;
        bool isnum = nm_is_digit(*s1);
        if (isnum) {
            while (s1 < oe && nm_is_digit(*s1))
                s1++;
            while (s2 < te && nm_is_digit(*s2))
                s2++;
        } else {
            while (s1 < oe && is_alpha(*s1))
                s1++;
            while (s2 < te && is_alpha(*s2))
                s2++;
        }
        if (s2 == two) /* segments of different kinds: numeric is newer */
            return isnum ? 1 : -1;
        if (isnum) {
            while (one < s1 && *one == '0')
                one++;
            while (two < s2 && *two == '0')
                two++;
            if (s1 - one > s2 - two)
                return 1;
            if (s2 - two > s1 - one)
                return -1;
        }
        size_t l1 = (size_t)(s1 - one), l2 = (size_t)(s2 - two);
        int rc = memcmp(one, two, l1 < l2 ? l1 : l2);
        if (rc == 0 && l1 != l2)
            rc = l1 < l2 ? -1 : 1;
        if (rc)
            return rc < 0 ? -1 : 1;
        one = s1;
        two = s2;
    }
    if (one == oe && two == te)
        return 0;
    return one == oe ? -1 : 1;
}

struct nr_state {
    struct nm_span running, running_line;
    struct nm_span newest, newest_line;
    uint64_t newest_time;
    bool have_newest;
    int64_t rc;
    bool have_rc, says_required;
    struct nm_span nr_first, nr_last; /* the needs-restarting section, raw */
};

/* "VERSION-RELEASE.ARCH INSTALLTIME" from rpm -q --qf. */
static void rpm_kernel_line(struct nr_state *st, struct nm_span line)
{
    struct nm_span t[3];
    uint64_t when;
    if (nm_span_split(line, t, 3) != 2 || !all_digits(t[1]) || t[0].n > FIELD_MAX)
        return; /* "package kernel-core is not installed" and the like */
    if (nm_span_to_u64(t[1], &when) < 0)
        return;
    if (!st->have_newest || when > st->newest_time ||
        (when == st->newest_time && rpmvercmp_span(t[0], st->newest) > 0)) {
        st->newest = t[0];
        st->newest_line = line;
        st->newest_time = when;
        st->have_newest = true;
    }
}

/* A reason from needs-restarting -r: "  * glibc" (dnf) or
 * "  kernel -> 3.10.0-1160.el7" (yum-utils). */
static bool nr_reason(struct nm_span line, struct nm_span *ret)
{
    struct nm_span t[4];
    if (line.n == 0 || !nm_is_blank(line.p[0]))
        return false;
    size_t n = nm_span_split(line, t, 4);
    if (n == 2 && nm_span_eq(t[0], "*")) {
        *ret = t[1];
        return true;
    }
    if (n == 3 && nm_span_eq(t[1], "->")) {
        *ret = t[0];
        return true;
    }
    return false;
}

int nm_parse_reboot_rpm(const char *data, size_t len, const json_t *options, json_t **ret_items,
                        nm_diag *d)
{
    enum { START, RUNNING, INSTALLED, NEEDS } where = START;
    const char *cur = data, *end = data + len;
    struct nm_span line;
    struct nr_state st = {.rc = -1};
    json_t *reasons = json_array(), *seen = json_object();
    char q[128];
    int r = 0;

    while (nm_span_next_line(&cur, end, &line)) {
        struct nm_span t = nm_span_trim(line);
        if (where == START) {
            if (t.n == 0)
                continue;
            if (!nm_span_has_prefix(t, "running:")) {
                nm_span_quote(t, QUOTE_MAX, q, sizeof q);
                r = nm_diag_set(d, NM_ERR_PARSE,
                                "reboot_rpm: expected \"running: RELEASE\", got: %s", q);
                goto out;
            }
            st.running = nm_span_trim(nm_span_after(t, 8));
            st.running_line = line;
            if (st.running.n == 0 || st.running.n > FIELD_MAX) {
                r = nm_diag_set(d, NM_ERR_PARSE, "reboot_rpm: no running kernel release");
                goto out;
            }
            where = RUNNING;
        } else if (where != NEEDS && nm_span_has_prefix(t, "needs-restarting:")) {
            if (where != INSTALLED)
                break; /* reported as missing "installed:" below */
            if (nm_span_to_i64(nm_span_trim(nm_span_after(t, 17)), &st.rc) == 0)
                st.have_rc = true;
            st.nr_first = st.nr_last = line;
            where = NEEDS;
        } else if (where == RUNNING) {
            if (nm_span_eq(t, "installed:"))
                where = INSTALLED;
            else if (t.n > 0) {
                nm_span_quote(t, QUOTE_MAX, q, sizeof q);
                r = nm_diag_set(d, NM_ERR_PARSE, "reboot_rpm: expected \"installed:\", got: %s", q);
                goto out;
            }
        } else if (where == INSTALLED) {
            rpm_kernel_line(&st, t);
        } else {
            struct nm_span reason;
            st.nr_last = line;
            if (nr_reason(line, &reason))
                push_unique(reasons, seen, reason, FIELD_MAX);
            /* "Reboot is required to fully utilize these updates." (dnf) or
             * "... to ensure that your system benefits ..." (yum-utils).  The
             * text decides, not the exit code: dnf also exits 1 on errors. */
            if (nm_span_has_prefix(t, "Reboot is required"))
                st.says_required = true;
        }
    }
    if (where != NEEDS) {
        r = nm_diag_set(d, NM_ERR_PARSE, "reboot_rpm: output truncated: no %s line",
                        where == START     ? "\"running:\""
                        : where == RUNNING ? "\"installed:\""
                                           : "\"needs-restarting:\"");
        goto out;
    }

    /* uname -r prints exactly VERSION-RELEASE.ARCH of the booted kernel package. */
    bool outdated = st.have_newest && !(st.newest.n == st.running.n &&
                                        memcmp(st.newest.p, st.running.p, st.newest.n) == 0);
    if (!outdated && !st.says_required) {
        *ret_items = json_array();
        goto out;
    }
    if (outdated && !json_object_get(seen, "kernel") && !json_object_get(seen, "kernel-core")) {
        json_t *rs = json_array();
        json_array_append_new(rs, json_string("kernel"));
        json_array_extend(rs, reasons);
        json_decref(reasons);
        reasons = rs;
    }
    /* Evidence: the lines the verdict rests on, as printed. */
    struct nm_buf b;
    nm_buf_init(&b, NM_PARSER_MAX_EVIDENCE);
    nm_buf_append(&b, st.running_line.p, st.running_line.n);
    if (st.have_newest) {
        nm_buf_appends(&b, "\ninstalled: ");
        nm_buf_append(&b, st.newest_line.p, st.newest_line.n);
    }
    nm_buf_append(&b, "\n", 1);
    nm_buf_append(&b, st.nr_first.p, (size_t)(st.nr_last.p + st.nr_last.n - st.nr_first.p));

    json_t *item = json_object();
    json_object_set_new(item, "subject", json_string("reboot"));
    json_object_set_new(item, "required", json_true());
    json_object_set_new(item, "running", jfield(st.running));
    json_object_set_new(item, "newest", st.have_newest ? jfield(st.newest) : json_null());
    json_object_set_new(item, "kernel_outdated", json_boolean(outdated));
    json_object_set_new(item, "needs_restarting", st.says_required ? json_true() : json_false());
    json_object_set_new(item, "needs_restarting_rc",
                        st.have_rc ? json_integer((json_int_t)st.rc) : json_null());
    json_object_set_new(item, "reasons", reasons);
    reasons = NULL;
    json_object_set_new(item, "evidence", nm_evidence_json(&b));
    nm_buf_finish(&b);
    json_t *items = json_array();
    json_array_append_new(items, item);
    *ret_items = items;
out:
    json_decref(reasons);
    json_decref(seen);
    return r;
}
