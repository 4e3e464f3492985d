/*
 * The line of a key path in a JSON text, for errors that name where a bad
 * value is written ("FILE:LINE: path: problem") although jansson gives
 * positions only for syntax errors.
 */
#ifndef NEARMISS_JSONPOS_H
#define NEARMISS_JSONPOS_H

#include <stddef.h>

/* One step of a path: an object key, or (key NULL) an array index. */
struct nm_json_seg {
    const char *key;
    size_t index;
};

/*
 * The 1-based line where the deepest existing step of path is written in
 * text (a key: its name; an element: its first character), or of the
 * document's start when not even the first step exists.  text must be valid
 * JSON (already parsed); depth 0 gives the document's start.
 */
size_t nm_json_line_of(const char *text, size_t len, const struct nm_json_seg *path, size_t depth);

#endif
