/*
 * Replays a fuzz target's corpus without libFuzzer, in every `meson test`
 * run: every file, then a fixed number of deterministic mutations of it (bit
 * flips, truncations, duplicated spans, inserted NULs, JSON and marker-like
 * bytes, invalid UTF-8).  Under the sanitizer build this finds what a
 * crash-only fuzzer would, in seconds; a file that once crashed a target
 * stays in its corpus as the regression test.
 *
 * Usage: fuzz-TARGET-replay [-n ITERATIONS] [--suffix SFX] [--seeds DIR]... [DIR]...
 *   DIR          files in the target's own input format (tests/fuzz/corpus/T)
 *   --seeds DIR  raw examples (and those one directory below), turned into
 *                target inputs by the target's nm_fuzz_expand (see fuzz.h)
 *   --suffix SFX only files ending in SFX, for the following --seeds
 * Fails when no file at all was found: an empty corpus tests nothing.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"
#include "nearmiss/util.h"

static uint64_t rng = 0x9e3779b97f4a7c15u;
static uint64_t next_rand(void)
{
    /* xorshift64*: deterministic, so a failure reproduces. */
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return rng * 2685821657736338717u;
}

static size_t total_runs, total_files;
static unsigned iterations = 20;

static void run_target(const uint8_t *data, size_t size)
{
    /* A private copy of exactly size bytes, so reading past it is caught. */
    uint8_t *copy = nm_xmalloc(size ? size : 1);
    if (size)
        memcpy(copy, data, size);
    LLVMFuzzerTestOneInput(copy, size);
    free(copy);
    total_runs++;
}

static void feed(const char *seed_dir, const uint8_t *data, size_t size)
{
    if (seed_dir && nm_fuzz_replay.expand)
        nm_fuzz_replay.expand(seed_dir, data, size, run_target);
    else
        run_target(data, size);
}

static size_t mutate(uint8_t *b, size_t n, size_t cap)
{
    unsigned edits = 1 + (unsigned)(next_rand() % 8);
    for (unsigned e = 0; e < edits && n > 0; e++) {
        size_t at = (size_t)(next_rand() % n);
        switch (next_rand() % 6) {
        case 0:
            b[at] ^= (uint8_t)(1u << (next_rand() % 8));
            break;
        case 1:
            n = at; /* truncate */
            break;
        case 2:
            b[at] = 0;
            break;
        case 3:
            b[at] = (uint8_t) "\n{}[]\"\\:=|%-"[next_rand() % 13];
            break;
        case 4: { /* duplicate a span */
            size_t span = (size_t)(next_rand() % 64);
            if (span > n - at)
                span = n - at;
            if (n + span <= cap) {
                memmove(b + at + span, b + at, n - at);
                n += span;
            }
            break;
        }
        default:
            b[at] = (uint8_t)(0x80 | next_rand()); /* bad UTF-8 */
            break;
        }
    }
    return n;
}

static void replay_file(const char *path, const char *seed_dir)
{
    char *data = NULL;
    size_t len = 0;
    if (nm_read_file(path, 4u << 20, &data, &len, NULL) < 0)
        return;
    total_files++;
    feed(seed_dir, (const uint8_t *)data, len);
    size_t cap = len * 2 + 64;
    uint8_t *b = nm_xmalloc(cap);
    for (unsigned it = 0; it < iterations; it++) {
        memcpy(b, data, len);
        feed(seed_dir, b, mutate(b, len, cap));
    }
    free(b);
    free(data);
}

static int strcmp_ptr(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void replay_dir(const char *dir, const char *suffix, bool seeds, int depth)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    /* Sorted, so the mutation stream and any failure reproduce exactly. */
    char **names = NULL;
    size_t n = 0;
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] == '.')
            continue;
        names = nm_xreallocarray(names, n + 1, sizeof *names);
        names[n++] = nm_xstrdup(e->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof *names, strcmp_ptr);
    for (size_t i = 0; i < n; i++) {
        char *p = nm_xasprintf("%s/%s", dir, names[i]);
        struct stat st;
        size_t l = strlen(names[i]), sl = suffix ? strlen(suffix) : 0;
        if (stat(p, &st) == 0 && S_ISDIR(st.st_mode)) {
            if (depth > 0)
                replay_dir(p, suffix, seeds, depth - 1);
        } else if (!suffix || (l >= sl && strcmp(names[i] + l - sl, suffix) == 0)) {
            replay_file(p, seeds ? dir : NULL);
        }
        free(p);
        free(names[i]);
    }
    free(names);
}

int main(int argc, char **argv)
{
    const char *suffix = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-n") == 0 && i + 1 < argc) {
            iterations = (unsigned)strtoul(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "--suffix") == 0 && i + 1 < argc) {
            suffix = argv[++i];
        } else if (strcmp(argv[i], "--seeds") == 0 && i + 1 < argc) {
            replay_dir(argv[++i], suffix, true, 1);
        } else {
            replay_dir(argv[i], NULL, false, 0);
        }
    }
    printf("fuzz replay %s: %zu files, %zu target runs, no crash\n", nm_fuzz_replay.name,
           total_files, total_runs);
    return total_files > 0 ? 0 : 1;
}
