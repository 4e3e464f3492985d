/*
 * Checks are data: one JSON file per check in checks/ (format in
 * docs/checks.md).  A check names a probe (a sh snippet run inside the
 * host's one script; checks naming the same probe id share one run), a
 * parser that turns the probe's output into items, and rules that judge
 * each item.  One finding per item whose worst rule fired.
 *
 * jansson ownership in this header: every json_t* parameter is borrowed;
 * functions documented "new reference" hand the caller one to release.
 */
#ifndef NEARMISS_CHECK_H
#define NEARMISS_CHECK_H

#include <jansson.h>
#include <regex.h>
#include <stdbool.h>
#include <stddef.h>

#include "nearmiss/error.h"
#include "nearmiss/finding.h"
#include "nearmiss/version.h"
#include "nearmiss/inventory.h"
#include "nearmiss/lifecycle.h"
#include "nearmiss/model.h"
#include "nearmiss/parsers.h"
#include "nearmiss/script.h"
#include "nearmiss/util.h"

/* A probe that exits with this status says the host has nothing for its
 * checks to look at (systemctl on a host not booted with systemd): the
 * checks are notapplicable, with the last line of its stderr as the reason,
 * unless a check lists 77 in ok_exit.  The number is the one test harnesses
 * use for "skipped". */
#define NM_PROBE_EXIT_NOTAPPLICABLE 77

enum nm_op {
    NM_OP_LT,
    NM_OP_LE,
    NM_OP_GT,
    NM_OP_GE,
    NM_OP_EQ,
    NM_OP_NE,
    NM_OP_MATCH, /* POSIX extended regex on the string form */
    NM_OP_NMATCH,
    NM_OP_VLT,
    NM_OP_VLE,
    NM_OP_VGT,
    NM_OP_VGE,    /* version comparison */
    NM_OP_IN,     /* value is an array; field equals one element */
    NM_OP_EXISTS, /* field present and not null (value true) / absent (false) */
};

struct nm_cond {
    char *field;
    enum nm_op op;
    json_t *value; /* own reference */
    regex_t re;
    bool has_re;
};

struct nm_threshold {
    enum nm_severity severity;
    json_t *value; /* own reference */
    regex_t re;
    bool has_re;
};

struct nm_rule {
    struct nm_cond *when; /* all must hold for the rule to apply */
    size_t n_when;
    bool override; /* when it applies, non-override rules are ignored */
    char *field;   /* the metric; NULL for a constant-severity rule */
    enum nm_op op;
    struct nm_threshold *thresholds; /* most severe first */
    size_t n_thresholds;
    char *severity_from;       /* take severity from this item field ... */
    json_t *severity_map;      /* ... through this map (value -> severity name) */
    enum nm_severity severity; /* constant severity (no field/thresholds) */
    char *message;             /* template; NULL = the check's */
};

/*
 * What a check's findings mean for the near-miss ledger (docs/ledger.md):
 * when an item has reached the failure point the check guards against, and
 * how far from it an item is, in the check's own unit.
 */
struct nm_ledger_def {
    bool declared;
    bool failure_always;     /* "failure": "always": any finding is the failure itself */
    struct nm_cond *failure; /* any holding = failure point reached */
    size_t n_failure;
    char *unit;    /* NULL: the check has no margin */
    char **fields; /* margin = lowest over these fields of ... */
    size_t n_fields;
    bool has_from;
    double from; /* ... (from - field) when set, else the field itself ... */
    char *minus; /* ... minus this item field when set */
    char *item;  /* fleet findings: the object holding the fields ("details") */
};

/* Growth worth telling between two scans of the same item: a field that
 * grew by at least min_growth raises the finding one severity. */
struct nm_trend_field {
    char *field;
    double min_growth;
};

/*
 * "group": findings fixed by one action become one finding.  An item's group
 * is named by the first `by` entry whose field holds a non-empty string on
 * it; items that no entry names stay findings of their own.  The group's
 * subject is `by[].subject` expanded with that one field alone, so its
 * fingerprint stays when members join or leave.  The finding takes the
 * worst member's verdict; its templates also see {members} and
 * {member_count}; a note whose conditions hold on any member is appended to
 * its message.
 */
