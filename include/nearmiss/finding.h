/*
 * The words of a finding and its identity: templates expanded from an item,
 * the text form of item values, and the fingerprint that keeps a finding the
 * same from night to night (docs/checks.md, "Templates" and "Fingerprints").
 *
 * jansson ownership in this header: every json_t* parameter is borrowed.
 */
#ifndef NEARMISS_FINDING_H
#define NEARMISS_FINDING_H

#include <jansson.h>

/* Hex SHA-256 of check id, host and subject: stable across runs. */
void nm_finding_fingerprint(const char *check, const char *host, const char *subject, char out[65]);

/* Expands "{field}" from item (plus extra, may be NULL) into a malloc'd string. */
char *nm_template_expand(const char *tpl, const json_t *item, const json_t *extra);

/* The text of a JSON value as templates and regex matching see it (arrays
 * comma-separated, objects as compact JSON); malloc'd, never NULL. */
char *nm_value_text(const json_t *v);

#endif
