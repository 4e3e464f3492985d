/*
 * Disk parsers: df (space and inodes per filesystem), mounts (/proc/mounts
 * held against /etc/fstab) and kernel_errors (filesystem, block I/O, OOM and
 * ECC lines of the kernel log, counted per device).  The probes that produce
 * their input, the item fields and the limits are in docs/parsers-disk.md.
 *
 * All input is hostile: every line is walked with a pointer bounded by its
 * end, numbers go through nm_parse_u64, host strings through
 * nm_json_string_sanitized, and no parser keeps more than
 * NM_PARSER_MAX_ITEMS items.  Spans point into the caller's buffer and live
 * only for the call.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "parsers/cursor.h"
#include "nearmiss/utf8.h"
#include "nearmiss/util.h"
#include "parsers/builtin.h"

/* df's percentages are ceil(used * 100 / (used + avail)) over u64 values;
 * 128-bit arithmetic keeps them exact for any size a host may print. */
__extension__ typedef unsigned __int128 nm_u128;

#define MAX_PATH_BYTES  4096                         /* mount points and devices kept per item */
#define MAX_NAME_BYTES  256                          /* fstypes, options, kernel device names */
#define MAX_OPTIONS     256                          /* mount options kept per mount */
#define DF_MAX_TOKENS   64                           /* the df columns must start within these */
#define KMSG_SCAN_BYTES 2048                         /* printk lines are < 1 KiB; look no further */
#define EVIDENCE_RAW    (NM_PARSER_MAX_EVIDENCE * 2) /* raw bytes joined for one item */

/* Splits on blanks into at most max tokens.  Unlike nm_span_split the count
 * never exceeds max: callers walk t[0..n-1] and the EDAC match reads
 * "n == 2" as "at least two tokens". */
static size_t tokenize(struct nm_span line, struct nm_span *toks, size_t max)
{
    size_t n = nm_span_split(line, toks, max);
    return n < max ? n : max;
}

static json_t *json_u64(uint64_t v)
{
    /* jansson integers are signed 64-bit; larger values (> 8 ZiB in KiB)
     * become reals rather than wrapping. */
    return v <= (uint64_t)INT64_MAX ? json_integer((json_int_t)v) : json_real((double)v);
}

/* ------------------------------------------------------------------ */
/* Filesystem classification, shared by df and mounts.                 */

static bool span_in(struct nm_span t, const char *const *list)
{
    for (size_t i = 0; list[i]; i++)
        if (nm_span_eq(t, list[i]))
            return true;
    return false;
}

static const char *const network_exact[] = {
    "cifs",       "smb3",           "smbfs",          "ceph", "glusterfs",
    "fuse.sshfs", "fuse.glusterfs", "fuse.ceph-fuse", NULL,
};

static const char *const pseudo_exact[] = {
    "tmpfs",
    "devtmpfs",
    "overlay",
    "squashfs",
    "proc",
    "sysfs",
    "cifs",
    "smb3",
    "ramfs",
    "efivarfs",
    /* The kernel's other in-memory filesystems, which df -a and
     * /proc/mounts list too. */
    "devpts",
    "autofs",
    "mqueue",
    "debugfs",
    "tracefs",
    "securityfs",
    "pstore",
    "bpf",
    "configfs",
    "fusectl",
    "hugetlbfs",
    "binfmt_misc",
    "rpc_pipefs",
    "nsfs",
    "selinuxfs",
    NULL,
};

static bool fstype_is_network(struct nm_span t)
{
    return nm_span_has_prefix(t, "nfs") || span_in(t, network_exact);
}

static bool fstype_is_pseudo(struct nm_span t)
{
    return span_in(t, pseudo_exact) || nm_span_has_prefix(t, "cgroup") ||
           nm_span_has_prefix(t, "nfs") || nm_span_has_prefix(t, "fuse.");
}

/* Without a type column (df -Pk on old or busybox df) only the device name
 * is there: these are the names pseudo filesystems are mounted from, and
 * "host:/path" or "//host/share" are network mounts. */
static const char *const pseudo_devices[] = {
    "tmpfs", "devtmpfs", "udev",    "shm",   "overlay",  "none", "proc",
    "sysfs", "cgroup",   "cgroup2", "ramfs", "efivarfs", "run",  NULL,
};

static bool device_looks_network(struct nm_span dev)
{
    if (nm_span_has_prefix(dev, "//"))
        return true;
    return dev.n > 0 && dev.p[0] != '/' && nm_span_find(dev, ":/") != NULL;
}

static void classify(struct nm_span fstype, struct nm_span device, bool *pseudo, bool *network)
{
    if (fstype.n > 0) {
        *network = fstype_is_network(fstype);
        *pseudo = fstype_is_pseudo(fstype);
    } else {
        *network = device_looks_network(device);
        *pseudo = *network || span_in(device, pseudo_devices);
    }
}

