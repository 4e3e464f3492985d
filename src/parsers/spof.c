/*
 * Single-point-of-failure parsers: md RAID (/proc/mdstat), NIC bonds
 * (/proc/net/bonding/NAME), name resolution (resolv.conf + systemd-resolved),
 * clock synchronisation (timedatectl / chrony / ntpq), IPMI power supplies
 * and ZFS pools.  Probe snippets, item fields and limits: docs/parsers-spof.md.
 *
 * Every byte here comes from a host.  Lines are (pointer, length) spans over
 * the caller's buffer, which may hold NUL bytes and need not be terminated;
 * nothing is copied except into sanitised JSON strings of bounded size (and
 * one bounded stack copy handed to inet_pton, which needs a C string).
 *
 * The parsers describe; check rules judge.  But each item carries the one
 * boolean a rule needs (`degraded`, `single_leg`, `single`, `single_source`,
 * `failed`, `healthy`...), computed here where the format is understood, so
 * that rules stay one-liners and never re-derive kernel semantics.
 *
 * Unknown is not healthy: a field the input does not establish is null, and
 * input that is not recognisably the expected tool's output is an error
 * rather than an empty (= "nothing wrong") item list.
 */
#include <arpa/inet.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "parsers/cursor.h"
#include "nearmiss/util.h"
#include "parsers/builtin.h"

#define FIELD_MAX  256  /* names, states, addresses */
#define TEXT_MAX   1024 /* status/scan/error sentences */
#define LIST_MAX   256  /* entries kept in one array field (counts go on) */
#define MD_DEV_MAX 1024 /* md devices listed per array (above what md allows) */
#define FLAGS_MAX  8    /* flags kept per md device */
#define QUOTE_MAX  120  /* bytes of host text quoted in a diagnostic */

/* ---- spans: cursor.h; what only these formats need ---------------------- */

/* c is one of the characters of set (never matches NUL). */
static bool in_set(char c, const char *set)
{
    return c != '\0' && strchr(set, c) != NULL;
}

/* "Key: value" (or "Key : value"): false when there is no colon. */
static bool split_kv(struct nm_span line, struct nm_span *key, struct nm_span *val)
{
    const char *c = memchr(line.p, ':', line.n);
    if (!c)
        return false;
    *key = nm_span_trim((struct nm_span){line.p, (size_t)(c - line.p)});
    *val = nm_span_trim(nm_span_after(line, (size_t)(c - line.p) + 1));
    return true;
}

/* "--- NAME ---" section headers written by the probe snippets. */
static bool section_header(struct nm_span line, struct nm_span *name)
{
    struct nm_span t = nm_span_trim(line);
    if (t.n < 8 || !nm_span_has_prefix(t, "--- ") || !nm_span_has_suffix(t, " ---"))
        return false;
    *name = nm_span_trim((struct nm_span){t.p + 4, t.n - 8});
    return true;
}

/*
 * Decimal "[+-]digits[.digits]" at *p: mantissa and count of fraction
 * digits, so that value = mant / 10^scale.  Dividing two exactly
 * representable numbers once rounds correctly, which keeps results equal to
 * what strtod() gives for the same text (no locale, no NUL needed).
 */
struct dec {
    int64_t mant;
    unsigned scale;
};

static bool parse_dec(const char **p, const char *end, struct dec *ret)
{
    const char *s = *p;
    bool neg = false, frac = false;
    int64_t m = 0;
    unsigned sig = 0, scale = 0;
    if (s < end && (*s == '+' || *s == '-'))
        neg = *s++ == '-';
    if (s >= end || !nm_is_digit(*s))
        return false;
    for (; s < end; s++) {
        if (*s == '.' && !frac && s + 1 < end && nm_is_digit(s[1])) {
            frac = true;
            continue;
        }
        if (!nm_is_digit(*s))
            break;
        /* leading zeros carry no precision; past 15 significant digits a
         * double is no longer exact: refuse rather than guess */
        if ((m > 0 || *s != '0') && ++sig > 15)
            return false;
        if (frac && ++scale > 18)
            return false;
        m = m * 10 + (*s - '0');
    }
    ret->mant = neg ? -m : m;
    ret->scale = scale;
    *p = s;
    return true;
}

static bool sp_dec(struct nm_span s, struct dec *ret)
{
    const char *p = s.p;
    return parse_dec(&p, s.p + s.n, ret) && p == s.p + s.n;
}

static double dec_value(struct dec d, unsigned extra_scale)
{
    static const double pow10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                   1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                   1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
    unsigned k = d.scale + extra_scale;
    if (k > 22)
        k = 22;
    return (double)d.mant / pow10[k];
}

/* [*cur, *end): a section's bytes.  An empty section may come without a
 * buffer. */
static void section_bounds(const char *data, size_t len, const char **cur, const char **end)
{
    if (!data) {
        data = "";
        len = 0;
    }
    *cur = data;
    *end = data + len;
}

/* ---- JSON helpers ------------------------------------------------------- */

static json_t *jfield(struct nm_span s)
{
    return nm_span_json(s, FIELD_MAX);
}

/* A span, or null when empty. */
static json_t *jfield_or_null(struct nm_span s)
{
    return s.n ? jfield(s) : json_null();
}

static json_t *jint(uint64_t v)
{
    return v > (uint64_t)INT64_MAX ? json_null() : json_integer((json_int_t)v);
}

/* -1 unknown, 0 false, 1 true */
static json_t *jtri(int v)
{
    return v < 0 ? json_null() : json_boolean(v);
}

static void set(json_t *o, const char *key, json_t *v)
{
    json_object_set_new(o, key, v ? v : json_null());
}

/* Appends a string to a capped array; returns false when it was dropped. */
static bool push_str(json_t *arr, struct nm_span s)
{
    if (json_array_size(arr) >= LIST_MAX)
        return false;
    json_array_append_new(arr, jfield(s));
    return true;
}

/* ======================================================================== */
/* mdstat                                                                    */
/* ======================================================================== */

/*
 * /proc/mdstat as drivers/md/md.c md_seq_show() writes it (2.6 .. 6.x):
 *
 *   Personalities : [raid1] [raid6] [raid5] [raid4]
 *   md0 : active raid1 sdb1[1](F) sda1[0]
 *         976630464 blocks super 1.2 [2/1] [U_]
 *         [=>...................]  recovery =  8.9% (87416832/976630464) finish=76.8min
 * speed=192932K/sec bitmap: 1/8 pages [4KB], 65536KB chunk
 *
 *   md127 : inactive sdc[1](S) sdd[0](S)
 *         5288 blocks super external:imsm
 *
 *   unused devices: <none>
 *
 * An array is its "mdN : ..." line plus the indented lines after it; blank
 * and whitespace-only lines do not end it (md prints one after the status).
 */

enum md_state { MD_ACTIVE, MD_INACTIVE, MD_RO, MD_AUTORO };

struct md {
    struct nm_span name;
    enum md_state state;
    struct nm_span level;
    json_t *devices;
    json_t *failed_names; /* flat list for message templates */
    uint64_t n_dev, failed, spares, bad_tokens;
    bool has_nm;
    uint64_t total, active;
    struct nm_span map;
    struct nm_span meta;
    uint64_t near, far; /* raid10 copies (1 when not printed) */
    struct nm_span action;
    const char *action_lit; /* normalised action when known */
    const char *action_status;
    bool has_pct;
    struct dec pct;
    struct nm_span finish;
    struct nm_span bitmap;
    struct nm_buf ev;
};

static const char *md_state_name(enum md_state s)
{
    switch (s) {
    case MD_ACTIVE:
        return "active";
    case MD_INACTIVE:
        return "inactive";
    case MD_RO:
        return "read-only";
    case MD_AUTORO:
        return "auto-read-only";
    }
    return "active";
}

/* "sdb1[1](F)(W)" -> device object; false when the token is not one. */
static bool md_device(struct md *a, struct nm_span tok)
{
    const char *lb = memchr(tok.p, '[', tok.n);
    if (!lb || lb == tok.p)
        return false;
    const char *p = lb + 1, *end = tok.p + tok.n;
    uint64_t idx;
    if (nm_parse_u64(&p, end, &idx) < 0 || p >= end || *p != ']')
        return false;
    p++;
    /* Validate the whole flag tail before touching any count. */
    for (const char *q = p; q < end; q += 3)
        if (end - q < 3 || q[0] != '(' || q[2] != ')')
            return false;
    json_t *flags = json_array();
    bool faulty = false, spare = false;
    for (; p < end; p += 3) {
        const char *w = NULL;
        switch (p[1]) {
        case 'F':
            w = "faulty";
            faulty = true;
            break;
        case 'S':
            w = "spare";
            spare = true;
            break;
        case 'W':
            w = "write-mostly";
            break;
        case 'J':
            w = "journal";
            break;
        case 'R':
            w = "replacement";
            break;
        default:
            break;
        }
        if (json_array_size(flags) < FLAGS_MAX)
            json_array_append_new(flags, w ? json_string(w) : jfield((struct nm_span){p + 1, 1}));
    }
    a->n_dev++;
    a->failed += faulty;
    a->spares += spare;
    if (faulty)
        push_str(a->failed_names, (struct nm_span){tok.p, (size_t)(lb - tok.p)});
    if (json_array_size(a->devices) < MD_DEV_MAX) {
        json_t *d = json_object();
        set(d, "name", jfield((struct nm_span){tok.p, (size_t)(lb - tok.p)}));
        set(d, "index", jint(idx));
        set(d, "flags", flags);
        json_array_append_new(a->devices, d);
    } else {
        json_decref(flags);
    }
    return true;
}

