/*
 * bench-parser PARSER FILE [REPEAT] — runs one built-in parser over a
 * captured probe output REPEAT times (default 100) and prints the items of
 * the last run and the time per run: for profiling a parser alone, e.g.
 * under valgrind --tool=callgrind.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "nearmiss/parsers.h"
#include "nearmiss/util.h"

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s PARSER FILE [REPEAT]\n", argv[0]);
        return 2;
    }
    const struct nm_parser_def *p = nm_parser_find(argv[1]);
    uint64_t repeat = 100;
    if (!p || (argc > 3 && (nm_str_to_u64(argv[3], &repeat) < 0 || repeat == 0))) {
        fprintf(stderr, "%s: unknown parser or bad REPEAT\n", argv[0]);
        return 2;
    }
    char *data = NULL;
    size_t len = 0;
    nm_diag d = {{0}};
    if (nm_read_file(argv[2], 256u << 20, &data, &len, &d) < 0) {
        fprintf(stderr, "%s: %s\n", argv[0], d.msg);
        return 1;
    }
    size_t n_items = 0;
    int64_t t0 = nm_now_ms();
    for (uint64_t i = 0; i < repeat; i++) {
        json_t *items = NULL;
        if (p->fn(data, len, NULL, &items, &d) < 0) {
            fprintf(stderr, "%s: %s\n", argv[0], d.msg);
            free(data);
            return 1;
        }
        n_items = json_array_size(items);
        json_decref(items);
    }
    int64_t ms = nm_now_ms() - t0;
    printf("%s: %zu bytes, %zu items, %" PRIu64 " runs, %.3f ms per run\n", p->name, len, n_items,
           repeat, (double)ms / (double)repeat);
    free(data);
    return 0;
}