/* ------------------------------------------------------------------ */
/* df                                                                  */

struct df_num {
    bool known; /* false for "-" */
    bool neg;   /* GNU df prints a negative Available when root's reserve is in use */
    uint64_t v;
};

struct df_row {
    struct nm_span device, fstype, mount;
    struct nm_span line1, line2; /* line2: second half of a wrapped row */
    struct df_num n[3];          /* size/used/avail, or inodes/iused/ifree */
};

struct df_fs {
    struct df_row space, inode;
    bool has_space, has_inode;
};

static bool df_num(struct nm_span t, struct df_num *out)
{
    out->known = out->neg = false;
    out->v = 0;
    if (nm_span_eq(t, "-"))
        return true;
    if (t.n > 0 && t.p[0] == '-') {
        out->neg = true;
        t = nm_span_after(t, 1);
    }
    if (nm_span_to_u64(t, &out->v) < 0)
        return false;
    out->known = true;
    return true;
}

static bool df_is_pct(struct nm_span t)
{
    if (nm_span_eq(t, "-"))
        return true;
    uint64_t v;
    return nm_span_has_suffix(t, "%") && nm_span_to_u64((struct nm_span){t.p, t.n - 1}, &v) == 0;
}

/*
 * A row is: device [type] n n n pct mount.  The columns are found from the
 * left as the first run "n n n pct" (so a device name with spaces still
 * parses), and the mount point is everything after the pct column, spaces
 * included.  pending is the device of a wrapped row (old and busybox df put
 * a long device name alone on a line and the columns on the next).
 */
static bool df_parse_row(struct nm_span line, bool has_type, const struct nm_span *pending,
                         struct df_row *row)
{
    struct nm_span t[DF_MAX_TOKENS];
    size_t n = tokenize(line, t, DF_MAX_TOKENS);
    bool cont = pending && line.n > 0 && nm_is_blank(line.p[0]);
    size_t ntype = has_type ? 1 : 0;
    size_t min_i = ntype + (cont ? 0 : 1);
    for (size_t i = min_i; i + 3 < n; i++) {
        struct df_num v[3];
        if (!df_num(t[i], &v[0]) || !df_num(t[i + 1], &v[1]) || !df_num(t[i + 2], &v[2]) ||
            !df_is_pct(t[i + 3]))
            continue;
        if (cont && i != min_i)
            return false;
        struct nm_span mount =
            nm_span_ltrim(nm_span_range(nm_span_end(t[i + 3]), nm_span_end(line)));
        if (mount.n == 0)
            return false;
        memset(row, 0, sizeof *row);
        if (cont) {
            row->device = *pending;
        } else {
            row->device = nm_span_trim(nm_span_range(line.p, t[i - ntype].p));
        }
        if (has_type)
            row->fstype = t[i - 1];
        row->mount = mount;
        memcpy(row->n, v, sizeof v);
        row->line1 = line;
        return true;
    }
    return false;
}

static json_t *df_count(const struct df_num *v)
{
    if (!v->known)
        return json_null();
    if (v->neg)
        return v->v <= (uint64_t)INT64_MAX ? json_integer(-(json_int_t)v->v) : json_null();
    return json_u64(v->v);
}

/* ceil(used * 100 / (used + avail)) as df computes it; null when the total
 * is 0 or unknown (0 inodes on btrfs/vfat is "no inode limit", not 0%). */
static json_t *df_pct(const struct df_num n[3])
{
    if (!n[0].known || !n[1].known || !n[2].known || n[0].v == 0 || n[0].neg || n[1].neg)
        return json_null();
    nm_u128 used = n[1].v, denom;
    if (n[2].neg) {
        if (n[2].v >= n[1].v)
            return json_null();
        denom = used - n[2].v;
    } else {
        denom = used + n[2].v;
    }
    if (denom == 0)
        return json_null();
    nm_u128 u100 = used * 100;
    nm_u128 pct = u100 / denom + (u100 % denom != 0);
    return pct <= (nm_u128)INT64_MAX ? json_integer((json_int_t)pct) : json_null();
}