/* "md0 : active (auto-read-only) raid1 sdb1[1] sda1[0]" */
static bool md_start(struct md *a, struct nm_span line)
{
    struct nm_span rest = line, t1, t2, t3, tok;
    if (!nm_span_next_tok(&rest, &t1) || !nm_span_next_tok(&rest, &t2) || !nm_span_eq(t2, ":") ||
        !nm_span_next_tok(&rest, &t3))
        return false;
    if (!nm_span_eq(t3, "active") && !nm_span_eq(t3, "inactive"))
        return false;
    memset(a, 0, sizeof *a);
    a->name = t1;
    a->state = nm_span_eq(t3, "active") ? MD_ACTIVE : MD_INACTIVE;
    a->devices = json_array();
    a->failed_names = json_array();
    a->near = a->far = 1;
    nm_buf_init(&a->ev, NM_PARSER_MAX_EVIDENCE);
    nm_evidence_add(&a->ev, line);
    bool want_level = a->state == MD_ACTIVE;
    while (nm_span_next_tok(&rest, &tok)) {
        if (a->state == MD_ACTIVE && nm_span_eq(tok, "(read-only)")) {
            a->state = MD_RO;
        } else if (a->state == MD_ACTIVE && nm_span_eq(tok, "(auto-read-only)")) {
            a->state = MD_AUTORO;
        } else if (want_level && !memchr(tok.p, '[', tok.n)) {
            a->level = tok;
            want_level = false;
        } else {
            want_level = false;
            if (!md_device(a, tok))
                a->bad_tokens++;
        }
    }
    return true;
}

/* "[==>..................]  recovery = 12.6% (123/456) finish=1.2min speed=1K/sec" */
static void md_progress(struct md *a, struct nm_span t)
{
    const char *rb = memchr(t.p, ']', t.n);
    if (!rb)
        return;
    const char *p = rb + 1, *end = t.p + t.n;
    nm_skip_spaces(&p, end);
    const char *w = p;
    while (p < end && !nm_is_blank(*p) && *p != '=')
        p++;
    struct nm_span word = {w, (size_t)(p - w)};
    nm_skip_spaces(&p, end);
    if (word.n == 0 || p >= end || *p != '=')
        return;
    p++;
    nm_skip_spaces(&p, end);
    struct dec pct;
    if (parse_dec(&p, end, &pct) && p < end && *p == '%') {
        a->has_pct = true;
        a->pct = pct;
    }
    a->action = word;
    a->action_lit = NULL;
    a->action_status = "running";
    struct nm_span rest = {p, (size_t)(end - p)}, tok;
    while (nm_span_next_tok(&rest, &tok))
        if (nm_span_has_prefix(tok, "finish="))
            a->finish = nm_span_after(tok, 7);
}

/* "resync=DELAYED", "resync=PENDING", "recover=REMOTE", "reshape=REMOTE" */
static bool md_pending(struct md *a, struct nm_span t)
{
    const char *eq = memchr(t.p, '=', t.n);
    if (!eq || memchr(t.p, ' ', t.n) || memchr(t.p, '\t', t.n))
        return false;
    struct nm_span word = {t.p, (size_t)(eq - t.p)}, val = nm_span_after(t, word.n + 1);
    const char *status = nm_span_eq(val, "DELAYED")   ? "delayed"
                         : nm_span_eq(val, "PENDING") ? "pending"
                         : nm_span_eq(val, "REMOTE")  ? "remote"
                                                      : NULL;
    if (!status || word.n == 0)
        return false;
    a->action = word;
    a->action_lit = nm_span_eq(word, "recover") ? "recovery" : NULL;
    a->action_status = status;
    return true;
}

/* "[2/1]" */
static bool md_counts(struct nm_span tok, uint64_t *n, uint64_t *m)
{
    if (tok.n < 5 || tok.p[0] != '[' || tok.p[tok.n - 1] != ']')
        return false;
    const char *p = tok.p + 1, *end = tok.p + tok.n - 1;
    if (nm_parse_u64(&p, end, n) < 0 || p >= end || *p++ != '/' || nm_parse_u64(&p, end, m) < 0)
        return false;
    return p == end;
}

/* "[UU_]" */
static bool md_map(struct nm_span tok)
{
    if (tok.n < 3 || tok.p[0] != '[' || tok.p[tok.n - 1] != ']')
        return false;
    for (size_t i = 1; i + 1 < tok.n; i++)
        if (tok.p[i] != 'U' && tok.p[i] != '_')
            return false;
    return true;
}

static void md_cont(struct md *a, struct nm_span line)
{
    struct nm_span t = nm_span_trim(line);
    if (t.n == 0)
        return;
    nm_evidence_add(&a->ev, line);
    if (t.p[0] == '[' && memchr(t.p, '>', t.n) && !md_map(t)) {
        md_progress(a, t);
        return;
    }
    if (nm_span_has_prefix(t, "bitmap:")) {
        a->bitmap = nm_span_trim(nm_span_after(t, 7));
        return;
    }
    if (md_pending(a, t))
        return;
    struct nm_span rest = t, tok, prev = {0};
    while (nm_span_next_tok(&rest, &tok)) {
        uint64_t n, m, k;
        if (nm_span_eq(prev, "super")) {
            a->meta = tok;
        } else if (md_counts(tok, &n, &m)) {
            a->has_nm = true;
            a->total = n;
            a->active = m;
        } else if (md_map(tok)) {
            a->map = (struct nm_span){tok.p + 1, tok.n - 2};
        } else if (nm_span_to_u64(prev, &k) == 0 && k > 0 && k < 1000) {
            if (nm_span_eq(tok, "near-copies"))
                a->near = k;
            else if (nm_span_eq(tok, "far-copies") || nm_span_eq(tok, "offset-copies"))
                a->far = k;
        }
        prev = tok;
    }
}

static bool level_is(const struct md *a, const char *l)
{
    return nm_span_eq(a->level, l);
}

static bool action_is(const struct md *a, const char *name)
{
    return a->action_lit ? strcmp(a->action_lit, name) == 0 : nm_span_eq(a->action, name);
}

/* What a running or waiting action means for the array's redundancy, per
 * level (docs/parsers-spof.md): *ret_reduces is null when there is no
 * action. */
static const char *action_note(const struct md *a, bool degraded, json_t **ret_reduces)
{
    bool mirror = level_is(a, "raid1") || level_is(a, "raid10");
    *ret_reduces = json_null();
    if (!a->action.p && !a->action_lit)
        return NULL;
    if (action_is(a, "check") || action_is(a, "repair")) {
        *ret_reduces = json_false();
        return "a consistency check (scrub): routine, every member stays in use";
    }
    *ret_reduces = json_true();
    if (action_is(a, "resync")) {
        /* A resync after an unclean shutdown makes the copies identical
         * again; on a mirror with every member active, each member already
         * holds the data, so redundancy is not at stake.  Parity levels
         * are different: until the stripe is rewritten its parity may not
         * match the data, and a member lost then is rebuilt from it. */
        if (mirror && !degraded) {
            *ret_reduces = json_false();
            return "every member is active and holds a copy of the data; the resync only makes "
                   "the copies identical again (as after an unclean shutdown)";
        }
        if (level_is(a, "raid4") || level_is(a, "raid5"))
            return "parity may be stale until it ends: a disk that fails before then can take "
                   "the stripes not yet resynced with it";
        if (level_is(a, "raid6"))
            return "P and Q parity may be stale until it ends: stripes not yet resynced do not "
                   "have raid6's protection against two disk failures";
    }
    return "the array is not fully redundant until it ends";
}

static json_t *md_item(struct md *a)
{
    json_t *it = json_object();
    bool active = a->state != MD_INACTIVE;
    /* An IMSM/DDF container ("super external:imsm") is always inactive: it
     * only holds the metadata; its member arrays ("external:/md127/0") are
     * the ones that run.  An inactive container is normal, not degraded. */
    bool container = nm_span_has_prefix(a->meta, "external:") && a->meta.n > 9 &&
                     a->meta.p[9] != '/' && a->meta.p[9] != '-';
    bool redundant = level_is(a, "raid1") || level_is(a, "raid4") || level_is(a, "raid5") ||
                     level_is(a, "raid6") || level_is(a, "raid10");
    uint64_t missing = a->has_nm && a->active < a->total ? a->total - a->active : 0;

    /* failures_tolerated: how many more member failures the array survives
     * (worst case).  raid10: copies = near * far; with k missing members, some
     * data may have only copies-1-k spare copies left. */
    json_t *tolerated = json_null();
    if (active && a->has_nm && level_is(a, "raid1")) {
        tolerated = jint(a->active > 0 ? a->active - 1 : 0);
    } else if (active && a->has_nm && (level_is(a, "raid4") || level_is(a, "raid5"))) {
        tolerated = jint(missing >= 1 ? 0 : 1);
    } else if (active && a->has_nm && level_is(a, "raid6")) {
        tolerated = jint(missing >= 2 ? 0 : 2 - missing);
    } else if (active && a->has_nm && level_is(a, "raid10")) {
        uint64_t copies = a->near * a->far;
        tolerated = jint(copies > missing + 1 ? copies - 1 - missing : 0);
    } else if (active && (level_is(a, "raid0") || level_is(a, "linear"))) {
        tolerated = jint(0);
    }
    bool single_leg = (level_is(a, "raid1") || level_is(a, "raid10")) && active && a->has_nm &&
                      a->active >= 1 && json_is_integer(tolerated) &&
                      json_integer_value(tolerated) == 0;
    bool degraded = (a->has_nm && a->active < a->total) || a->failed > 0 ||
                    (a->state == MD_INACTIVE && !container);

    struct nm_buf subj;
    nm_buf_init(&subj, FIELD_MAX);
    nm_buf_appends(&subj, "/dev/");
    nm_buf_append(&subj, a->name.p, a->name.n);
    set(it, "subject", nm_span_json((struct nm_span){subj.data, subj.len}, FIELD_MAX));
    nm_buf_finish(&subj);
    set(it, "array", jfield(a->name));
    set(it, "level", jfield_or_null(a->level));
    set(it, "state", json_string(md_state_name(a->state)));
    set(it, "metadata", jfield_or_null(a->meta));
    set(it, "container", json_boolean(container));
    set(it, "devices", a->devices);
    a->devices = NULL;
    set(it, "devices_count", jint(a->n_dev));
    set(it, "members_total", a->has_nm ? jint(a->total) : json_null());
    set(it, "members_active", a->has_nm ? jint(a->active) : json_null());
    set(it, "member_map", jfield_or_null(a->map));
    set(it, "failed", jint(a->failed));
    set(it, "failed_devices", a->failed_names);
    a->failed_names = NULL;
    set(it, "spares", jint(a->spares));
    set(it, "degraded", json_boolean(degraded));
    set(it, "redundant", json_boolean(redundant));
    set(it, "failures_tolerated", tolerated);
    set(it, "single_leg", json_boolean(single_leg));
    set(it, "action", a->action_lit ? json_string(a->action_lit) : jfield_or_null(a->action));
    set(it, "action_status", a->action_status ? json_string(a->action_status) : json_null());
    json_t *reduces;
    const char *note = action_note(a, degraded, &reduces);
    set(it, "action_reduces_redundancy", reduces);
    set(it, "action_note", note ? json_string(note) : json_null());
    set(it, "progress_pct", a->has_pct ? json_real(dec_value(a->pct, 0)) : json_null());
    set(it, "finish", jfield_or_null(a->finish));
    set(it, "bitmap", jfield_or_null(a->bitmap));
    set(it, "unknown_tokens", jint(a->bad_tokens));
    set(it, "evidence", nm_evidence_json(&a->ev));
    nm_buf_finish(&a->ev);
    return it;
}

