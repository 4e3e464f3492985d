/*
 * The history database: opening it safely, its schema and migrations, the
 * run's one transaction, retention.  The tables are documented for users in
 * docs/history.md; keep the two in step.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "history/internal.h"
#include "nearmiss/util.h"

/* Each entry takes the schema from version i to i + 1.  Never edit a
 * released step: add one. */
static const char *const migrations[] = {
    /* 0 -> 1 */
    "CREATE TABLE runs ("
    "  id INTEGER PRIMARY KEY,"
    "  started_at INTEGER NOT NULL,"
    "  report TEXT,"
    "  hosts INTEGER NOT NULL DEFAULT 0,"
    "  scanned INTEGER NOT NULL DEFAULT 0,"
    "  failed INTEGER NOT NULL DEFAULT 0,"
    "  new INTEGER NOT NULL DEFAULT 0,"
    "  persisting INTEGER NOT NULL DEFAULT 0,"
    "  resolved INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX runs_started ON runs(started_at);"
    "CREATE TABLE host_scans ("
    "  run_id INTEGER NOT NULL,"
    "  host TEXT NOT NULL,"
    "  status TEXT NOT NULL,"
    "  score INTEGER,"
    "  PRIMARY KEY (run_id, host)) WITHOUT ROWID;"
    "CREATE INDEX host_scans_host ON host_scans(host, run_id);"
    "CREATE TABLE findings ("
    "  id INTEGER PRIMARY KEY,"
    "  fingerprint TEXT NOT NULL,"
    "  host TEXT,"
    "  check_id TEXT NOT NULL,"
    "  category TEXT NOT NULL,"
    "  subject TEXT NOT NULL,"
    "  first_seen INTEGER NOT NULL,"
    "  last_seen INTEGER NOT NULL,"
    "  resolved_at INTEGER,"
    "  severity TEXT NOT NULL,"
    "  worst_severity TEXT NOT NULL,"
    "  worst_at INTEGER NOT NULL,"
    "  waived INTEGER NOT NULL DEFAULT 0,"
    "  message TEXT,"
    "  failed_at INTEGER,"
    "  margin REAL,"
    "  margin_unit TEXT,"
    "  margin_at INTEGER);"
    "CREATE UNIQUE INDEX findings_open ON findings(fingerprint) WHERE resolved_at IS NULL;"
    "CREATE INDEX findings_host_open ON findings(host) WHERE resolved_at IS NULL;"
    "CREATE INDEX findings_fingerprint ON findings(fingerprint, first_seen);"
    "CREATE TABLE severity_changes ("
    "  finding_id INTEGER NOT NULL,"
    "  at INTEGER NOT NULL,"
    "  from_severity TEXT NOT NULL,"
    "  to_severity TEXT NOT NULL);"
    "CREATE INDEX severity_changes_finding ON severity_changes(finding_id);"
    "CREATE TABLE series ("
    "  id INTEGER PRIMARY KEY,"
    "  host TEXT NOT NULL,"
    "  check_id TEXT NOT NULL,"
    "  item TEXT NOT NULL,"
    "  field TEXT NOT NULL,"
    "  UNIQUE (host, check_id, item, field));"
    /* Clustered by run: a run appends its samples at the end of the table
     * instead of touching a page of every series (a year of nightly runs
     * would rewrite the whole table each night). */
    "CREATE TABLE samples ("
    "  run_id INTEGER NOT NULL,"
    "  series_id INTEGER NOT NULL,"
    "  value REAL NOT NULL,"
    "  PRIMARY KEY (run_id, series_id)) WITHOUT ROWID;"
    "CREATE VIEW metrics AS"
    "  SELECT r.started_at AS at, strftime('%Y-%m-%dT%H:%M:%SZ', r.started_at, 'unixepoch')"
    "         AS time, s.host, s.check_id, s.item, s.field, v.value"
    "  FROM samples v JOIN series s ON s.id = v.series_id JOIN runs r ON r.id = v.run_id;",
};

static int db_fail(struct nm_history *h, nm_diag *d, const char *what)
{
    return nm_diag_set(d, NM_ERR_IO, "%s: %s: %s", h->path, what, sqlite3_errmsg(h->db));
}

int nm_history_exec(struct nm_history *h, const char *sql, nm_diag *d)
{
    char *err = NULL;
    if (sqlite3_exec(h->db, sql, NULL, NULL, &err) != SQLITE_OK) {
        int r = nm_diag_set(d, NM_ERR_IO, "%s: %s", h->path, err ? err : "SQL error");
        sqlite3_free(err);
        return r;
    }
    return 0;
}