static json_t *df_item(const struct df_fs *fs)
{
    const struct df_row *first = fs->has_space ? &fs->space : &fs->inode;
    /* rows are zeroed when created, so a missing row has no type */
    struct nm_span fstype = fs->space.fstype.p ? fs->space.fstype : fs->inode.fstype;
    bool pseudo, network;
    classify(fstype, first->device, &pseudo, &network);
    json_t *it = json_object();
    json_object_set_new_nocheck(it, "subject", nm_span_json(first->mount, MAX_PATH_BYTES));
    json_object_set_new_nocheck(it, "mount", nm_span_json(first->mount, MAX_PATH_BYTES));
    json_object_set_new_nocheck(it, "device", nm_span_json(first->device, MAX_PATH_BYTES));
    json_object_set_new_nocheck(it, "fstype",
                                fstype.p ? nm_span_json(fstype, MAX_NAME_BYTES) : json_null());
    static const char *const space_keys[3] = {"size_kb", "used_kb", "avail_kb"};
    static const char *const inode_keys[3] = {"inodes", "iused", "ifree"};
    for (int i = 0; i < 3; i++) {
        json_object_set_new_nocheck(it, space_keys[i],
                                    fs->has_space ? df_count(&fs->space.n[i]) : json_null());
        json_object_set_new_nocheck(it, inode_keys[i],
                                    fs->has_inode ? df_count(&fs->inode.n[i]) : json_null());
    }
    json_object_set_new_nocheck(it, "use_pct", fs->has_space ? df_pct(fs->space.n) : json_null());
    json_object_set_new_nocheck(it, "iuse_pct", fs->has_inode ? df_pct(fs->inode.n) : json_null());
    json_object_set_new_nocheck(it, "pseudo", json_boolean(pseudo));
    json_object_set_new_nocheck(it, "network", json_boolean(network));
    struct nm_buf ev;
    nm_buf_init(&ev, EVIDENCE_RAW);
    if (fs->has_space) {
        nm_evidence_add(&ev, fs->space.line1);
        nm_evidence_add(&ev, fs->space.line2);
    }
    if (fs->has_inode) {
        nm_evidence_add(&ev, fs->inode.line1);
        nm_evidence_add(&ev, fs->inode.line2);
    }
    json_object_set_new_nocheck(it, "evidence", nm_evidence_json(&ev));
    nm_buf_finish(&ev);
    return it;
}

int nm_parse_df(const char *data, size_t len, const json_t *options, json_t **ret_items, nm_diag *d)
{
    const char *p = data ? data : "", *end = p + (data ? len : 0);
    struct df_fs *fs = NULL;
    size_t nfs = 0, alloc = 0;
    /* mount point -> array of indexes into fs (a mount may be listed twice
     * when something is mounted over it) */
    json_t *by_mount = json_object();
    json_t *join_pos = json_object(); /* mount point -> next index in its list to join */
    bool inodes = false, has_type = false, seen_table = false;
    struct nm_span pending = {NULL, 0}, line;

    while (nm_span_next_line(&p, end, &line)) {
        struct nm_span t[2];
        size_t nt = tokenize(line, t, 2);
        struct nm_span trimmed = nm_span_trim(line);
        if (nm_span_eq(trimmed, "--- inodes ---")) {
            inodes = true;
            has_type = false;
            pending = (struct nm_span){NULL, 0};
            continue;
        }
        if (nt > 0 && nm_span_eq(t[0], "Filesystem")) {
            struct nm_span all[DF_MAX_TOKENS];
            size_t na = tokenize(line, all, DF_MAX_TOKENS);
            has_type = nt > 1 && nm_span_eq(t[1], "Type");
            for (size_t i = 0; i < na; i++)
                if (nm_span_eq(all[i], "Inodes"))
                    inodes = true;
            seen_table = true;
            pending = (struct nm_span){NULL, 0};
            continue;
        }
        struct df_row row;
        bool ok = df_parse_row(line, has_type, pending.p ? &pending : NULL, &row);
        if (ok && pending.p && row.device.p == pending.p) {
            row.line2 = row.line1;
            row.line1 = pending;
        }
        pending = (struct nm_span){NULL, 0};
        if (!ok) {
            if (nt == 1 && !nm_is_blank(line.p[0]))
                pending = t[0];
            continue;
        }
        seen_table = true;

        json_t *key = nm_span_json(row.mount, MAX_PATH_BYTES);
        json_t *list = json_object_get(by_mount, json_string_value(key));
        struct df_fs *target = NULL;
        if (inodes && list) {
            /* Inode rows come in the order of the space rows: resume where
             * the last join for this mount point stopped, so that a mount
             * point listed many times stays linear. */
            json_t *posj = json_object_get(join_pos, json_string_value(key));
            size_t pos = posj ? (size_t)json_integer_value(posj) : 0;
            while (pos < json_array_size(list) &&
                   fs[json_integer_value(json_array_get(list, pos))].has_inode)
                pos++;
            if (pos < json_array_size(list)) {
                target = &fs[json_integer_value(json_array_get(list, pos))];
                json_object_set_new(join_pos, json_string_value(key),
                                    json_integer((json_int_t)(pos + 1)));
            }
        }
        if (!target) {
            if (nfs >= NM_PARSER_MAX_ITEMS) {
                json_decref(key);
                continue;
            }
            if (nfs == alloc) {
                alloc = alloc ? alloc * 2 : 32;
                fs = nm_xreallocarray(fs, alloc, sizeof *fs);
            }
            target = &fs[nfs];
            memset(target, 0, sizeof *target);
            if (!list) {
                list = json_array();
                json_object_set_new(by_mount, json_string_value(key), list);
            }
            json_array_append_new(list, json_integer((json_int_t)nfs));
            nfs++;
        }
        if (inodes) {
            target->inode = row;
            target->has_inode = true;
        } else {
            target->space = row;
            target->has_space = true;
        }
        json_decref(key);
    }

    int r = 0;
    if (!seen_table) {
        r = nm_diag_set(d, NM_ERR_PARSE, "df: no df table in the probe output");
        goto out;
    }
    json_t *items = json_array();
    for (size_t i = 0; i < nfs; i++)
        json_array_append_new(items, df_item(&fs[i]));
    *ret_items = items;
out:
    json_decref(by_mount);
    json_decref(join_pos);
    free(fs);
    return r;
}