int nm_parse_mdstat(const char *data, size_t len, const json_t *options, json_t **ret_items,
                    nm_diag *d)
{
    (void)options;
    const char *cur, *end;
    section_bounds(data, len, &cur, &end);
    json_t *items = json_array();
    struct md a;
    bool open = false, header = false, any = false, full = false;
    struct nm_span line, first_unknown = {0};

    while (!full && nm_span_next_line(&cur, end, &line)) {
        if (nm_span_is_blank(line))
            continue;
        any = true;
        if (nm_is_blank(line.p[0])) {
            if (open)
                md_cont(&a, line);
            else if (!first_unknown.p)
                first_unknown = line;
            continue;
        }
        if (open) {
            full = !nm_push_item(items, md_item(&a));
            open = false;
        }
        if (nm_span_has_prefix(line, "Personalities :")) {
            header = true;
        } else if (nm_span_has_prefix(line, "unused devices:") ||
                   nm_span_has_prefix(line, "read_ahead ")) {
            /* known, nothing to describe */
        } else if (!full && md_start(&a, line)) {
            open = true;
        } else if (!first_unknown.p) {
            first_unknown = line;
        }
    }
    if (open) {
        if (full) {
            json_decref(a.devices);
            json_decref(a.failed_names);
            nm_buf_finish(&a.ev);
        } else {
            nm_push_item(items, md_item(&a));
        }
    }
    if (any && !header && json_array_size(items) == 0) {
        char q[160];
        nm_span_quote(first_unknown, QUOTE_MAX, q, sizeof q);
        json_decref(items);
        return nm_diag_set(d, NM_ERR_PARSE,
                           "mdstat: not /proc/mdstat output (no \"Personalities :\" line, "
                           "no array), first line: %s",
                           q);
    }
    *ret_items = items;
    return 0;
}

/* ======================================================================== */
/* bonding                                                                   */
/* ======================================================================== */

/*
 * The probe prints "--- bond NAME ---" and then /proc/net/bonding/NAME as
 * drivers/net/bonding/bond_procfs.c writes it: the bond's own "Key: value"
 * lines, then one block per slave starting at "Slave Interface: ethX".  The
 * bond's "MII Status" comes before any slave; later ones are the slaves'.
 */

struct bond {
    struct nm_span name;
    struct nm_span mode, fail_over_mac, mii, active, primary, hash;
    bool has_mode;
    int64_t miimon, arp_interval; /* -1 unknown */
    json_t *slaves;
    json_t *down; /* names of slaves not up, for messages */
    uint64_t total, up, failures;
    json_t *slave; /* the slave being read, owned */
    struct nm_span slave_mii;
    bool agg_known;
    uint64_t agg_ports;
    bool no_agg;
    struct nm_buf ev;
};

static const char *bond_mode_short(struct nm_span mode)
{
    static const struct {
        const char *text, *name;
    } modes[] = {
        {"load balancing (round-robin)", "balance-rr"},
        {"fault-tolerance (active-backup)", "active-backup"},
        {"load balancing (xor)", "balance-xor"},
        {"fault-tolerance (broadcast)", "broadcast"},
        {"IEEE 802.3ad Dynamic link aggregation", "802.3ad"},
        {"transmit load balancing", "balance-tlb"},
        {"adaptive load balancing", "balance-alb"},
    };
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++)
        if (nm_span_eq(mode, modes[i].text))
            return modes[i].name;
    return NULL;
}

static void bond_end_slave(struct bond *b)
{
    if (!b->slave)
        return;
    b->total++;
    if (nm_span_eq(b->slave_mii, "up"))
        b->up++;
    else if (json_array_size(b->down) < LIST_MAX)
        json_array_append(b->down, json_object_get(b->slave, "name"));
    if (json_array_size(b->slaves) < LIST_MAX)
        json_array_append_new(b->slaves, b->slave);
    else
        json_decref(b->slave);
    b->slave = NULL;
}

static void bond_begin(struct bond *b, struct nm_span name)
{
    memset(b, 0, sizeof *b);
    b->name = name;
    b->miimon = b->arp_interval = -1;
    b->slaves = json_array();
    b->down = json_array();
    nm_buf_init(&b->ev, NM_PARSER_MAX_EVIDENCE);
}

static void bond_discard(struct bond *b)
{
    json_decref(b->slaves);
    json_decref(b->down);
    json_decref(b->slave);
    nm_buf_finish(&b->ev);
}

static void bond_line(struct bond *b, struct nm_span line)
{
    struct nm_span key, val;
    struct nm_span t = nm_span_trim(line);
    if (nm_span_has_prefix(t, "bond ") && nm_span_has_suffix(t, " has no active aggregator")) {
        b->no_agg = true;
        nm_evidence_add(&b->ev, line);
        return;
    }
    if (!split_kv(t, &key, &val))
        return;
    uint64_t v;
    if (nm_span_eq(key, "Slave Interface")) {
        bond_end_slave(b);
        b->slave = json_object();
        b->slave_mii = (struct nm_span){0};
        set(b->slave, "name", jfield(val));
        set(b->slave, "mii_status", json_null());
        set(b->slave, "speed", json_null());
        set(b->slave, "duplex", json_null());
        set(b->slave, "failures", json_null());
        set(b->slave, "aggregator_id", json_null());
        nm_evidence_add(&b->ev, line);
        return;
    }
    if (b->slave) {
        if (nm_span_eq(key, "MII Status")) {
            b->slave_mii = val;
            set(b->slave, "mii_status", jfield(val));
            nm_evidence_add(&b->ev, line);
        } else if (nm_span_eq(key, "Speed")) {
            struct nm_span num = val;
            if (nm_span_has_suffix(num, " Mbps"))
                num.n -= 5;
            set(b->slave, "speed", nm_span_to_u64(num, &v) == 0 ? jint(v) : json_null());
        } else if (nm_span_eq(key, "Duplex")) {
            set(b->slave, "duplex", jfield(val));
        } else if (nm_span_eq(key, "Link Failure Count")) {
            if (nm_span_to_u64(val, &v) == 0) {
                set(b->slave, "failures", jint(v));
                b->failures += v;
            }
            nm_evidence_add(&b->ev, line);
        } else if (nm_span_eq(key, "Aggregator ID")) {
            set(b->slave, "aggregator_id", nm_span_to_u64(val, &v) == 0 ? jint(v) : json_null());
        }
        return;
    }
    if (nm_span_eq(key, "Bonding Mode")) {
        /* "fault-tolerance (active-backup) (fail_over_mac active)" */
        const char *fom = memmem(val.p, val.n, " (fail_over_mac ", 16);
        b->mode = val;
        if (fom && nm_span_has_suffix(val, ")")) {
            b->mode.n = (size_t)(fom - val.p);
            b->fail_over_mac = (struct nm_span){fom + 16, (size_t)(val.p + val.n - 1 - (fom + 16))};
        }
        b->has_mode = true;
        nm_evidence_add(&b->ev, line);
    } else if (nm_span_eq(key, "MII Status")) {
        b->mii = val;
        nm_evidence_add(&b->ev, line);
    } else if (nm_span_eq(key, "Currently Active Slave")) {
        b->active = val;
        nm_evidence_add(&b->ev, line);
    } else if (nm_span_eq(key, "Primary Slave")) {
        /* "eth0 (primary_reselect always)" */
        struct nm_span r = val, name;
        b->primary = nm_span_next_tok(&r, &name) ? name : val;
    } else if (nm_span_eq(key, "Transmit Hash Policy")) {
        b->hash = val;
    } else if (nm_span_eq(key, "MII Polling Interval (ms)")) {
        if (nm_span_to_u64(val, &v) == 0 && v <= INT32_MAX)
            b->miimon = (int64_t)v;
    } else if (nm_span_eq(key, "ARP Polling Interval (ms)")) {
        if (nm_span_to_u64(val, &v) == 0 && v <= INT32_MAX)
            b->arp_interval = (int64_t)v;
    } else if (nm_span_eq(key, "Number of ports")) {
        if (nm_span_to_u64(val, &v) == 0) {
            b->agg_known = true;
            b->agg_ports = v;
        }
        nm_evidence_add(&b->ev, line);
    }
}

