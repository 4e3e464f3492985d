/*
 * Release lifecycles: when each distribution release leaves security
 * support, read from the data file shipped with the checks
 * (checks/data/lifecycle.json, format in docs/checks-patch.md), and where a
 * host's release stands on the run's clock.
 *
 * A release has the end of its standard security support and, optionally,
 * later programs (Debian LTS and ELTS, Ubuntu Pro ESM, RHEL ELS, SUSE LTSS,
 * Oracle Extended Support), each with its own end.  A program covers a host
 * when it is automatic (Debian LTS comes through the regular security
 * archive) or when the host shows the program's marker (the os-lifecycle
 * probe prints one per program it finds configured).
 *
 * jansson ownership: json_t parameters are borrowed; nm_lifecycle_annotate
 * adds fields to the items it is given (they stay the caller's).
 */
#ifndef NEARMISS_LIFECYCLE_H
#define NEARMISS_LIFECYCLE_H

#include <jansson.h>
#include <stdint.h>

#include "nearmiss/error.h"

struct nm_lifecycle;

/*
 * Loads and validates a lifecycle file: every date a real YYYY-MM-DD, every
 * release with its source URL, releases of a distribution in ascending order
 * of version and release date, support ends not before the release, every
 * extended program declared by its distribution and ending after the
 * security support.  Errors name the file and the key (NM_ERR_CONFIG, or
 * NM_ERR_PARSE / NM_ERR_IO for an unreadable file).
 */
int nm_lifecycle_load(const char *path, struct nm_lifecycle **ret, nm_diag *d);
int nm_lifecycle_load_buffer(const char *name, const char *data, size_t len,
                             struct nm_lifecycle **ret, nm_diag *d);
void nm_lifecycle_destroy(struct nm_lifecycle *lc);

/* Where the file was read from (for messages). */
const char *nm_lifecycle_origin(const struct nm_lifecycle *lc);

/*
 * Adds to each item of the os_lifecycle parser ("os", "version_id",
 * "extended_markers") where its release stands at `now` (unix seconds):
 *   known        false when the release is not in the file (then "reason")
 *   distribution, release, codename, release_label, source
 *   phase        standard | extended | unsupported | ended | unknown
 *   days_left    whole days until the end of the support the host is on
 *                (negative once past: days since the end)
 *   support_end  the date days_left counts to; security_end; last_end
 *   program      the extended program covering the host (phase extended)
 *   available    programs that would still cover it (phase unsupported)
 * A support date is the last day of support: a release is past it from the
 * next midnight UTC on.
 */
void nm_lifecycle_annotate(const struct nm_lifecycle *lc, json_t *items, int64_t now);

/* "YYYY-MM-DD" to the unix second of its midnight UTC; NM_ERR_PARSE. */
int nm_lifecycle_parse_date(const char *s, int64_t *ret);

#endif