sqlite3_stmt *nm_history_stmt(struct nm_history *h, enum nm_hstmt id, const char *sql)
{
    if (!h->stmts[id] && sqlite3_prepare_v3(h->db, sql, -1, SQLITE_PREPARE_PERSISTENT,
                                            &h->stmts[id], NULL) != SQLITE_OK)
        return NULL;
    sqlite3_reset(h->stmts[id]);
    sqlite3_clear_bindings(h->stmts[id]);
    return h->stmts[id];
}

/* The file must be an SQLite database before SQLite touches it: a file of
 * some other kind must not be "repaired" into an empty history. */
static int check_header(const char *path, bool *ret_exists, nm_diag *d)
{
    struct stat st;
    if (stat(path, &st) < 0) {
        if (errno != ENOENT)
            return nm_diag_set(d, NM_ERR_IO, "%s: %s", path, strerror(errno));
        *ret_exists = false;
        return 0;
    }
    *ret_exists = true;
    if (!S_ISREG(st.st_mode))
        return nm_diag_set(d, NM_ERR_CONFIG, "%s: not a regular file", path);
    if (st.st_size == 0)
        return nm_diag_set(d, NM_ERR_CONFIG,
                           "%s: empty file (a history cut off while it was created?): move it "
                           "away to start a new history",
                           path);
    char head[16];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return nm_diag_set(d, NM_ERR_IO, "%s: %s", path, strerror(errno));
    ssize_t n = read(fd, head, sizeof head);
    close(fd);
    if (n != (ssize_t)sizeof head || memcmp(head, "SQLite format 3", 16) != 0)
        return nm_diag_set(d, NM_ERR_CONFIG,
                           "%s: not an SQLite database (damaged or overwritten): nothing was "
                           "changed; restore it from a backup, or move it away to start a new "
                           "history",
                           path);
    return 0;
}

/* PRAGMA quick_check: a half-written or damaged file is refused whole. */
static int check_integrity(struct nm_history *h, nm_diag *d)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(h->db, "PRAGMA quick_check(1)", -1, &st, NULL);
    const char *res = NULL;
    char msg[200] = "";
    if (rc == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW) {
        res = (const char *)sqlite3_column_text(st, 0);
        if (res)
            snprintf(msg, sizeof msg, "%s", res);
    } else {
        snprintf(msg, sizeof msg, "%s", sqlite3_errmsg(h->db));
    }
    sqlite3_finalize(st);
    if (strcmp(msg, "ok") != 0)
        return nm_diag_set(d, NM_ERR_CONFIG,
                           "%s: the history database is damaged (%s): nothing was changed; "
                           "restore it from a backup, or move it away to start a new history",
                           h->path, msg);
    return 0;
}

/* The version of a component, 0 when it has none yet. */
int nm_history_component_version(sqlite3 *db, const char *component, long *ret)
{
    sqlite3_stmt *st = NULL;
    long v = 0;
    int rc = sqlite3_prepare_v2(db, "SELECT version FROM schema_version WHERE component = ?1", -1,
                                &st, NULL);
    if (rc != SQLITE_OK) {
        /* No schema_version table yet: a new database. */
        sqlite3_finalize(st);
        *ret = 0;
        return 0;
    }
    sqlite3_bind_text(st, 1, component, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        v = (long)sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return NM_ERR_IO;
    *ret = v;
    return 0;
}

static int check_version(struct nm_history *h, long *ret, nm_diag *d)
{
    long v;
    if (nm_history_component_version(h->db, "history", &v) < 0)
        return db_fail(h, d, "reading schema_version");
    if (v > NM_HISTORY_SCHEMA)
        return nm_diag_set(d, NM_ERR_CONFIG,
                           "%s: written by a newer nearmiss (history schema %ld; this one knows "
                           "up to %d): nothing was changed; run the newer nearmiss, or point "
                           "-o elsewhere",
                           h->path, v, NM_HISTORY_SCHEMA);
    *ret = v;
    return 0;
}

static int migrate(struct nm_history *h, long from, nm_diag *d)
{
    int r = nm_history_exec(h,
                            "CREATE TABLE IF NOT EXISTS schema_version ("
                            "  component TEXT PRIMARY KEY, version INTEGER NOT NULL)",
                            d);
    if (r < 0)
        return r;
    for (long v = from; v < NM_HISTORY_SCHEMA; v++) {
        if ((r = nm_history_exec(h, migrations[v], d)) < 0)
            return r;
    }
    if (from < NM_HISTORY_SCHEMA) {
        char sql[160];
        snprintf(sql, sizeof sql,
                 "INSERT INTO schema_version(component, version) VALUES ('history', %d) "
                 "ON CONFLICT(component) DO UPDATE SET version = excluded.version",
                 NM_HISTORY_SCHEMA);
        return nm_history_exec(h, sql, d);
    }
    return 0;
}

/* An existing file of ours gets the mode the run's files get; a file we
 * cannot change (another owner, gone meanwhile) is left as it is: the mode
 * is a precaution, not a reason to stop the run. */
static void fix_mode(const char *path, int mode)
{
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    struct stat st;
    if (fd < 0)
        return;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == geteuid() &&
        (st.st_mode & 07777) != (mode_t)mode)
        (void)fchmod(fd, (mode_t)mode);
    close(fd);
}