static json_t *bond_item(struct bond *b)
{
    bond_end_slave(b);
    json_t *it = json_object();
    const char *mshort = bond_mode_short(b->mode);
    bool lacp = mshort && strcmp(mshort, "802.3ad") == 0;
    int mii_up = b->mii.n ? nm_span_eq(b->mii, "up") : -1;
    /* 802.3ad: a slave with link up but outside the active aggregator carries
     * no traffic (partner not negotiating on that port). */
    bool agg_short = lacp && ((b->agg_known && b->agg_ports < b->up) || b->no_agg);
    bool degraded = mii_up != 1 || b->up < b->total || agg_short;
    set(it, "subject", jfield(b->name));
    set(it, "bond", jfield(b->name));
    set(it, "mode", jfield_or_null(b->mode));
    set(it, "mode_name", mshort ? json_string(mshort) : json_null());
    set(it, "fail_over_mac", jfield_or_null(b->fail_over_mac));
    set(it, "mii_status", jfield_or_null(b->mii));
    set(it, "active_slave",
        b->active.n && !nm_span_eq(b->active, "None") ? jfield(b->active) : json_null());
    set(it, "primary_slave",
        b->primary.n && !nm_span_eq(b->primary, "None") ? jfield(b->primary) : json_null());
    set(it, "hash_policy", jfield_or_null(b->hash));
    set(it, "miimon_ms", b->miimon >= 0 ? json_integer(b->miimon) : json_null());
    set(it, "arp_interval_ms", b->arp_interval >= 0 ? json_integer(b->arp_interval) : json_null());
    set(it, "monitoring",
        b->miimon < 0 && b->arp_interval < 0 ? json_null()
                                             : json_boolean(b->miimon > 0 || b->arp_interval > 0));
    set(it, "slaves", b->slaves);
    b->slaves = NULL;
    set(it, "slaves_total", jint(b->total));
    set(it, "slaves_up", jint(b->up));
    set(it, "slaves_down", b->down);
    b->down = NULL;
    set(it, "link_failures", jint(b->failures));
    set(it, "aggregator_ports",
        lacp && b->no_agg      ? jint(0)
        : lacp && b->agg_known ? jint(b->agg_ports)
                               : json_null());
    set(it, "degraded", json_boolean(degraded));
    set(it, "single_slave", json_boolean(b->total == 1));
    set(it, "evidence", nm_evidence_json(&b->ev));
    nm_buf_finish(&b->ev);
    return it;
}

int nm_parse_bonding(const char *data, size_t len, const json_t *options, json_t **ret_items,
                     nm_diag *d)
{
    (void)options;
    const char *cur, *end;
    section_bounds(data, len, &cur, &end);
    json_t *items = json_array();
    struct bond b;
    bool open = false, full = false;
    struct nm_span line, name, first_unknown = {0};
    int r = 0;
    char q[160];

    while (!full && nm_span_next_line(&cur, end, &line)) {
        if (section_header(line, &name) && nm_span_has_prefix(name, "bond ")) {
            if (open) {
                if (!b.has_mode)
                    goto no_mode;
                full = !nm_push_item(items, bond_item(&b));
                open = false;
            }
            if (!full) {
                bond_begin(&b, nm_span_trim(nm_span_after(name, 5)));
                open = true;
            }
            continue;
        }
        if (open)
            bond_line(&b, line);
        else if (!nm_span_is_blank(line) && !first_unknown.p)
            first_unknown = line;
    }
    if (open) {
        if (!b.has_mode)
            goto no_mode;
        nm_push_item(items, bond_item(&b));
    }
    if (json_array_size(items) == 0 && first_unknown.p) {
        nm_span_quote(first_unknown, QUOTE_MAX, q, sizeof q);
        json_decref(items);
        return nm_diag_set(d, NM_ERR_PARSE,
                           "bonding: no \"--- bond NAME ---\" section, output begins: %s", q);
    }
    *ret_items = items;
    return 0;

no_mode:
    /* An unreadable or foreign file would otherwise read as a bond with no
     * slaves; better an error the report shows than a guess. */
    nm_span_quote(b.name, QUOTE_MAX, q, sizeof q);
    r = nm_diag_set(d, NM_ERR_PARSE,
                    "bonding: bond %s: no \"Bonding Mode:\" line (not a bonding status file?)", q);
    bond_discard(&b);
    json_decref(items);
    return r;
}

/* ======================================================================== */
/* resolv_conf                                                               */
/* ======================================================================== */

/*
 * /etc/resolv.conf read the way glibc's res_init reads it: a keyword at the
 * start of the line followed by a blank; comments start with # or ; in
 * column one; "nameserver" takes the first word and ignores the rest; an
 * address inet_pton() refuses is skipped; only the first MAXNS (3) valid
 * servers are ever queried; the last "search"/"domain" line wins.
 *
 * Then, optionally, what systemd-resolved really forwards to:
 *   --- resolvectl ---     `resolvectl dns`: "Global: a b", "Link 2 (eth0): c",
 *                          wrapped continuation lines indented
 *   --- resolved ---       /run/systemd/resolve/resolv.conf
 */

#define GLIBC_MAXNS   3
#define RV_TOKENS_MAX 4096

struct rconf {
    json_t *ns;       /* valid nameserver addresses, in order (capped) */
    uint64_t count;   /* all valid nameserver lines */
    uint64_t invalid; /* nameserver lines glibc would skip */
    json_t *search;
    json_t *options;
    uint64_t unknown;
};

static void rconf_init(struct rconf *c)
{
    memset(c, 0, sizeof *c);
    c->ns = json_array();
    c->search = json_array();
    c->options = json_array();
}

static void rconf_finish(struct rconf *c)
{
    json_decref(c->ns);
    json_decref(c->search);
    json_decref(c->options);
}

/* glibc's MATCH(): keyword at column one followed by a blank. */
static bool kw(struct nm_span line, const char *k, struct nm_span *rest)
{
    size_t l = strlen(k);
    if (line.n <= l || memcmp(line.p, k, l) != 0 || !nm_is_blank(line.p[l]))
        return false;
    *rest = nm_span_after(line, l);
    return true;
}

/* An address glibc would accept: IPv4, or IPv6 with an optional %zone. */
static bool valid_addr(struct nm_span a)
{
    char buf[64];
    unsigned char bin[16];
    if (a.n == 0 || a.n >= sizeof buf || memchr(a.p, '\0', a.n))
        return false;
    memcpy(buf, a.p, a.n);
    buf[a.n] = '\0';
    if (inet_pton(AF_INET, buf, bin) == 1)
        return true;
    char *zone = memchr(buf, '%', a.n);
    if (zone) {
        if (zone[1] == '\0')
            return false;
        *zone = '\0';
    }
    return inet_pton(AF_INET6, buf, bin) == 1;
}

static bool is_loopback(struct nm_span a)
{
    return nm_span_has_prefix(a, "127.") || nm_span_eq(a, "::1") || nm_span_has_prefix(a, "::1%") ||
           nm_span_eq(a, "0:0:0:0:0:0:0:1");
}

/* systemd-resolved's stub listeners */
static bool is_resolved_stub(struct nm_span a)
{
    return nm_span_eq(a, "127.0.0.53") || nm_span_eq(a, "127.0.0.54");
}

static void rconf_line(struct rconf *c, struct nm_span line, struct nm_buf *ev)
{
    struct nm_span rest, tok;
    if (nm_span_is_blank(line) || line.p[0] == '#' || line.p[0] == ';')
        return;
    if (kw(line, "nameserver", &rest)) {
        nm_evidence_add(ev, line);
        if (nm_span_next_tok(&rest, &tok) && valid_addr(tok)) {
            c->count++;
            push_str(c->ns, tok);
        } else {
            c->invalid++;
        }
    } else if (kw(line, "search", &rest) || kw(line, "domain", &rest)) {
        json_array_clear(c->search);
        while (nm_span_next_tok(&rest, &tok))
            push_str(c->search, tok);
    } else if (kw(line, "options", &rest)) {
        while (nm_span_next_tok(&rest, &tok))
            push_str(c->options, tok);
    } else if (kw(line, "sortlist", &rest) || kw(line, "lookup", &rest) ||
               kw(line, "family", &rest)) {
        /* understood by some libcs, irrelevant here */
    } else {
        c->unknown++;
    }
}

/* "1.1.1.1#dns.example", "[2606:4700::1111]:853#name", "10.0.0.1:5353" ->
 * the host address alone: two ports of one host are one failure domain. */
static struct nm_span server_host(struct nm_span s)
{
    const char *hash = memchr(s.p, '#', s.n);
    if (hash)
        s.n = (size_t)(hash - s.p);
    if (s.n > 2 && s.p[0] == '[') {
        const char *rb = memchr(s.p, ']', s.n);
        if (rb)
            return (struct nm_span){s.p + 1, (size_t)(rb - s.p - 1)};
    }
    const char *colon = memchr(s.p, ':', s.n);
    if (colon && !memchr(colon + 1, ':', (size_t)(s.p + s.n - colon - 1)) &&
        memchr(s.p, '.', (size_t)(colon - s.p)))
        s.n = (size_t)(colon - s.p); /* IPv4:port */
    return s;
}

static bool json_array_has(const json_t *arr, const json_t *s)
{
    size_t i;
    json_t *v;
    json_array_foreach (arr, i, v)
        if (json_equal(v, s))
            return true;
    return false;
}

/* Adds to a capped list of distinct strings. */
static void add_distinct(json_t *arr, struct nm_span s)
{
    if (json_array_size(arr) >= LIST_MAX)
        return;
    json_t *j = jfield(s);
    if (json_array_size(arr) < LIST_MAX && !json_array_has(arr, j))
        json_array_append(arr, j);
    json_decref(j);
}

