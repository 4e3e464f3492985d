/*
 * What every fuzz target and the replay driver (fuzz-main.c) share.  A target
 * is one file defining LLVMFuzzerTestOneInput(); built with -Dfuzzing=true it
 * links libFuzzer, otherwise fuzz-main.c replays its corpus through the same
 * entry point in every `meson test` run (systemd's fuzz-main idea).
 *
 * Corpus files (tests/fuzz/corpus/TARGET/) are in the target's own input
 * format.  Seeds given to the driver with --seeds DIR are instead raw
 * examples of what is fuzzed (a captured host output, a real check file):
 * the target's nm_fuzz_expand() turns one into target inputs (e.g. once per
 * option set of the parser named by DIR), or NULL means "use as is".
 */
#ifndef NM_FUZZ_H
#define NM_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef void (*nm_fuzz_run_fn)(const uint8_t *data, size_t size);
struct nm_fuzz_replay {
    const char *name;
    /* seed_dir: the directory the seed came from (its last component names
     * e.g. the parser); run: call once per target input. */
    void (*expand)(const char *seed_dir, const uint8_t *data, size_t size, nm_fuzz_run_fn run);
};
extern const struct nm_fuzz_replay nm_fuzz_replay;

/* A failed differential or invariant check: a crash libFuzzer records. */
#define FUZZ_ASSERT(cond)                                                                          \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: fuzz invariant failed: %s\n", __FILE__, __LINE__, #cond);      \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

#endif