/*
 * The database holds what the reports hold, so it gets their mode whatever
 * the umask.  SQLite creates the main file 0644 less the umask, and its
 * -wal and -shm files with the main file's mode: the main file is created
 * under a umask that leaves at most `mode`, then set to exactly `mode`
 * before SQLite makes the other two.  Leftovers of a killed run (and files
 * of an older nearmiss) are set too, before SQLite opens them.
 */
static int open_db(struct nm_history *h, int flags, int mode, bool exists)
{
    static const char *const side[] = {"-wal", "-shm"};
    if (mode) {
        if (exists)
            fix_mode(h->path, mode);
        for (size_t i = 0; i < sizeof side / sizeof side[0]; i++) {
            char *p = nm_xasprintf("%s%s", h->path, side[i]);
            fix_mode(p, mode);
            free(p);
        }
    }
    /* The history is opened before the scan's threads start: the umask,
     * which is the process's, is nobody else's for this moment. */
    mode_t old = 0;
    if (mode && !exists)
        old = umask((mode_t)(~mode & 0777));
    int rc = sqlite3_open_v2(h->path, &h->db, flags | SQLITE_OPEN_NOMUTEX, NULL);
    if (mode && !exists) {
        umask(old);
        if (rc == SQLITE_OK)
            fix_mode(h->path, mode);
    }
    return rc;
}