int nm_parse_resolv_conf(const char *data, size_t len, const json_t *options, json_t **ret_items,
                         nm_diag *d)
{
    (void)options;
    (void)d;
    const char *cur, *end;
    section_bounds(data, len, &cur, &end);
    enum { SEC_LOCAL, SEC_RESOLVECTL, SEC_RESOLVED, SEC_OTHER } sec = SEC_LOCAL;
    struct rconf local, resolved;
    json_t *rv = json_array(); /* servers named by resolvectl */
    bool rv_seen = false, resolved_seen = false, in_rv_entry = false;
    size_t rv_tokens = 0;
    struct nm_buf ev;
    struct nm_span line, name;

    rconf_init(&local);
    rconf_init(&resolved);
    nm_buf_init(&ev, NM_PARSER_MAX_EVIDENCE);
    while (nm_span_next_line(&cur, end, &line)) {
        if (section_header(line, &name)) {
            sec = nm_span_eq(name, "resolvectl")    ? SEC_RESOLVECTL
                  : nm_span_eq(name, "resolved")    ? SEC_RESOLVED
                  : nm_span_eq(name, "resolv.conf") ? SEC_LOCAL
                                                    : SEC_OTHER;
            resolved_seen = resolved_seen || sec == SEC_RESOLVED;
            in_rv_entry = false;
            if (sec == SEC_RESOLVECTL || sec == SEC_RESOLVED)
                nm_evidence_add(&ev, line); /* so evidence says which file a line is from */
            continue;
        }
        if (sec == SEC_LOCAL) {
            rconf_line(&local, line, &ev);
        } else if (sec == SEC_RESOLVED) {
            rconf_line(&resolved, line, &ev);
        } else if (sec == SEC_RESOLVECTL) {
            struct nm_span t = nm_span_trim(line), rest = {0}, tok;
            if (nm_span_has_prefix(t, "Global:")) {
                rest = nm_span_after(t, 7);
                in_rv_entry = true;
            } else if (nm_span_has_prefix(t, "Link ") && memmem(t.p, t.n, "):", 2)) {
                const char *c = memmem(t.p, t.n, "):", 2);
                rest = nm_span_after(t, (size_t)(c - t.p) + 2);
                in_rv_entry = true;
            } else if (in_rv_entry && line.n && nm_is_blank(line.p[0]) && t.n) {
                rest = t; /* wrapped continuation */
            } else {
                in_rv_entry = false;
                continue;
            }
            rv_seen = true;
            nm_evidence_add(&ev, line);
            /* bounded: a hostile list cannot make the distinct-check quadratic */
            while (rv_tokens < RV_TOKENS_MAX && nm_span_next_tok(&rest, &tok)) {
                rv_tokens++;
                struct nm_span h = server_host(tok);
                if (valid_addr(h))
                    add_distinct(rv, h);
            }
        }
    }

    /* What glibc queries: the first MAXNS valid servers. */
    size_t used = json_array_size(local.ns) < GLIBC_MAXNS ? json_array_size(local.ns) : GLIBC_MAXNS;
    json_t *upstream = json_array();
    size_t n_local = 0;
    bool resolved_stub = false;
    for (size_t i = 0; i < used; i++) {
        const char *s = json_string_value(json_array_get(local.ns, i));
        struct nm_span a = {s, strlen(s)};
        if (is_loopback(a)) {
            n_local++;
            resolved_stub = resolved_stub || is_resolved_stub(a);
        } else {
            add_distinct(upstream, a);
        }
    }
    size_t direct = json_array_size(upstream);
    /* Behind resolved's stub, the servers that matter are resolved's own. */
    bool known = n_local == 0;
    if (resolved_stub && (rv_seen || resolved_seen)) {
        size_t i;
        json_t *v;
        json_array_foreach (rv, i, v)
            add_distinct(upstream,
                         (struct nm_span){json_string_value(v), strlen(json_string_value(v))});
        size_t rn = json_array_size(resolved.ns);
        for (i = 0; i < rn; i++) {
            const char *s = json_string_value(json_array_get(resolved.ns, i));
            struct nm_span a = {s, strlen(s)};
            if (!is_loopback(a))
                add_distinct(upstream, a);
        }
        known = true;
    }
    size_t up_n = json_array_size(upstream);
    int single;
    if (used == 0)
        single = 1; /* nothing configured: glibc falls back to 127.0.0.1 alone */
    else if (known)
        single = up_n <= 1;
    else
        single = direct >= 2 ? 0 : -1; /* a local resolver whose upstreams we cannot see */

    json_t *it = json_object();
    set(it, "subject", json_string("name resolution"));
    set(it, "nameservers", local.ns);
    local.ns = NULL;
    set(it, "count", jint(local.count));
    set(it, "used_count", jint(used));
    set(it, "invalid_nameservers", jint(local.invalid));
    set(it, "local_stub", json_boolean(used > 0 && n_local == used));
    set(it, "local_resolver",
        resolved_stub ? json_string("systemd-resolved")
        : n_local     ? json_string("other")
                      : json_null());
    set(it, "upstream", upstream);
    set(it, "upstream_count", jint(up_n));
    set(it, "upstream_known", json_boolean(known || used == 0));
    set(it, "single", jtri(single));
    set(it, "search", local.search);
    local.search = NULL;
    set(it, "options", local.options);
    local.options = NULL;
    set(it, "unknown_lines", jint(local.unknown));
    set(it, "evidence", nm_evidence_json(&ev));

    json_t *items = json_array();
    json_array_append_new(items, it);
    json_decref(rv);
    rconf_finish(&local);
    rconf_finish(&resolved);
    nm_buf_finish(&ev);
    *ret_items = items;
    return 0;
}

/* ======================================================================== */
/* timesync                                                                  */
/* ======================================================================== */

/*
 * Sections, each optional:
 *   --- timedatectl ---        `timedatectl show`: NTP=yes, NTPSynchronized=no ...
 *   --- chronyc-tracking ---   `chronyc -n tracking`: "Leap status     : Normal"
 *   --- chronyc-sources ---    `chronyc -n sources`: "^* 192.0.2.1  2 6 377 ..."
 *   --- ntpq ---               `ntpq -pn`: "*192.0.2.1 .GPS. 1 u 33 64 377 ..."
 *
 * offset_s is the local clock minus true time (positive = local clock
 * ahead): chrony's "System time: X seconds fast" is +X; ntpq's offset column
 * is the peer relative to us in milliseconds, so its sign is flipped.
 */

enum ts_sec { TS_NONE, TS_TDC, TS_TRACK, TS_SOURCES, TS_NTPQ, TS_OTHER };

struct ts {
    int ntp, ntp_sync; /* timedatectl, -1 unknown */
    bool track_seen;
    int leap_sync; /* from Leap status, -1 unknown */
    int ref_sync;  /* from Reference ID, -1 unknown */
    struct nm_span leap, reference;
    bool has_off;
    double off;
    bool has_stratum;
    uint64_t stratum;
    bool src_seen;
    uint64_t src_usable, src_selected;
    bool peers_seen;
    uint64_t peer_usable, peer_selected;
    bool peer_has_off;
    double peer_off;
    bool peer_has_stratum;
    uint64_t peer_stratum;
    struct nm_span peer_ref;
    json_t *sources;
    uint64_t n_sources;
    struct nm_span pending_remote; /* ntpq: a long remote printed on its own line */
    char pending_tally;
    struct nm_buf ev;
};

static int yes_no(struct nm_span v)
{
    return nm_span_eq(v, "yes") ? 1 : nm_span_eq(v, "no") ? 0 : -1;
}

static void ts_tdc(struct ts *t, struct nm_span line)
{
    const char *eq = memchr(line.p, '=', line.n);
    if (!eq)
        return;
    struct nm_span key = {line.p, (size_t)(eq - line.p)}, val = nm_span_after(line, key.n + 1);
    if (nm_span_eq(key, "NTP")) {
        t->ntp = yes_no(val);
        nm_evidence_add(&t->ev, line);
    } else if (nm_span_eq(key, "NTPSynchronized")) {
        t->ntp_sync = yes_no(val);
        nm_evidence_add(&t->ev, line);
    }
}

static void ts_tracking(struct ts *t, struct nm_span line)
{
    struct nm_span key, val, rest, tok;
    if (!split_kv(line, &key, &val))
        return;
    if (nm_span_eq(key, "Reference ID")) {
        /* "7F000001 (127.0.0.1)", "00000000 ()" */
        t->track_seen = true;
        rest = val;
        if (nm_span_next_tok(&rest, &tok))
            t->ref_sync = nm_span_eq(tok, "00000000") ? 0 : 1;
        struct nm_span r = nm_span_trim(rest);
        if (r.n >= 2 && r.p[0] == '(' && r.p[r.n - 1] == ')')
            t->reference = (struct nm_span){r.p + 1, r.n - 2};
        nm_evidence_add(&t->ev, line);
    } else if (nm_span_eq(key, "Stratum")) {
        uint64_t v;
        if (nm_span_to_u64(val, &v) == 0) {
            t->has_stratum = true;
            t->stratum = v;
        }
    } else if (nm_span_eq(key, "System time")) {
        /* "0.000001025 seconds fast of NTP time" */
        struct nm_span toks[4];
        struct dec dv;
        if (nm_span_split(val, toks, 4) >= 3 && sp_dec(toks[0], &dv) && dv.mant >= 0 &&
            (nm_span_eq(toks[2], "fast") || nm_span_eq(toks[2], "slow"))) {
            t->has_off = true;
            t->off = dec_value(dv, 0) * (nm_span_eq(toks[2], "slow") ? -1 : 1);
        }
        nm_evidence_add(&t->ev, line);
    } else if (nm_span_eq(key, "Leap status")) {
        t->track_seen = true;
        t->leap = val;
        t->leap_sync = nm_span_eq(val, "Not synchronised") ? 0
                       : (nm_span_eq(val, "Normal") || nm_span_eq(val, "Insert second") ||
                          nm_span_eq(val, "Delete second"))
                           ? 1
                           : -1;
        nm_evidence_add(&t->ev, line);
    }
}

static void ts_add_source(struct ts *t, struct nm_span addr)
{
    t->n_sources++;
    push_str(t->sources, addr);
}

/* "^* 192.0.2.1   2   6   377    33    +12us[  +15us] +/-   20ms" */
static void ts_chrony_source(struct ts *t, struct nm_span line)
{
    struct nm_span toks[3];
    if (line.n < 3 || !in_set(line.p[0], "^=#") || !in_set(line.p[1], "*+-?x~") ||
        !nm_is_blank(line.p[2]))
        return;
    if (nm_span_split(line, toks, 3) < 3 || toks[0].n != 2)
        return;
    t->src_seen = true;
    ts_add_source(t, toks[1]);
    char st = line.p[1];
    if (st == '*' || st == '+' || st == '-')
        t->src_usable++;
    if (st == '*')
        t->src_selected++;
    nm_evidence_add(&t->ev, line);
}

/*
 * "*192.0.2.1       .GPS.   1 u   33   64  377    0.512    0.013   0.002"
 * Column one is the tally code (blank: rejected).  With -w, a remote wider
 * than its column sits alone on its line and the rest follows, indented.
 */