/* ------------------------------------------------------------------ */
/* mounts                                                              */

/* /proc/mounts and fstab write space, tab, newline and backslash (and, in
 * newer kernels, '#') as \ooo octal escapes. */
static void unescape_octal(struct nm_span t, struct nm_buf *b)
{
    const char *p = t.p, *e = nm_span_end(t);
    while (p < e) {
        /* Text up to the next backslash goes in one piece. */
        const char *bs = memchr(p, '\\', (size_t)(e - p));
        const char *stop = bs ? bs : e;
        if (stop > p)
            nm_buf_append(b, p, (size_t)(stop - p));
        p = stop;
        if (p == e)
            break;
        if (e - p >= 4 && p[1] >= '0' && p[1] <= '3' && p[2] >= '0' && p[2] <= '7' && p[3] >= '0' &&
            p[3] <= '7') {
            char c = (char)((p[1] - '0') * 64 + (p[2] - '0') * 8 + (p[3] - '0'));
            nm_buf_append(b, &c, 1);
            p += 4;
        } else {
            nm_buf_append(b, p, 1);
            p++;
        }
    }
}

static json_t *jpath_unescaped(struct nm_span t, bool strip_slash)
{
    if (t.n <= MAX_PATH_BYTES && !memchr(t.p, '\\', t.n)) {
        /* Nothing escaped (nearly every path): no copy to unescape into. */
        size_t n = t.n;
        while (strip_slash && n > 1 && t.p[n - 1] == '/')
            n--;
        return nm_json_string_sanitized(n ? t.p : "", n, MAX_PATH_BYTES);
    }
    struct nm_buf b;
    nm_buf_init(&b, MAX_PATH_BYTES);
    unescape_octal(t, &b);
    size_t n = b.len;
    while (strip_slash && n > 1 && b.data[n - 1] == '/')
        n--;
    json_t *j = nm_json_string_sanitized(b.data ? b.data : "", n, MAX_PATH_BYTES);
    nm_buf_finish(&b);
    return j;
}

static json_t *mount_options(struct nm_span t, bool *rw)
{
    struct nm_buf b;
    nm_buf_init(&b, MAX_PATH_BYTES * 4);
    struct nm_span rest = t, o;
    if (t.n > MAX_PATH_BYTES * 4 || memchr(t.p, '\\', t.n)) {
        unescape_octal(t, &b);
        rest = (struct nm_span){b.data ? b.data : "", b.len};
    }
    json_t *arr = json_array();
    *rw = true;
    while (rest.n > 0 && json_array_size(arr) < MAX_OPTIONS) {
        nm_span_cut(&rest, ',', &o);
        if (o.n > 0) {
            /* mount(8) applies options left to right; "defaults" sets no
             * flag of its own, so "ro,defaults" stays read-only. */
            if (nm_span_eq(o, "ro"))
                *rw = false;
            else if (nm_span_eq(o, "rw"))
                *rw = true;
            json_array_append_new(arr, nm_span_json(o, MAX_NAME_BYTES));
        }
    }
    nm_buf_finish(&b);
    return arr;
}

struct fstab_ent {
    struct nm_span line, device, options;
};