static int open_common(const char *out_dir, bool readonly, int mode, struct nm_history **ret,
                       nm_diag *d)
{
    struct nm_history *h = nm_xcalloc(1, sizeof *h);
    bool exists;
    long version = 0;
    int r;
    h->path = nm_xasprintf("%s/%s", out_dir, NM_HISTORY_FILE);
    h->readonly = readonly;
    if ((r = check_header(h->path, &exists, d)) < 0)
        goto out;
    if (readonly && !exists) {
        r = nm_diag_set(d, NM_ERR_NOTFOUND, "%s: no history here yet (a scan with -o %s makes it)",
                        h->path, out_dir);
        goto out;
    }
    int flags = readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
    if (open_db(h, flags, readonly ? 0 : mode, exists) != SQLITE_OK) {
        r = db_fail(h, d, "cannot open");
        goto out;
    }
    /* Another run holding the database: say so at once rather than wait. */
    sqlite3_busy_timeout(h->db, 250);
    sqlite3_extended_result_codes(h->db, 1);
    if (exists) {
        if ((r = check_integrity(h, d)) < 0 || (r = check_version(h, &version, d)) < 0)
            goto out;
    }
    if (readonly) {
        if (version == 0) {
            r = nm_diag_set(d, NM_ERR_CONFIG, "%s: holds no nearmiss history", h->path);
            goto out;
        }
        *ret = h;
        return 0;
    }
    if (!exists && (r = nm_history_exec(h, "PRAGMA auto_vacuum = INCREMENTAL", d)) < 0)
        goto out;
    if ((r = nm_history_exec(h, "PRAGMA journal_mode = WAL", d)) < 0)
        goto out;
    if (sqlite3_exec(h->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
        int ec = sqlite3_errcode(h->db);
        if (ec == SQLITE_BUSY)
            r = nm_diag_set(d, NM_ERR_EXISTS,
                            "%s: another nearmiss run is using this report directory; "
                            "nothing was changed",
                            h->path);
        else
            r = db_fail(h, d, "cannot start the run's transaction");
        goto out;
    }
    h->in_tx = true;
    /* Read the version again inside the transaction: another run may have
     * migrated between the check above and the lock. */
    if ((r = check_version(h, &version, d)) < 0 || (r = migrate(h, version, d)) < 0)
        goto out;
    *ret = h;
    return 0;
out:
    nm_history_close(h);
    return r;
}

int nm_history_open(const char *out_dir, int64_t now, struct nm_history **ret, nm_diag *d)
{
    return nm_history_open_mode(out_dir, now, NM_HISTORY_FILE_MODE, ret, d);
}

int nm_history_open_mode(const char *out_dir, int64_t now, int file_mode, struct nm_history **ret,
                         nm_diag *d)
{
    struct nm_history *h = NULL;
    int r = open_common(out_dir, false, file_mode ? file_mode : NM_HISTORY_FILE_MODE, &h, d);
    if (r < 0)
        return r;
    h->now = now;
    *ret = h;
    return 0;
}

int nm_history_open_readonly(const char *out_dir, struct nm_history **ret, nm_diag *d)
{
    return open_common(out_dir, true, 0, ret, d);
}

sqlite3 *nm_history_db(struct nm_history *h)
{
    return h ? h->db : NULL;
}

int nm_history_commit(struct nm_history *h, nm_diag *d)
{
    if (!h->in_tx)
        return 0;
    if (sqlite3_exec(h->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        return db_fail(h, d, "cannot commit the run");
    h->in_tx = false;
    /* Keep the WAL from growing across runs; a failure here loses nothing. */
    sqlite3_wal_checkpoint_v2(h->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
    return 0;
}

void nm_history_close(struct nm_history *h)
{
    if (!h)
        return;
    for (size_t i = 0; i < NM_HSTMT_COUNT; i++)
        sqlite3_finalize(h->stmts[i]);
    if (h->db) {
        if (h->in_tx)
            sqlite3_exec(h->db, "ROLLBACK", NULL, NULL, NULL);
        sqlite3_close(h->db);
    }
    free(h->path);
    free(h);
}

int nm_history_set_report(struct nm_history *h, const char *path, nm_diag *d)
{
    if (!h->run_id || !path)
        return 0;
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    sqlite3_stmt *st = NULL;
    sqlite3_prepare_v2(h->db, "UPDATE runs SET report = ?1 WHERE id = ?2", -1, &st, NULL);
    sqlite3_bind_text(st, 1, base, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, h->run_id);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : db_fail(h, d, "recording the report file");
}

int nm_history_prune(struct nm_history *h, const struct nm_retention *keep, json_t **ret_files,
                     nm_diag *d)
{
    json_t *files = json_array();
    int64_t cutoff = INT64_MIN;
    sqlite3_stmt *st = NULL;
    int r = 0;
    if (keep->keep_runs > 0) {
        sqlite3_prepare_v2(h->db,
                           "SELECT started_at FROM runs ORDER BY started_at DESC, id DESC "
                           "LIMIT 1 OFFSET ?1",
                           -1, &st, NULL);
        sqlite3_bind_int64(st, 1, keep->keep_runs - 1);
        if (sqlite3_step(st) == SQLITE_ROW)
            cutoff = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
        st = NULL;
    }
    if (keep->keep_days > 0 && h->now - keep->keep_days * 86400 > cutoff)
        cutoff = h->now - keep->keep_days * 86400;
    if (cutoff == INT64_MIN)
        goto done;
    /* Runs strictly older than the cutoff go; the current run never does.
     * Their host outcomes and samples are ranges of the run id. */
    sqlite3_prepare_v2(h->db,
                       "DELETE FROM runs WHERE started_at < ?1 AND id != ?2 RETURNING id, report",
                       -1, &st, NULL);
    sqlite3_bind_int64(st, 1, cutoff);
    sqlite3_bind_int64(st, 2, h->run_id);
    json_t *ids = json_array();
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        json_array_append_new(ids, json_integer(sqlite3_column_int64(st, 0)));
        const char *rep = (const char *)sqlite3_column_text(st, 1);
        if (rep)
            json_array_append_new(files, json_string(rep));
    }
    sqlite3_finalize(st);
    st = NULL;
    if (rc != SQLITE_DONE) {
        json_decref(ids);
        r = db_fail(h, d, "pruning runs");
        goto out;
    }
    sqlite3_stmt *del_hs = NULL, *del_s = NULL;
    sqlite3_prepare_v2(h->db, "DELETE FROM host_scans WHERE run_id = ?1", -1, &del_hs, NULL);
    sqlite3_prepare_v2(h->db, "DELETE FROM samples WHERE run_id = ?1", -1, &del_s, NULL);
    size_t i;
    json_t *id;
    json_array_foreach (ids, i, id) {
        sqlite3_bind_int64(del_hs, 1, json_integer_value(id));
        sqlite3_bind_int64(del_s, 1, json_integer_value(id));
        if (sqlite3_step(del_hs) != SQLITE_DONE || sqlite3_step(del_s) != SQLITE_DONE)
            r = db_fail(h, d, "pruning samples");
        sqlite3_reset(del_hs);
        sqlite3_reset(del_s);
        if (r < 0)
            break;
    }
    sqlite3_finalize(del_hs);
    sqlite3_finalize(del_s);
    bool pruned = json_array_size(ids) > 0;
    json_decref(ids);
    if (r < 0)
        goto out;
    if (pruned && (r = nm_history_exec(h,
                                       "DELETE FROM severity_changes WHERE at < (SELECT "
                                       "min(started_at) FROM runs) AND finding_id IN (SELECT id "
                                       "FROM findings WHERE resolved_at IS NOT NULL);"
                                       "PRAGMA incremental_vacuum;",
                                       d)) < 0)
        goto out;
done:
    *ret_files = files;
    return 0;
out:
    json_decref(files);
    return r;
}