static void ts_ntpq_peer(struct ts *t, struct nm_span line)
{
    struct nm_span toks[11];
    if (line.n < 2 || !in_set(line.p[0], " x.-+#*o")) {
        t->pending_remote = (struct nm_span){0};
        return;
    }
    char tally = line.p[0];
    struct nm_span rest = nm_span_after(line, 1);
    size_t n = nm_span_split(rest, toks, 11);
    bool at_col1 = !nm_is_blank(rest.p[0]);
    if (n == 1 && at_col1) {
        t->pending_remote = toks[0];
        t->pending_tally = tally;
        return;
    }
    struct nm_span remote, *f;
    if (n == 9 && !at_col1 && t->pending_remote.p) {
        remote = t->pending_remote;
        tally = t->pending_tally;
        f = toks;
    } else if (n == 10 && at_col1) {
        remote = toks[0];
        f = toks + 1;
    } else {
        t->pending_remote = (struct nm_span){0};
        return;
    }
    t->pending_remote = (struct nm_span){0};
    /* f: refid st t when poll reach delay offset jitter */
    uint64_t st;
    struct dec off;
    if (nm_span_to_u64(f[1], &st) < 0 || f[2].n != 1)
        return;
    if (f[2].p[0] == 'p' || nm_span_eq(f[0], ".POOL."))
        return; /* a pool placeholder, not a time source */
    t->peers_seen = true;
    ts_add_source(t, remote);
    if (in_set(tally, "*o+#"))
        t->peer_usable++;
    if (tally == '*' || tally == 'o') {
        t->peer_selected++;
        if (sp_dec(f[7], &off)) {
            t->peer_has_off = true;
            off.mant = -off.mant;
            t->peer_off = dec_value(off, 3);
        }
        t->peer_has_stratum = st < 16;
        t->peer_stratum = st + 1;
        t->peer_ref = remote;
    }
    nm_evidence_add(&t->ev, line);
}

int nm_parse_timesync(const char *data, size_t len, const json_t *options, json_t **ret_items,
                      nm_diag *d)
{
    (void)options;
    const char *cur, *end;
    section_bounds(data, len, &cur, &end);
    struct ts t;
    enum ts_sec sec = TS_NONE;
    bool any_section = false;
    struct nm_span line, name, first_unknown = {0};
    /* A section that says nothing we understand is usually an error message
     * ("506 Cannot talk to daemon"): its first line goes into the evidence. */
    struct nm_span sec_first[TS_OTHER + 1] = {{0}}, sec_hdr[TS_OTHER + 1] = {{0}};
    bool sec_ok[TS_OTHER + 1] = {0};

    memset(&t, 0, sizeof t);
    t.ntp = t.ntp_sync = t.leap_sync = t.ref_sync = -1;
    t.sources = json_array();
    nm_buf_init(&t.ev, NM_PARSER_MAX_EVIDENCE);
    while (nm_span_next_line(&cur, end, &line)) {
        if (section_header(line, &name)) {
            any_section = true;
            sec = nm_span_eq(name, "timedatectl")        ? TS_TDC
                  : nm_span_eq(name, "chronyc-tracking") ? TS_TRACK
                  : nm_span_eq(name, "chronyc-sources")  ? TS_SOURCES
                  : nm_span_eq(name, "ntpq")             ? TS_NTPQ
                                                         : TS_OTHER;
            sec_hdr[sec] = line;
            continue;
        }
        if (sec != TS_NONE && !nm_span_is_blank(line) && !sec_first[sec].p)
            sec_first[sec] = line;
        switch (sec) {
        case TS_TDC:
            ts_tdc(&t, line);
            sec_ok[sec] = sec_ok[sec] || memchr(line.p, '=', line.n);
            break;
        case TS_TRACK:
            ts_tracking(&t, line);
            break;
        case TS_SOURCES:
            ts_chrony_source(&t, line);
            break;
        case TS_NTPQ:
            ts_ntpq_peer(&t, line);
            break;
        case TS_NONE:
            if (!nm_span_is_blank(line) && !first_unknown.p)
                first_unknown = line;
            break;
        case TS_OTHER:
            break;
        }
    }
    if (!any_section && first_unknown.p) {
        char q[160];
        nm_span_quote(first_unknown, QUOTE_MAX, q, sizeof q);
        json_decref(t.sources);
        nm_buf_finish(&t.ev);
        return nm_diag_set(d, NM_ERR_PARSE,
                           "timesync: no \"--- timedatectl/chronyc-tracking/chronyc-sources/ntpq "
                           "---\" section, output begins: %s",
                           q);
    }

    sec_ok[TS_TRACK] = t.track_seen;
    sec_ok[TS_SOURCES] = t.src_seen;
    sec_ok[TS_NTPQ] = t.peers_seen;
    for (int i = TS_TDC; i <= TS_NTPQ; i++)
        if (!sec_ok[i] && sec_first[i].p) {
            nm_evidence_add(&t.ev, sec_hdr[i]);
            nm_evidence_add(&t.ev, sec_first[i]);
        }

    const char *daemon = "none";
    int sync = -1;
    json_t *usable = json_null(), *offset = json_null(), *stratum = json_null();
    double off = 0;
    bool has_off = false;
    struct nm_span reference = {0};
    if (t.track_seen || t.src_seen) {
        daemon = "chrony";
        sync = t.leap_sync >= 0  ? t.leap_sync
               : t.ref_sync >= 0 ? t.ref_sync
               : t.src_seen      ? t.src_selected > 0
                                 : -1;
        if (t.src_seen)
            usable = jint(t.src_usable);
        if (t.has_off) {
            has_off = true;
            off = t.off;
        }
        if (t.has_stratum)
            stratum = jint(t.stratum);
        reference = t.reference;
    } else if (t.peers_seen) {
        daemon = "ntpd";
        sync = t.peer_selected > 0;
        usable = jint(t.peer_usable);
        if (t.peer_has_off) {
            has_off = true;
            off = t.peer_off;
        }
        if (t.peer_has_stratum)
            stratum = jint(t.peer_stratum);
        reference = t.peer_ref;
    } else if (t.ntp == 1) {
        daemon = "systemd-timesyncd";
    }
    if (sync < 0)
        sync = t.ntp_sync;
    if (has_off)
        offset = json_real(off);

    json_t *it = json_object();
    set(it, "subject", json_string("clock"));
    set(it, "synchronized", jtri(sync));
    set(it, "daemon", json_string(daemon));
    set(it, "ntp_enabled", jtri(t.ntp));
    set(it, "sources", t.sources);
    t.sources = NULL;
    set(it, "sources_count", jint(t.n_sources));
    set(it, "usable_sources", usable);
    set(it, "single_source",
        json_is_integer(usable) ? json_boolean(json_integer_value(usable) == 1) : json_null());
    set(it, "reference", jfield_or_null(reference));
    set(it, "offset_s", offset);
    set(it, "offset_abs_s", has_off ? json_real(off < 0 ? -off : off) : json_null());
    set(it, "stratum", stratum);
    set(it, "leap", strcmp(daemon, "chrony") == 0 ? jfield_or_null(t.leap) : json_null());
    set(it, "evidence", nm_evidence_json(&t.ev));
    nm_buf_finish(&t.ev);

    json_t *items = json_array();
    json_array_append_new(items, it);
    *ret_items = items;
    return 0;
}

/* ======================================================================== */
/* ipmi_psu                                                                  */
/* ======================================================================== */

/*
 * `ipmitool sdr type "Power Supply"` (ipmi_sdr.c, extended list format):
 *   PS1 Status       | C8h | ok  | 10.1 | Presence detected
 *   PS2 Status       | C9h | ok  | 10.2 | Presence detected, Failure detected
 *   PS Redundancy    | 74h | ok  |  7.1 | Fully Redundant
 * name | sensor number | status | entity id.instance | asserted states joined
 * by ", " (sensor-specific offsets of type 08h, or generic redundancy states
 * of event type 0Bh) or a threshold reading with its unit.
 */

enum psu_kind { PSU_STATUS, PSU_REDUNDANCY, PSU_READING };

static bool psu_failure_state(struct nm_span c)
{
    return nm_span_has_prefix_nocase(c, "Failure detected") ||
           nm_span_has_prefix_nocase(c, "Predictive failure") ||
           nm_span_has_prefix_nocase(c, "Power Supply AC lost") ||
           nm_span_has_prefix_nocase(c, "AC lost or out-of-range") ||
           nm_span_has_prefix_nocase(c, "AC out-of-range") ||
           nm_span_has_prefix_nocase(c, "Config Error") ||
           nm_span_has_prefix_nocase(c, "Power Supply Failure");
}

/* 0 none, 1 full, 2 degraded, 3 lost */
static int redundancy_state(struct nm_span c)
{
    if (nm_span_has_prefix_nocase(c, "Fully Redundant"))
        return 1;
    if (nm_span_has_prefix_nocase(c, "Redundancy Degraded"))
        return 2;
    if (nm_span_has_prefix_nocase(c, "Redundancy Lost") ||
        nm_span_has_prefix_nocase(c, "Non-Redundant"))
        return 3;
    return 0;
}

static const char *redundancy_name(int r)
{
    return r == 1 ? "full" : r == 2 ? "degraded" : r == 3 ? "lost" : NULL;
}

struct psu_row {
    struct nm_span line, name, status, entity, reading;
};

/* "a | b | c | d | e" -> 5 trimmed fields */
static bool psu_split(struct nm_span line, struct psu_row *row)
{
    struct nm_span f[5];
    size_t n = 0;
    const char *p = line.p, *end = line.p + line.n;
    while (n < 5) {
        const char *bar = n < 4 ? memchr(p, '|', (size_t)(end - p)) : NULL;
        const char *e = bar ? bar : end;
        if (n < 4 && !bar)
            return false;
        f[n++] = nm_span_trim((struct nm_span){p, (size_t)(e - p)});
        p = bar ? bar + 1 : end;
    }
    if (memchr(f[4].p, '|', f[4].n) || f[0].n == 0)
        return false;
    /* status: ok ns nc cr nr lnc unc lcr ucr lnr unr */
    if (f[2].n == 0 || f[2].n > 3)
        return false;
    for (size_t i = 0; i < f[2].n; i++)
        if (f[2].p[i] < 'a' || f[2].p[i] > 'z')
            return false;
    row->line = line;
    row->name = f[0];
    row->status = f[2];
    row->entity = f[3];
    row->reading = f[4];
    return true;
}