int nm_parse_mounts(const char *data, size_t len, const json_t *options, json_t **ret_items,
                    nm_diag *d)
{
    const char *p = data ? data : "", *end = p + (data ? len : 0);
    const char *mounts_end = end, *fstab_start = end;
    struct nm_span line;

    /* The fstab comes after the separator but is needed first. */
    for (const char *q = p; nm_span_next_line(&q, end, &line);) {
        if (nm_span_eq(nm_span_trim(line), "--- fstab ---")) {
            mounts_end = line.p;
            fstab_start = q;
            break;
        }
    }

    struct fstab_ent *fst = NULL;
    size_t nfst = 0, alloc = 0;
    json_t *fstab_by_mount = json_object();
    for (const char *q = fstab_start; nm_span_next_line(&q, end, &line);) {
        struct nm_span t[4];
        struct nm_span tl = nm_span_trim(line);
        if (tl.n == 0 || tl.p[0] == '#')
            continue;
        if (tokenize(line, t, 4) < 4 || t[1].p[0] != '/' || nfst >= NM_PARSER_MAX_ITEMS)
            continue;
        if (nfst == alloc) {
            alloc = alloc ? alloc * 2 : 32;
            fst = nm_xreallocarray(fst, alloc, sizeof *fst);
        }
        fst[nfst] = (struct fstab_ent){line, t[0], t[3]};
        /* A later line for the same mount point wins, as with mount -a. */
        json_t *key = jpath_unescaped(t[1], true);
        json_object_set_new(fstab_by_mount, json_string_value(key), json_integer((json_int_t)nfst));
        json_decref(key);
        nfst++;
    }

    json_t *items = json_array();
    for (const char *q = p; q < mounts_end && nm_span_next_line(&q, mounts_end, &line);) {
        /* The kernel always writes six fields; fewer is a cut-off line,
         * whose options cannot be trusted to be complete. */
        struct nm_span t[6];
        if (tokenize(line, t, 6) < 6 || json_array_size(items) >= NM_PARSER_MAX_ITEMS)
            continue;
        bool rw, pseudo, network;
        json_t *it = json_object();
        json_t *mnt = jpath_unescaped(t[1], false);
        /* The fstab's key for this mount point (no trailing '/'), only
         * when there is an fstab to look in. */
        json_t *key = nfst ? jpath_unescaped(t[1], true) : NULL;
        json_t *opts = mount_options(t[3], &rw);
        classify(t[2], t[0], &pseudo, &network);
        json_object_set_new_nocheck(it, "subject",
                                    json_incref(mnt)); /* strings are never changed in place */
        json_object_set_new_nocheck(it, "mount", mnt);
        json_object_set_new_nocheck(it, "device", jpath_unescaped(t[0], false));
        json_object_set_new_nocheck(it, "fstype", nm_span_json(t[2], MAX_NAME_BYTES));
        json_object_set_new_nocheck(it, "options", opts);
        json_object_set_new_nocheck(it, "ro", json_boolean(!rw));
        json_object_set_new_nocheck(it, "pseudo", json_boolean(pseudo));
        json_object_set_new_nocheck(it, "network", json_boolean(network));

        struct nm_buf ev;
        nm_buf_init(&ev, EVIDENCE_RAW);
        nm_evidence_add(&ev, line);
        json_t *fi = key ? json_object_get(fstab_by_mount, json_string_value(key)) : NULL;
        bool fstab_rw = false;
        if (fi) {
            const struct fstab_ent *f = &fst[json_integer_value(fi)];
            json_object_set_new_nocheck(it, "fstab_device", jpath_unescaped(f->device, false));
            json_object_set_new_nocheck(it, "fstab_options", mount_options(f->options, &fstab_rw));
            json_object_set_new_nocheck(it, "fstab_rw", json_boolean(fstab_rw));
            nm_evidence_add(&ev, f->line);
        } else {
            json_object_set_new_nocheck(it, "fstab_device", json_null());
            json_object_set_new_nocheck(it, "fstab_options", json_null());
            json_object_set_new_nocheck(it, "fstab_rw", json_null());
        }
        json_object_set_new_nocheck(it, "should_be_rw", json_boolean(!rw && fi && fstab_rw));
        json_object_set_new_nocheck(it, "shadowed", json_false());
        json_object_set_new_nocheck(it, "evidence", nm_evidence_json(&ev));
        nm_buf_finish(&ev);
        json_decref(key);
        json_array_append_new(items, it);
    }

    /* A mount point mounted again later is hidden by the later mount: only
     * the last one is what the path shows, so only it should be judged. */
    json_t *seen = json_object();
    for (size_t i = json_array_size(items); i-- > 0;) {
        json_t *it = json_array_get(items, i);
        const char *m = json_string_value(json_object_get(it, "mount"));
        if (json_object_get(seen, m)) {
            json_object_set_new_nocheck(it, "shadowed", json_true());
            json_object_set_new_nocheck(it, "should_be_rw", json_false());
        } else {
            json_object_set_new(seen, m, json_true());
        }
    }
    json_decref(seen);
    json_decref(fstab_by_mount);
    free(fst);

    if (json_array_size(items) == 0) {
        json_decref(items);
        return nm_diag_set(d, NM_ERR_PARSE, "mounts: no /proc/mounts lines in the probe output");
    }
    *ret_items = items;
    return 0;
}

/* ------------------------------------------------------------------ */
/* kernel_errors                                                       */

enum kerr_kind { KERR_FS, KERR_IO, KERR_OOM, KERR_ECC };
static const char *const kerr_kind_names[] = {"fs_error", "io_error", "oom", "ecc"};

struct kerr {
    enum kerr_kind kind;
    json_t *device; /* sanitized string */
    uint64_t count, corrected, uncorrected;
    struct nm_span first, last, first_time, last_time;
};

struct kmatch {
    enum kerr_kind kind;
    struct nm_span device;
    int ecc;            /* 0, 'C' corrected or 'U' uncorrected */
    uint64_t ecc_count; /* errors the EDAC line reports */
};