struct nm_group_by {
    char *field;
    char *subject; /* template over {field} only */
};

struct nm_group_note {
    struct nm_cond *when;
    size_t n_when;
    char *text; /* template, like the message */
};

struct nm_group_def {
    struct nm_group_by *by;
    size_t n_by;
    char *member; /* item field naming each member in {members} */
    struct nm_group_note *notes;
    size_t n_notes;
};

struct nm_probe_def {
    char *id;
    char *script;
    bool needs_root;
    /* With needs_root: the exact command lines (absolute path and arguments,
     * sudoers wildcards allowed except *) that the snippet runs as root
     * through nm_root; the snippet itself runs as the login user.  None: the
     * whole snippet runs as root. */
    char **root_commands;
    size_t n_root_commands;
    unsigned timeout_s;
    size_t max_output;
    /* Some check reads this probe's output with a parser of bytes
     * (nm_parser_reads_bytes): it must be sent unchanged, not captured. */
    bool raw_output;
    char *origin; /* file that defined it first */
};

struct nm_check {
    char *id;
    long version;
    char *title;
    char *category;
    char *description;
    json_t *references; /* array of strings, own reference */
    char *origin;       /* the check's file */


    /* applicability */
    char **os; /* globs against os id and id_like words */
    size_t n_os;
    char **os_version; /* globs against version_id */
    size_t n_os_version;
    char **commands; /* all must exist on the host */
    size_t n_commands;
    char **roles; /* any */
    size_t n_roles;
    struct nm_label *labels; /* all must match (value is a glob) */
    size_t n_labels;
    char **criticality; /* any of these inventory criticalities */
    size_t n_criticality;

    bool source_tls;            /* items come from the scanner's TLS probes of the
                                   host's inventory "tls" endpoints, not a probe */
    struct nm_probe_def *probe; /* borrowed from the check set; NULL for source_tls */
    int *ok_exit;
    size_t n_ok_exit;
    const struct nm_parser_def *parser;
    json_t *parser_options; /* own reference or NULL */
    /* "lifecycle": a release lifecycle file (path relative to the check
     * file) whose dates annotate the parser's items before the rules run;
     * owned, NULL for other checks. */
    struct nm_lifecycle *lifecycle;
    struct nm_cond *select;
    size_t n_select;
    struct nm_rule *rules;
    size_t n_rules;
    char *subject; /* template */
    char *message; /* template */
    char *remediation;
    char *missing_remediation; /* shown when a required command is missing */
    char *error_remediation;   /* shown when the check could not run (e.g. no sudo) */
    char *ticket_summary;      /* template */
    char *record_key;          /* item field naming each recorded item (e.g. "mount") */
    char **record_fields;      /* item fields kept in the host's "metrics" */
    size_t n_record_fields;
    /* "fleet": what a fleet rule reads from the recorded fields; NULL = none.
     * Rule "shared-server": every scanned host of a role depending on the
     * same single server is the fleet finding `finding` (medium). */
    struct nm_check_fleet {
        char *rule;    /* "shared-server" */
        char *finding; /* fleet check id of the finding, e.g. "role-shared-dns" */
        char *single;  /* recorded boolean field: the host has one server */
        char *server;  /* recorded field naming it (a string, or the first of a list) */
        char *what;    /* what a server is, in the message: "DNS resolver" */
    } * fleet;
    bool source_history;          /* items come from the history database (forecasts) */
    json_t *history;              /* "history": how (kind, parameters); own reference */
    struct nm_ledger_def ledger;  /* "ledger" */
    struct nm_trend_field *trend; /* "trend.raise" */
    size_t n_trend;
    struct nm_group_def *group; /* "group"; NULL = one finding per item */
    char **links;               /* item fields holding advisory or CVE ids */
    size_t n_links;
    json_t *definition; /* the file as loaded, for `checks show` and nm_checkset_digest */
};

struct nm_checkset {
    struct nm_check *checks;
    size_t n_checks;
    struct nm_probe_def **probes;
    size_t n_probes;
};

