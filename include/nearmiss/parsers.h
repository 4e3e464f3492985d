/*
 * Parsers turn the raw output of one probe into ITEMS: a JSON array of flat
 * objects (one per package, filesystem, device, array, certificate...), which
 * the check rules then judge.  Parsers only describe what they read; they
 * never decide severity.
 *
 * Everything a parser reads comes from a host and is hostile: parsers advance
 * a pointer within bounds, skip what they do not understand (counting it in
 * the item list's metadata when useful), cap the number of items at
 * NM_PARSER_MAX_ITEMS, and never crash on any input (each has a fuzz target).
 *
 * jansson ownership: `options` is borrowed; on success *ret_items is a NEW
 * reference to a JSON array the caller must json_decref().  On failure
 * *ret_items is untouched and d says why.
 *
 * Conventional item fields (use them when they fit, so rules and reports
 * stay uniform):
 *   "subject"  - what a finding about this item is about (path, package, device)
 *   "evidence" - the raw line(s) the item was read from (truncated to ~1 KiB)
 * Other fields are parser specific and documented in docs/parsers.md.
 */
#ifndef NEARMISS_PARSERS_H
#define NEARMISS_PARSERS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "nearmiss/error.h"

#define NM_PARSER_MAX_ITEMS    100000
#define NM_PARSER_MAX_EVIDENCE 1024

typedef int (*nm_parser_fn)(const char *data, size_t len, const json_t *options, json_t **ret_items,
                            nm_diag *d);

struct nm_parser_def {
    const char *name;
    nm_parser_fn fn;
    const char *summary;
};

const struct nm_parser_def *nm_parser_find(const char *name);
size_t nm_parser_count(void);
/* Whether the parser reads the time (certificate days left): such a parser
 * takes the run's clock as its "now" option (nm_check_evaluate). */
bool nm_parser_reads_clock(const struct nm_parser_def *p);
/* Whether the parser reads bytes, not text (DER certificates): its probe's
 * output must reach it unchanged, NUL bytes and all (script.h). */
bool nm_parser_reads_bytes(const struct nm_parser_def *p);
const struct nm_parser_def *nm_parser_at(size_t i);

#endif