/* The device name that follows a pattern: up to a delimiter, sane length. */
static bool take_device(const char *p, const char *e, const char *stops, struct nm_span *out)
{
    const char *s = p;
    while (p < e && !nm_is_blank(*p) && *p != '\0' && !strchr(stops, *p))
        p++;
    /* A NUL in a device name is not a kernel's doing: refuse the line. */
    if (p == s || p - s > 128 || (p < e && *p == '\0'))
        return false;
    *out = nm_span_range(s, p);
    return true;
}

/* Splits "[ts] msg", "Mon DD HH:MM:SS host kernel: msg" (journalctl) or a
 * bare message. */
static void kmsg_split(struct nm_span line, struct nm_span *ts, struct nm_span *msg)
{
    *ts = (struct nm_span){NULL, 0};
    *msg = line;
    struct nm_span head = {line.p, line.n < 256 ? line.n : 256};
    const char *k = line.n > 0 && line.p[0] == '[' ? NULL : nm_span_find(head, " kernel: ");
    if (k) {
        const char *h = k;
        while (h > line.p && !nm_is_blank(h[-1]))
            h--; /* back over the host name */
        *ts = nm_span_trim(nm_span_range(line.p, h));
        if (ts->n == 0)
            *ts = (struct nm_span){NULL, 0};
        *msg = nm_span_range(k + 9, nm_span_end(line));
    }
    if (msg->n > 0 && msg->p[0] == '[') {
        const char *close = memchr(msg->p, ']', msg->n < 64 ? msg->n : 64);
        if (close) {
            /* "[]" gives an empty time that is there, not an absent one */
            if (!ts->p)
                *ts = nm_span_trim(nm_span_range(msg->p + 1, close));
            *msg = nm_span_after(*msg, (size_t)(close - msg->p) + 1);
        }
    }
    *msg = nm_span_ltrim(*msg);
}

static const char *skip_digits(const char *p, const char *e)
{
    const char *s = p;
    while (p < e && *p >= '0' && *p <= '9')
        p++;
    return p > s ? p : NULL;
}

/* "nvme0n1:" or "nvme0n1p2:" at the start of a message. */
static bool nvme_namespace_prefix(const char *s, const char *e, struct nm_span *dev)
{
    const char *p = s;
    if (e - p < 7 || memcmp(p, "nvme", 4) != 0)
        return false;
    if (!(p = skip_digits(p + 4, e)) || p >= e || *p != 'n' || !(p = skip_digits(p + 1, e)))
        return false;
    if (p < e && *p == 'p' && !(p = skip_digits(p + 1, e)))
        return false;
    if (p >= e || *p != ':')
        return false;
    *dev = nm_span_range(s, p);
    return true;
}

/* Words at least one of which every pattern below contains. */
enum {
    ANCHOR_ERROR = 1u << 0, /* "error": ext, btrfs error, buffer and block I/O */
    ANCHOR_BTRFS = 1u << 1,
    ANCHOR_XFS = 1u << 2,
    ANCHOR_OOM = 1u << 3, /* "out of memory", any case */
    ANCHOR_EDAC = 1u << 4,
};

/*
 * One pass over the line that tells which patterns can match at all.  Most
 * kernel log lines match none, and searching each of them for every pattern
 * in turn was most of the parser's time; the patterns keep their order, so
 * a line matching two still counts as the first.
 */
static unsigned kmsg_anchors(const char *p, const char *e)
{
    unsigned a = 0;
    for (; p < e; p++) {
        size_t left = (size_t)(e - p);
        switch (*p) {
        case 'e':
            if (left >= 5 && memcmp(p, "error", 5) == 0)
                a |= ANCHOR_ERROR;
            break;
        case 'B':
            if (left >= 6 && memcmp(p, "BTRFS ", 6) == 0)
                a |= ANCHOR_BTRFS;
            break;
        case 'X':
            if (left >= 5 && memcmp(p, "XFS (", 5) == 0)
                a |= ANCHOR_XFS;
            break;
        case 'o':
        case 'O':
            if (left >= 13 && (p[1] == 'u' || p[1] == 'U') &&
                nm_span_has_prefix_nocase((struct nm_span){p, left}, "out of memory"))
                a |= ANCHOR_OOM;
            break;
        case 'E':
            if (left >= 7 && memcmp(p, "EDAC MC", 7) == 0)
                a |= ANCHOR_EDAC;
            break;
        default:
            break;
        }
    }
    return a;
}

