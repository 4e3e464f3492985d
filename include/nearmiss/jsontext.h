/*
 * JSON text of a jansson value as the reports are written: the bytes of
 * json_dumps(v, JSON_INDENT(2) | JSON_REAL_PRECISION(15) | JSON_ENCODE_ANY)
 * (members in insertion order, as jansson 2.14 keeps them), every line after
 * the first indented by 2*depth more spaces, so a value can be written in
 * place inside a larger document.  Written straight into a buffer, without
 * jansson's callback per token and without a second copy to indent it: the
 * JSON report writes about 11 KB per host this way.
 */
#ifndef NEARMISS_JSONTEXT_H
#define NEARMISS_JSONTEXT_H

#include <jansson.h>

#include "nearmiss/util.h"

/* Appends v's text to b.  Fails (NM_ERR_INVAL, b holding part of the text)
 * where json_dumps fails: a string or key that is not valid UTF-8, or
 * containers nested deeper than NM_JSONTEXT_MAX_DEPTH (jansson itself would
 * recurse on). */
#define NM_JSONTEXT_MAX_DEPTH 512
int nm_json_indented(struct nm_buf *b, const json_t *v, int depth);

#endif