/* Splits the asserted states at ", ", keeping "AC out-of-range, but present" whole. */
static json_t *psu_conditions(struct nm_span reading, bool *present, bool *failed, int *redundancy)
{
    json_t *arr = json_array();
    const char *p = reading.p, *end = reading.p + reading.n;
    while (p < end) {
        const char *c = memmem(p, (size_t)(end - p), ", ", 2);
        while (c && nm_span_has_prefix((struct nm_span){c, (size_t)(end - c)}, ", but present"))
            c = memmem(c + 2, (size_t)(end - c - 2), ", ", 2);
        const char *e = c ? c : end;
        struct nm_span s = nm_span_trim((struct nm_span){p, (size_t)(e - p)});
        if (s.n) {
            if (json_array_size(arr) < FLAGS_MAX * 2)
                json_array_append_new(arr, jfield(s));
            if (nm_span_has_prefix_nocase(s, "Presence detected"))
                *present = true;
            if (psu_failure_state(s))
                *failed = true;
            int r = redundancy_state(s);
            if (r > *redundancy)
                *redundancy = r;
        }
        p = c ? c + 2 : end;
    }
    return arr;
}

static bool status_bad(struct nm_span st)
{
    return nm_span_eq(st, "cr") || nm_span_eq(st, "nr") || nm_span_eq(st, "lcr") ||
           nm_span_eq(st, "ucr") || nm_span_eq(st, "lnr") || nm_span_eq(st, "unr");
}

static bool no_reading(const struct psu_row *r)
{
    return nm_span_eq(r->status, "ns") || nm_span_eq(r->reading, "No Reading") ||
           nm_span_eq(r->reading, "Disabled");
}

int nm_parse_ipmi_psu(const char *data, size_t len, const json_t *options, json_t **ret_items,
                      nm_diag *d)
{
    (void)options;
    const char *cur, *end;
    section_bounds(data, len, &cur, &end);
    struct nm_span line, first_unknown = {0};
    json_t *names = json_object(); /* sensor name -> occurrences */
    size_t rows = 0;

    /* Pass 1: errors, and how often each name occurs (Dell names every PSU
     * sensor "Status"; such subjects get the entity instance appended). */
    while (nm_span_next_line(&cur, end, &line)) {
        struct psu_row r;
        if (nm_span_find(line, "Could not open device at /dev/ipmi")) {
            char q[160];
            nm_span_quote(nm_span_trim(line), QUOTE_MAX, q, sizeof q);
            json_decref(names);
            return nm_diag_set(d, NM_ERR_NOTFOUND,
                               "ipmi_psu: no IPMI (no BMC device on this host): %s", q);
        }
        if (psu_split(line, &r)) {
            json_t *k = jfield(r.name);
            const char *ks = json_string_value(k);
            if (ks) {
                json_t *c = json_object_get(names, ks);
                json_object_set_new(names, ks, json_integer(c ? json_integer_value(c) + 1 : 1));
            }
            json_decref(k);
            rows++;
        } else if (!nm_span_is_blank(line) && !first_unknown.p) {
            first_unknown = line;
        }
    }
    if (rows == 0 && first_unknown.p) {
        char q[160];
        nm_span_quote(nm_span_trim(first_unknown), QUOTE_MAX, q, sizeof q);
        json_decref(names);
        return nm_diag_set(d, NM_ERR_PARSE,
                           "ipmi_psu: no sensor rows in the output, which begins: %s", q);
    }

    json_t *items = json_array();
    uint64_t psu_count = 0, psu_present = 0, psu_ok = 0, psu_failed = 0;
    int redundancy = 0;
    bool full = false;
    struct nm_buf sum_ev;
    nm_buf_init(&sum_ev, NM_PARSER_MAX_EVIDENCE);
    cur = data;
    while (!full && nm_span_next_line(&cur, end, &line)) {
        struct psu_row r;
        if (!psu_split(line, &r))
            continue;
        bool present = false, failed = false;
        int red = 0;
        json_t *conds = psu_conditions(r.reading, &present, &failed, &red);
        enum psu_kind kind = PSU_STATUS;
        if (red || nm_span_find_nocase(r.name, "redundan"))
            kind = PSU_REDUNDANCY;
        else if (r.reading.n &&
                 (nm_is_digit(r.reading.p[0]) ||
                  (r.reading.n > 1 && r.reading.p[0] == '-' && nm_is_digit(r.reading.p[1]))))
            kind = PSU_READING;
        failed = failed || status_bad(r.status);

        json_t *it = json_object();
        json_t *k = jfield(r.name);
        json_t *c = json_string_value(k) ? json_object_get(names, json_string_value(k)) : NULL;
        if (c && json_integer_value(c) > 1 && r.entity.n) {
            struct nm_buf s;
            nm_buf_init(&s, FIELD_MAX + 32);
            nm_buf_appends(&s, json_string_value(k));
            nm_buf_appends(&s, " [");
            nm_buf_append(&s, r.entity.p, r.entity.n < 16 ? r.entity.n : 16);
            nm_buf_appends(&s, "]");
            set(it, "subject", nm_span_json((struct nm_span){s.data, s.len}, FIELD_MAX + 32));
            nm_buf_finish(&s);
        } else {
            set(it, "subject", json_incref(k));
        }
        set(it, "sensor", k);
        set(it, "kind",
            json_string(kind == PSU_STATUS       ? "psu"
                        : kind == PSU_REDUNDANCY ? "redundancy"
                                                 : "reading"));
        set(it, "status", jfield(r.status));
        set(it, "entity", jfield_or_null(r.entity));
        set(it, "conditions", conds);
        nm_evidence_add(&sum_ev, line);
        if (kind == PSU_STATUS) {
            /* No asserted state at all on a readable PSU sensor: slot empty. */
            int pres = present ? 1 : no_reading(&r) ? -1 : r.reading.n == 0 ? 0 : -1;
            set(it, "present", jtri(pres));
            set(it, "failed", json_boolean(failed));
            psu_count++;
            psu_present += pres == 1;
            psu_ok += pres == 1 && !failed;
            psu_failed += failed;
        } else if (kind == PSU_REDUNDANCY) {
            const char *rn = redundancy_name(red);
            set(it, "redundancy", rn ? json_string(rn) : json_null());
            /* the redundancy state is in "redundancy"; "failed" is the sensor's own status */
            set(it, "failed", json_boolean(status_bad(r.status)));
            if (red > redundancy)
                redundancy = red;
        } else {
            set(it, "reading", jfield(r.reading));
            set(it, "failed", json_boolean(failed));
        }
        set(it, "evidence", nm_span_evidence(line));
        /* leave room for the summary item */
        if (json_array_size(items) + 1 >= NM_PARSER_MAX_ITEMS) {
            json_decref(it);
            full = true;
        } else {
            json_array_append_new(items, it);
        }
    }
    if (rows > 0) {
        json_t *s = json_object();
        const char *rn = redundancy_name(redundancy);
        set(s, "subject", json_string("power supplies"));
        set(s, "kind", json_string("summary"));
        set(s, "psu_count", jint(psu_count));
        set(s, "psu_present", jint(psu_present));
        set(s, "psu_ok", jint(psu_ok));
        set(s, "psu_failed", jint(psu_failed));
        set(s, "redundancy", rn ? json_string(rn) : json_null());
        set(s, "single_psu", json_boolean(psu_present == 1));
        set(s, "degraded", json_boolean(psu_failed > 0 || redundancy >= 2));
        set(s, "evidence", nm_evidence_json(&sum_ev));
        json_array_append_new(items, s);
    }
    nm_buf_finish(&sum_ev);
    json_decref(names);
    *ret_items = items;
    return 0;
}

/* ======================================================================== */
/* zpool                                                                     */
/* ======================================================================== */

/*
 * `zpool status -x` (OpenZFS cmd/zpool/zpool_main.c status_callback):
 *     pool: tank
 *    state: DEGRADED
 *   status: One or more devices could not be opened.  Sufficient replicas ...
 *   \t<continuation>
 *   action: ...
 *      see: https://openzfs.github.io/openzfs-docs/msg/ZFS-8000-2Q
 *     scan: resilver in progress since ...
 *   config:
 *
 *   \tNAME        STATE     READ WRITE CKSUM
 *   \ttank        DEGRADED     0     0     0
 *   \t  mirror-0  DEGRADED     0     0     0
 *   \t    sdb     UNAVAIL      0     0     0  cannot open
 *
 *   errors: No known data errors
 * or "all pools are healthy" / "no pools available"; and then, optionally,
 * `zpool list -H -o name,health` lines ("tank\tONLINE") so healthy pools are
 * described too.
 */

struct pool {
    json_t *name; /* sanitised, owned */
    struct nm_span state;
    struct nm_buf status, action; /* joined with their continuation lines */
    struct nm_span errors, scan;
    json_t *bad, *errdev;
    json_t *bad_states; /* "sdb UNAVAIL", flat, for messages */
    uint64_t n_bad;
    struct nm_buf ev;
};

static bool pool_state_word(struct nm_span s)
{
    static const char *const states[] = {"ONLINE",  "DEGRADED", "FAULTED",   "OFFLINE",
                                         "REMOVED", "UNAVAIL",  "SUSPENDED", NULL};
    for (size_t i = 0; states[i]; i++)
        if (nm_span_eq(s, states[i]))
            return true;
    return false;
}

static json_t *pool_item(struct pool *p)
{
    json_t *it = json_object();
    bool healthy = nm_span_eq(p->state, "ONLINE");
    bool data_errors = p->errors.n && !nm_span_eq(p->errors, "No known data errors");
    set(it, "subject", json_incref(p->name));
    set(it, "pool", p->name);
    p->name = NULL;
    set(it, "state", jfield_or_null(p->state));
    set(it, "healthy", json_boolean(healthy));
    set(it, "status",
        p->status.len ? nm_span_json((struct nm_span){p->status.data, p->status.len}, TEXT_MAX)
                      : json_null());
    set(it, "action",
        p->action.len ? nm_span_json((struct nm_span){p->action.data, p->action.len}, TEXT_MAX)
                      : json_null());
    set(it, "bad_devices", p->bad ? p->bad : json_array());
    p->bad = NULL;
    set(it, "bad_devices_count", jint(p->n_bad));
    set(it, "bad_device_states", p->bad_states ? p->bad_states : json_array());
    p->bad_states = NULL;
    set(it, "error_devices", p->errdev ? p->errdev : json_array());
    p->errdev = NULL;
    set(it, "errors", p->errors.n ? nm_span_json(p->errors, TEXT_MAX) : json_null());
    set(it, "data_errors", json_boolean(data_errors));
    set(it, "scan", p->scan.n ? nm_span_json(p->scan, TEXT_MAX) : json_null());
    set(it, "resilvering", json_boolean(nm_span_has_prefix(p->scan, "resilver in progress")));
    set(it, "evidence", nm_evidence_json(&p->ev));
    nm_buf_finish(&p->ev);
    nm_buf_finish(&p->status);
    nm_buf_finish(&p->action);
    return it;
}