static bool kmatch_line(struct nm_span msg, struct kmatch *m)
{
    struct nm_span win = {msg.p, msg.n > KMSG_SCAN_BYTES ? KMSG_SCAN_BYTES : msg.n};
    const char *s = win.p, *e = nm_span_end(win), *q;
    memset(m, 0, sizeof *m);
    unsigned anchors = kmsg_anchors(s, e);
    bool nvme = e - s >= 7 && memcmp(s, "nvme", 4) == 0;
    if (!anchors && !nvme)
        return false;

    /* ext2/3/4: "EXT4-fs error (device sda1): ext4_find_entry:1455: ..." */
    static const char *const ext[] = {"EXT4-fs error (device ", "EXT3-fs error (device ",
                                      "EXT2-fs error (device ", NULL};
    for (size_t i = 0; (anchors & ANCHOR_ERROR) && ext[i]; i++)
        if ((q = nm_span_find(win, ext[i])) &&
            take_device(q + strlen(ext[i]), e, "):", &m->device)) {
            m->kind = KERR_FS;
            return true;
        }

    /* "BTRFS error (device sdb1): ..." or "(device sdb1: state EA)" (6.x) */
    static const char *const btrfs[] = {"BTRFS error (device ", "BTRFS critical (device ",
                                        "BTRFS alert (device ", "BTRFS emergency (device ", NULL};
    for (size_t i = 0; (anchors & ANCHOR_BTRFS) && btrfs[i]; i++)
        if ((q = nm_span_find(win, btrfs[i])) &&
            take_device(q + strlen(btrfs[i]), e, "):", &m->device)) {
            m->kind = KERR_FS;
            return true;
        }

    /* "XFS (dm-0): metadata I/O error in ...", "... Corruption detected",
     * "... Filesystem has been shut down due to log error" */
    if ((anchors & ANCHOR_XFS) && (q = nm_span_find(win, "XFS (")) &&
        take_device(q + 5, e, ")", &m->device)) {
        struct nm_span rest = nm_span_range(nm_span_end(m->device), e);
        if (nm_span_find_nocase(rest, "error") || nm_span_find_nocase(rest, "corrupt") ||
            nm_span_find_nocase(rest, "shut down") || nm_span_find_nocase(rest, "shutdown")) {
            m->kind = KERR_FS;
            return true;
        }
    }

    /* fs/buffer.c: "Buffer I/O error on dev sda1, logical block 0, ..."
     * (older kernels: "on device sda1") */
    if ((anchors & ANCHOR_ERROR) && (q = nm_span_find(win, "Buffer I/O error on dev"))) {
        q += strlen("Buffer I/O error on dev");
        if (e - q >= 3 && memcmp(q, "ice", 3) == 0)
            q += 3;
        while (q < e && nm_is_blank(*q))
            q++;
        if (take_device(q, e, ",", &m->device)) {
            m->kind = KERR_IO;
            return true;
        }
    }

    /* block layer: "I/O error, dev sda, sector 2048 op 0x0:(READ) ...",
     * "blk_update_request: I/O error, dev sda, ...",
     * "critical medium error, dev sdb, ...", "end_request: I/O error, dev ..." */
    if ((anchors & ANCHOR_ERROR) && (q = nm_span_find(win, " error, dev ")) &&
        take_device(q + 12, e, ",", &m->device)) {
        m->kind = KERR_IO;
        return true;
    }

    /* nvme_log_error: "nvme0n1: Read(0x2) @ LBA 7272, 8 blocks, Unrecovered
     * Read Error (sct 0x2 / sc 0x81) DNR" ("I/O Cmd(0x2) ... I/O Error"
     * without CONFIG_NVME_VERBOSE_ERRORS) */
    if (nvme && nvme_namespace_prefix(s, e, &m->device)) {
        struct nm_span rest = nm_span_range(nm_span_end(m->device), e);
        if (nm_span_find(rest, "(sct ") || nm_span_find_nocase(rest, "error")) {
            m->kind = KERR_IO;
            return true;
        }
    }
    /* "nvme nvme0: I/O 123 QID 4 timeout, aborting" */
    if (nvme && e - s > 10 && memcmp(s, "nvme nvme", 9) == 0 &&
        take_device(s + 5, e, ":", &m->device)) {
        struct nm_span rest = nm_span_range(nm_span_end(m->device), e);
        if (nm_span_find(rest, ": I/O ") && nm_span_find(rest, "timeout")) {
            m->kind = KERR_IO;
            return true;
        }
    }

    /* mm/oom_kill.c: "Out of memory: Killed process 1234 (java) ..." (older:
     * "Kill process"), "Memory cgroup out of memory: Killed process ..." */
    if ((anchors & ANCHOR_OOM) && (q = nm_span_find_nocase(win, "out of memory: kill"))) {
        m->kind = KERR_OOM;
        m->device = (struct nm_span){"oom", 3};
        return true;
    }

    /* drivers/edac: "EDAC MC0: 1 CE memory read error on ..." / "1 UE ...",
     * older "EDAC MC0: CE page 0x..., offset ..." */
    if ((anchors & ANCHOR_EDAC) && (q = nm_span_find(win, "EDAC MC"))) {
        q += 7;
        while (q < e && *q >= '0' && *q <= '9')
            q++;
        if (q < e && *q == ':') {
            struct nm_span t[2];
            size_t n = tokenize(nm_span_range(q + 1, e), t, 2);
            uint64_t cnt = 1;
            size_t at = 0;
            if (n == 2) {
                uint64_t v;
                if (nm_span_to_u64(t[0], &v) == 0) {
                    cnt = v;
                    at = 1;
                }
            }
            if (at < n && (nm_span_eq(t[at], "CE") || nm_span_eq(t[at], "UE"))) {
                m->kind = KERR_ECC;
                m->ecc = t[at].p[0];
                m->ecc_count = cnt;
                m->device = (struct nm_span){"memory", 6};
                return true;
            }
        }
    }
    return false;
}

