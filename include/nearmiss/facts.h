/*
 * Host facts, gathered by the built-in probe "nm.facts" that runs first in
 * every host's script: os-release, kernel, architecture, hostname, uptime,
 * the login uid, and which of the commands that checks require exist.
 *
 * jansson ownership: *ret is a new reference.
 */
#ifndef NEARMISS_FACTS_H
#define NEARMISS_FACTS_H

#include <jansson.h>
#include <stddef.h>

#include "nearmiss/check.h"
#include "nearmiss/error.h"

#define NM_FACTS_PROBE_ID "nm.facts"

/* The facts snippet, asking about every command any check in cs requires. */
char *nm_facts_script(const struct nm_checkset *cs);

/*
 * Parses the snippet's output into
 *   {"os": {"id", "version_id", "id_like": [...], "name", "pretty_name"},
 *    "kernel", "arch", "hostname", "uptime_seconds", "uid", "commands": {name: true}}
 * Unknown lines are ignored; values are sanitised and capped.
 */
int nm_facts_parse(const char *data, size_t len, json_t **ret, nm_diag *d);

#endif