void nm_checkset_init(struct nm_checkset *cs);
void nm_checkset_finish(struct nm_checkset *cs);
/* Keeps only the checks named in ids (all must exist: NM_ERR_NOTFOUND). */
int nm_checkset_keep(struct nm_checkset *cs, char *const *ids, size_t n_ids, nm_diag *d);

/* Loads every *.json in dir (sorted by name).  Any error fails the whole load
 * with "FILE:LINE: key: problem" in d (LINE where that key is written). */
int nm_checkset_load_dir(struct nm_checkset *cs, const char *dir, nm_diag *d);
int nm_checkset_load_buffer(struct nm_checkset *cs, const char *name, const char *data, size_t len,
                            nm_diag *d);
/* One digest for the whole set: SHA-256 over the checks' ids and digests in id
 * order.  Shard reports carry it so that merge refuses mixed check sets. */
void nm_checkset_digest(const struct nm_checkset *cs, char out[65]);
/* Every key a check file may hold (see struct nm_keyset). */
extern const struct nm_keyset nm_check_keysets[];

const struct nm_check *nm_checkset_find(const struct nm_checkset *cs, const char *id);

/*
 * What the host's facts say about applicability.  Returns true when the check
 * applies; otherwise writes a reason ("os is alpine, check wants debian").
 */
bool nm_check_applies(const struct nm_check *c, const struct nm_host *h, const json_t *facts,
                      char *why, size_t why_len);

/*
 * Judges one probe section.  Appends findings (objects in report form, with
 * "severity", "subject", "message", "value", "threshold", "evidence",
 * "fingerprint"...) to `findings`, stores the fields named by the check's
 * "record" under metrics[check id][item key] (metrics may be NULL), and
 * returns the check's entry for the report's "checks" array as a NEW
 * reference.  `now` (unix seconds, the run's clock) reaches parsers that
 * read the time (nm_parser_reads_clock) as their "now" option, unless the
 * check file sets one.
 */
json_t *nm_check_evaluate(const struct nm_check *c, const struct nm_host *h,
                          const struct nm_section *sec, int64_t now, json_t *findings,
                          json_t *metrics);

/*
 * The same with the parser options prepared once per run: what
 * nm_check_parser_options returned for this check (borrowed), so that many
 * hosts judged at one clock do not each rebuild them.
 */
json_t *nm_check_evaluate_with(const struct nm_check *c, const struct nm_host *h,
                               const struct nm_section *sec, const json_t *parser_options,
                               int64_t now, json_t *findings, json_t *metrics);
/* The check's parser options at the run's clock `now`: a NEW reference (NULL
 * when the check has none and its parser does not read the clock). */
json_t *nm_check_parser_options(const struct nm_check *c, int64_t now);

/*
 * Judges items that did not come from a probe section (TLS endpoints): the
 * same select/rules/record path as nm_check_evaluate.  items is borrowed.
 */
json_t *nm_check_judge_items(const struct nm_check *c, const struct nm_host *h, const json_t *items,
                             json_t *findings, json_t *metrics);

/*
 * The part of nm_check_applies that the inventory alone decides (roles,
 * criticality, labels): known before any probe runs, so the scan leaves the
 * probes of such checks out of the host's script.  why may be NULL.
 */
bool nm_check_applies_to_host(const struct nm_check *c, const struct nm_host *h, char *why,
                              size_t why_len);

/* The first command the check requires that the host lacks, or NULL. */
const char *nm_check_missing_command(const struct nm_check *c, const json_t *facts);

/* A check entry for a check that could not be judged. */
json_t *nm_check_result_entry(const struct nm_check *c, enum nm_check_result r, const char *reason);

/* True when every condition holds on item (an empty list holds). */
bool nm_conds_hold(const struct nm_cond *c, size_t n, const json_t *item);

/* Parses a "ledger" object (docs/checks.md) for checks defined outside
 * checks/ (fleet checks); origin names it in errors. */
int nm_ledger_def_parse(const char *origin, const json_t *v, struct nm_ledger_def *ret, nm_diag *d);
void nm_ledger_def_finish(struct nm_ledger_def *def);

#endif
