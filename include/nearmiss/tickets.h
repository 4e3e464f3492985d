/*
 * Tickets: one ticket per finding fingerprint and target, opened once when a
 * finding reaches the minimum severity, updated when its severity really
 * changes, resolved when the finding is resolved or falls below the minimum.
 *
 * Two steps of a run use this (docs/tickets.md):
 *   - planning, inside the run's one history transaction: reads ticket_state
 *     and the annotated report, appends events to ticket_queue and updates
 *     ticket_state.  A run that dies before its commit planned nothing.
 *   - delivery, after the commit: sends each target's queued events in order;
 *     each success is marked in its own small transaction, so a delivered
 *     event is never sent again and a failed one waits, with every later
 *     event of the same ticket behind it, for the next run.
 *
 * Secrets (GITHUB_TOKEN, JIRA_USER/JIRA_TOKEN, the PagerDuty routing key) are
 * read from the environment or the target and never stored, logged or put
 * into a diagnostic; the database names a PagerDuty target by a digest of its
 * key.
 *
 * jansson ownership: every json_t passed in is borrowed; nm_tickets_plan_events
 * returns new references in its result, which nm_ticket_plan_finish releases.
 */
#ifndef NEARMISS_TICKETS_H
#define NEARMISS_TICKETS_H

#include <jansson.h>
#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "nearmiss/error.h"
#include "nearmiss/hostiter.h"

#define NM_TICKET_SCHEMA          "nearmiss.ticket/1"
#define NM_TICKETS_SCHEMA_VERSION 1

enum nm_ticket_kind {
    NM_TICKET_EXEC,
    NM_TICKET_DIR,
    NM_TICKET_PAGERDUTY,
    NM_TICKET_GITHUB,
    NM_TICKET_JIRA,
};

struct nm_ticket_target {
    enum nm_ticket_kind kind;
    char *arg; /* the part after "KIND:": command, path, routing key, OWNER/REPO, PROJECT */
    char *key; /* its name in the database and in messages: the spec, except that a
                  PagerDuty routing key is replaced by "sha256:" and 16 hex digits */
};

struct nm_ticket_options {
    struct nm_ticket_target *targets;
    size_t n_targets;
    int min_severity;          /* enum nm_severity; NM_SEV_HIGH by default */
    const char *pagerduty_url; /* base URLs; NULL = the public service */
    const char *github_url;
    const char *jira_url; /* no public default: required for a jira: target */
    const char *jira_issue_type;
    int connect_timeout_s; /* HTTP connect deadline */
    int timeout_s;         /* one HTTP request, or one exec: command, as a whole */
    int file_mode;         /* of dir: ticket files (0: 0600, as reports); a dir: directory
                            * made here gets nm_outdir_dir_mode() of it */
};

#define NM_TICKET_DEFAULT_PAGERDUTY_URL "https://events.pagerduty.com"
#define NM_TICKET_DEFAULT_GITHUB_URL    "https://api.github.com"

void nm_ticket_options_init(struct nm_ticket_options *o);
void nm_ticket_options_finish(struct nm_ticket_options *o);
/* Parses "exec:CMD", "dir:PATH", "pagerduty:KEY", "github:OWNER/REPO" or
 * "jira:PROJECT" and appends it; NM_ERR_INVAL with the reason otherwise.
 * The same target twice is accepted once. */
int nm_ticket_options_add_target(struct nm_ticket_options *o, const char *spec, nm_diag *d);
/* What the targets need that is not on the command line (tokens in the
 * environment, --jira-url): NM_ERR_CONFIG naming the first thing missing. */
int nm_ticket_options_check(const struct nm_ticket_options *o, nm_diag *d);

/* Creates or upgrades the ticket_ tables and records component 'tickets' in
 * schema_version, inside the caller's open transaction.  A database whose
 * tickets schema is newer than this binary is NM_ERR_CONFIG, untouched. */
int nm_tickets_migrate(sqlite3 *db, nm_diag *d);

/* ---- Planning (pure) ---- */

/* What ticket_state remembers per target and fingerprint. */
struct nm_ticket_state {
    char *fingerprint;
    int open;     /* a ticket is open (as planned; delivery may lag) */
    int severity; /* last severity the ticket was told about */
    char *host;   /* NULL for a fleet finding */
    char *check;
    char *category;
    char *subject;
    char *summary;
    char *message;
    char *remediation;
    char *first_seen; /* ISO-8601 UTC */
};

struct nm_ticket_plan {
    json_t **events; /* nearmiss.ticket/1 objects, in delivery order (new references) */
    size_t n_events;
    struct nm_ticket_state *states; /* the states after these events (changed ones only) */
    size_t n_states;
    size_t opened, updated, resolved;
};

/* Decides the events for one target from its current states (any order) and
 * the annotated report (findings with change/first_seen/waived,
 * fleet_findings, the top-level resolved list).  Writes nothing.  The
 * hosts' findings come from hosts when it is given (a run whose hosts wait
 * on disk: report["hosts"] then holds their summaries, whose status is all
 * that is read from it), else from report["hosts"]; NM_ERR_* of the
 * iterator passes through. */
int nm_tickets_plan_events(const struct nm_ticket_state *states, size_t n_states,
                           const json_t *report, const struct nm_host_iter *hosts, int min_severity,
                           int64_t now, struct nm_ticket_plan *ret, nm_diag *d);
void nm_ticket_plan_finish(struct nm_ticket_plan *p);
void nm_ticket_state_finish(struct nm_ticket_state *s);

/* ---- The database side ---- */

struct nm_ticket_counts {
    size_t opened, updated, resolved; /* events queued by this plan */
    size_t delivered, failed;         /* delivery: sent now; failed now */
    size_t waiting;                   /* still queued after delivery */
    char first_error[512];            /* the first failure, for the summary line */
};

/* For every target of o: plans and enqueues (inside the caller's transaction). */
int nm_tickets_plan(sqlite3 *db, const struct nm_ticket_options *o, const json_t *report,
                    const struct nm_host_iter *hosts, int64_t now, struct nm_ticket_counts *ret,
                    nm_diag *d);

/* Delivers every target's queue (outside any transaction).  A failed event is
 * counted, recorded in its row and kept; it is not an error of the run.
 * Negative only when the database itself fails. */
int nm_tickets_deliver(sqlite3 *db, const struct nm_ticket_options *o, int64_t now,
                       struct nm_ticket_counts *ret, nm_diag *d);

#endif