static void pool_free(struct pool *p)
{
    json_decref(p->name);
    json_decref(p->bad);
    json_decref(p->errdev);
    json_decref(p->bad_states);
    nm_buf_finish(&p->ev);
    nm_buf_finish(&p->status);
    nm_buf_finish(&p->action);
}

/* One device row of the config table: "\t    sdb  UNAVAIL  0 0 0  cannot open" */
static void pool_device(struct pool *p, struct nm_span line, struct nm_span section,
                        bool *root_seen)
{
    struct nm_span rest = nm_span_after(line, 1), name, state, r = {0}, w = {0}, c = {0};
    if (!nm_span_next_tok(&rest, &name) || !nm_span_next_tok(&rest, &state))
        return;
    if (!pool_state_word(state) && !nm_span_eq(state, "AVAIL") && !nm_span_eq(state, "INUSE"))
        return;
    struct nm_span after = rest;
    if (nm_span_next_tok(&after, &r) && nm_span_next_tok(&after, &w) &&
        nm_span_next_tok(&after, &c))
        rest = after;
    else
        r = w = c = (struct nm_span){0};
    struct nm_span note = nm_span_trim(rest);
    if (section.n == 0 && !*root_seen) {
        *root_seen = true; /* the pool's own row */
        return;
    }
    bool bad =
        !nm_span_eq(state, "ONLINE") && !nm_span_eq(state, "AVAIL") && !nm_span_eq(state, "INUSE");
    if (bad) {
        nm_evidence_add(&p->ev, line);
        p->n_bad++;
        if (json_array_size(p->bad) < LIST_MAX) {
            json_t *o = json_object();
            set(o, "name", jfield(name));
            set(o, "state", jfield(state));
            set(o, "section", section.n ? jfield(section) : json_string("data"));
            set(o, "note", jfield_or_null(note));
            json_array_append_new(p->bad, o);
            struct nm_buf t;
            nm_buf_init(&t, FIELD_MAX);
            nm_buf_append(&t, name.p, name.n);
            nm_buf_append(&t, " ", 1);
            nm_buf_append(&t, state.p, state.n);
            json_array_append_new(p->bad_states,
                                  nm_span_json((struct nm_span){t.data, t.len}, FIELD_MAX));
            nm_buf_finish(&t);
        }
    }
    if (r.n && (!nm_span_eq(r, "0") || !nm_span_eq(w, "0") || !nm_span_eq(c, "0")) &&
        json_array_size(p->errdev) < LIST_MAX) {
        if (!bad)
            nm_evidence_add(&p->ev, line);
        json_t *o = json_object();
        set(o, "name", jfield(name));
        set(o, "read", jfield(r));
        set(o, "write", jfield(w));
        set(o, "cksum", jfield(c));
        json_array_append_new(p->errdev, o);
    }
}

static void pool_open(struct pool *p, struct nm_span name, struct nm_span line)
{
    memset(p, 0, sizeof *p);
    p->name = jfield(name);
    p->bad = json_array();
    p->errdev = json_array();
    p->bad_states = json_array();
    nm_buf_init(&p->ev, NM_PARSER_MAX_EVIDENCE);
    nm_buf_init(&p->status, TEXT_MAX);
    nm_buf_init(&p->action, TEXT_MAX);
    nm_evidence_add(&p->ev, line);
}

/* Closes *p into items (remembering its name in index); false once items are full. */
static bool pool_close(struct pool *p, json_t *items, json_t *index)
{
    const char *k = json_string_value(p->name);
    if (json_array_size(items) >= NM_PARSER_MAX_ITEMS) {
        pool_free(p);
        return false;
    }
    if (k)
        json_object_set_new(index, k, json_integer((json_int_t)json_array_size(items)));
    return nm_push_item(items, pool_item(p));
}

/* A top-level "key: value" line of a status block ("  pool: x", "errors: y"). */
static bool zkey(struct nm_span line, struct nm_span *key, struct nm_span *val)
{
    if (line.n == 0 || line.p[0] == '\t' || !split_kv(nm_span_trim(line), key, val))
        return false;
    if (key->n == 0 || key->n > 12)
        return false;
    for (size_t i = 0; i < key->n; i++) /* "pool", "state", "see", "errors"... */
        if (!(key->p[i] >= 'a' && key->p[i] <= 'z') && key->p[i] != '_')
            return false;
    return true;
}

int nm_parse_zpool(const char *data, size_t len, const json_t *options, json_t **ret_items,
                   nm_diag *d)
{
    (void)options;
    const char *cur, *end;
    section_bounds(data, len, &cur, &end);
    json_t *items = json_array();
    json_t *index = json_object(); /* pool name -> position in items */
    struct pool p;
    bool open = false, known = false, full = false, root_seen = false;
    enum { Z_HEAD, Z_CONFIG, Z_TABLE } zs = Z_HEAD;
    struct nm_span line, name, key, val, last_key = {0}, section = {0}, first_unknown = {0};

    while (!full && nm_span_next_line(&cur, end, &line)) {
        struct nm_span t = nm_span_trim(line);
        bool keyline = zkey(line, &key, &val);
        if (section_header(line, &name)) {
            if (open)
                full = !pool_close(&p, items, index);
            open = false;
            known = true;
            continue;
        }
        if (keyline && nm_span_eq(key, "pool") && val.n) {
            if (open && !pool_close(&p, items, index)) {
                open = false;
                full = true;
                break;
            }
            pool_open(&p, val, line);
            open = known = true;
            zs = Z_HEAD;
            last_key = section = (struct nm_span){0};
            root_seen = false;
            continue;
        }
        if (nm_span_eq(t, "all pools are healthy") || nm_span_eq(t, "no pools available") ||
            nm_span_has_prefix(t, "The ZFS modules are not loaded") ||
            nm_span_has_prefix(t, "Try running '/sbin/modprobe zfs'") ||
            (nm_span_has_prefix(t, "pool '") && nm_span_has_suffix(t, "' is healthy"))) {
            known = true;
            continue;
        }
        /* `zpool list -H -o name,health`: exactly "NAME<TAB>HEALTH" */
        const char *tab = memchr(line.p, '\t', line.n);
        if (tab && tab > line.p && !nm_is_blank(line.p[0]) &&
            !memchr(tab + 1, '\t', (size_t)(line.p + line.n - tab - 1)) &&
            pool_state_word(nm_span_after(line, (size_t)(tab - line.p) + 1))) {
            if (open) {
                open = false;
                if (!pool_close(&p, items, index)) {
                    full = true;
                    break;
                }
            }
            known = true;
            json_t *k = jfield((struct nm_span){line.p, (size_t)(tab - line.p)});
            const char *ks = json_string_value(k);
            if (ks && !json_object_get(index, ks)) {
                struct pool lp;
                memset(&lp, 0, sizeof lp);
                lp.name = json_incref(k);
                lp.state = nm_span_after(line, (size_t)(tab - line.p) + 1);
                nm_buf_init(&lp.ev, NM_PARSER_MAX_EVIDENCE);
                nm_evidence_add(&lp.ev, line);
                full = !pool_close(&lp, items, index);
            }
            json_decref(k);
            continue;
        }
        if (!open) {
            if (t.n && !first_unknown.p)
                first_unknown = line;
            continue;
        }
        if (t.n == 0) {
            if (zs == Z_TABLE)
                zs = Z_HEAD; /* the table ends at its blank line */
            continue;
        }
        if (zs == Z_CONFIG && line.p[0] == '\t' && nm_span_has_prefix(t, "NAME") &&
            nm_span_find(t, "STATE")) {
            zs = Z_TABLE;
            continue;
        }
        if (zs == Z_TABLE && line.p[0] == '\t') {
            struct nm_span toks[2];
            if (nm_span_split(t, toks, 2) == 1)
                section = toks[0]; /* logs, cache, spares, special, dedup */
            else
                pool_device(&p, line, section, &root_seen);
            continue;
        }
        if (keyline) {
            zs = Z_HEAD;
            last_key = key;
            if (nm_span_eq(key, "state"))
                p.state = val;
            else if (nm_span_eq(key, "status"))
                nm_buf_append(&p.status, val.p, val.n);
            else if (nm_span_eq(key, "action"))
                nm_buf_append(&p.action, val.p, val.n);
            else if (nm_span_eq(key, "scan"))
                p.scan = val;
            else if (nm_span_eq(key, "errors"))
                p.errors = val;
            else if (nm_span_eq(key, "config"))
                zs = Z_CONFIG;
            if (nm_span_eq(key, "state") || nm_span_eq(key, "status") || nm_span_eq(key, "scan") ||
                nm_span_eq(key, "errors"))
                nm_evidence_add(&p.ev, line);
            continue;
        }
        /* indented continuation: status/action sentences, scan progress, the
         * files with permanent errors (indented with spaces) */
        if (nm_span_eq(last_key, "status") || nm_span_eq(last_key, "action")) {
            struct nm_buf *b = nm_span_eq(last_key, "status") ? &p.status : &p.action;
            nm_buf_append(b, " ", 1);
            nm_buf_append(b, t.p, t.n);
        } else if (nm_is_blank(line.p[0]) &&
                   (nm_span_eq(last_key, "scan") || nm_span_eq(last_key, "errors"))) {
            nm_evidence_add(&p.ev, line);
        }
    }
    if (open) {
        if (full)
            pool_free(&p);
        else
            pool_close(&p, items, index);
    }
    json_decref(index);
    if (!known && first_unknown.p) {
        char q[160];
        nm_span_quote(nm_span_trim(first_unknown), QUOTE_MAX, q, sizeof q);
        json_decref(items);
        return nm_diag_set(d, NM_ERR_PARSE, "zpool: unrecognised output, which begins: %s", q);
    }
    *ret_items = items;
    return 0;
}