static uint64_t sat_add(uint64_t a, uint64_t b)
{
    return b > UINT64_MAX - a ? UINT64_MAX : a + b;
}

static json_t *kerr_item(const struct kerr *k)
{
    json_t *it = json_object();
    json_object_set(it, "subject", k->device);
    json_object_set(it, "device", k->device);
    json_object_set_new(it, "kind", json_string(kerr_kind_names[k->kind]));
    json_object_set_new(it, "count", json_u64(k->count));
    json_object_set_new(it, "first", nm_span_evidence(k->first));
    json_object_set_new(it, "last", nm_span_evidence(k->last));
    json_object_set_new(it, "first_time",
                        k->first_time.p ? nm_span_json(k->first_time, 64) : json_null());
    json_object_set_new(it, "last_time",
                        k->last_time.p ? nm_span_json(k->last_time, 64) : json_null());
    if (k->kind == KERR_ECC) {
        json_object_set_new(it, "corrected", json_u64(k->corrected));
        json_object_set_new(it, "uncorrected", json_u64(k->uncorrected));
    }
    /* The first and the last line, each cut to half the evidence budget so
     * that a long first line cannot hide the last. */
    struct nm_buf ev;
    nm_buf_init(&ev, EVIDENCE_RAW);
    struct nm_span a = k->first, b = k->last;
    size_t half = NM_PARSER_MAX_EVIDENCE / 2 - 1;
    if (a.n > half)
        a.n = half;
    if (b.n > half)
        b.n = half;
    nm_evidence_add(&ev, a);
    if (k->count > 1)
        nm_evidence_add(&ev, b);
    json_object_set_new(it, "evidence", nm_evidence_json(&ev));
    nm_buf_finish(&ev);
    return it;
}

int nm_parse_kernel_errors(const char *data, size_t len, const json_t *options, json_t **ret_items,
                           nm_diag *d)
{
    const char *p = data ? data : "", *end = p + (data ? len : 0);
    struct kerr *ks = NULL;
    size_t nk = 0, alloc = 0;
    json_t *index = json_object(); /* "kind:device" -> index into ks */
    struct nm_span line;
    struct nm_buf key;
    nm_buf_init(&key, 512);

    while (nm_span_next_line(&p, end, &line)) {
        struct nm_span ts, msg;
        struct kmatch m;
        kmsg_split(line, &ts, &msg);
        if (!kmatch_line(msg, &m))
            continue;
        json_t *dev = nm_span_json(m.device, MAX_NAME_BYTES);
        nm_buf_reset(&key);
        nm_buf_appends(&key, kerr_kind_names[m.kind]);
        nm_buf_append(&key, ":", 1);
        nm_buf_appends(&key, json_string_value(dev));
        json_t *idx = json_object_get(index, key.data);
        struct kerr *k;
        if (idx) {
            k = &ks[json_integer_value(idx)];
            json_decref(dev);
        } else {
            if (nk >= NM_PARSER_MAX_ITEMS) {
                json_decref(dev);
                continue;
            }
            if (nk == alloc) {
                alloc = alloc ? alloc * 2 : 16;
                ks = nm_xreallocarray(ks, alloc, sizeof *ks);
            }
            k = &ks[nk];
            memset(k, 0, sizeof *k);
            k->kind = m.kind;
            k->device = dev;
            k->first = line;
            k->first_time = ts;
            json_object_set_new(index, key.data, json_integer((json_int_t)nk));
            nk++;
        }
        if (k->count < UINT64_MAX)
            k->count++;
        k->last = line;
        k->last_time = ts;
        if (m.ecc == 'C')
            k->corrected = sat_add(k->corrected, m.ecc_count);
        else if (m.ecc == 'U')
            k->uncorrected = sat_add(k->uncorrected, m.ecc_count);
    }

    json_t *items = json_array();
    for (size_t i = 0; i < nk; i++) {
        json_array_append_new(items, kerr_item(&ks[i]));
        json_decref(ks[i].device);
    }
    free(ks);
    json_decref(index);
    nm_buf_finish(&key);
    *ret_items = items;
    return 0;
}
