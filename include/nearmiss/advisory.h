/*
 * Where an advisory or CVE id is published.  The table (docs/checks.md,
 * "Links") maps an id's vendor prefix to the vendor's own page; ids come
 * from hosts, so only ids of a strict shape get a link, and the link is
 * built from a fixed prefix, never taken from the host.
 */
#ifndef NEARMISS_ADVISORY_H
#define NEARMISS_ADVISORY_H

#include <stdbool.h>
#include <stddef.h>

/* Writes the https URL of advisory or CVE `id` into out and returns true;
 * false (out untouched) when the id is not one the table knows, is not of
 * the vendor's shape, or the URL does not fit. */
bool nm_advisory_url(const char *id, char *out, size_t size);

/* "advisory" or "cve" for an id nm_advisory_url knows, else NULL. */
const char *nm_advisory_kind(const char *id);

#endif
