/*
 * Replays the fuzz corpus without libFuzzer: every captured test input
 * (tests/data/parsers/ * / *.in and tests/fuzz/corpus/) is fed to EVERY
 * parser, then a fixed number of deterministic mutations of each (bit flips,
 * truncations, duplicated spans, inserted NULs and marker-like bytes).  Under
 * the sanitizer build this finds what a crash-only fuzzer would, in seconds.
 * Usage: fuzz-main [ITERATIONS_PER_FILE]
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nearmiss/parsers.h"
#include "nearmiss/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t rng = 0x9e3779b97f4a7c15u;
static uint64_t next_rand(void)
{
    /* xorshift64*: deterministic, so a failure reproduces. */
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return rng * 2685821657736338717u;
}

static size_t total_runs;

static void run_all_targets(const unsigned char *buf, size_t len)
{
    unsigned char *in = nm_xmalloc(len + 1);
    memcpy(in + 1, buf, len);
    for (unsigned t = 0; t < nm_parser_count() + 3; t++) {
        in[0] = (unsigned char)t;
        LLVMFuzzerTestOneInput(in, len + 1);
        total_runs++;
    }
    free(in);
}

static void mutate_and_run(const unsigned char *orig, size_t len, unsigned iterations)
{
    size_t cap = len * 2 + 64;
    unsigned char *b = nm_xmalloc(cap);
    for (unsigned it = 0; it < iterations; it++) {
        size_t n = len;
        memcpy(b, orig, len);
        unsigned edits = 1 + (unsigned)(next_rand() % 8);
        for (unsigned e = 0; e < edits && n > 0; e++) {
            size_t at = (size_t)(next_rand() % n);
            switch (next_rand() % 6) {
            case 0:
                b[at] ^= (unsigned char)(1u << (next_rand() % 8));
                break;
            case 1:
                n = at;
                break; /* truncate */
            case 2:
                b[at] = 0;
                break; /* NUL */
            case 3:
                b[at] = (unsigned char)"\n{}[]\"\\:=|%-"[next_rand() % 13];
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
                b[at] = (unsigned char)(0x80 | next_rand());
                break; /* bad UTF-8 */
            }
        }
        run_all_targets(b, n);
    }
    free(b);
}

static void replay_file(const char *path, unsigned iterations)
{
    char *data = NULL;
    size_t len = 0;
    if (nm_read_file(path, 4u << 20, &data, &len, NULL) < 0)
        return;
    run_all_targets((unsigned char *)data, len);
    mutate_and_run((unsigned char *)data, len, iterations);
    free(data);
}

static size_t replay_dir(const char *dir, const char *suffix, unsigned iterations)
{
    DIR *d = opendir(dir);
    size_t files = 0;
    if (!d)
        return 0;
    for (struct dirent *e; (e = readdir(d));) {
        size_t l = strlen(e->d_name), sl = strlen(suffix);
        if (e->d_name[0] == '.' || l < sl || strcmp(e->d_name + l - sl, suffix) != 0)
            continue;
        char *p = nm_xasprintf("%s/%s", dir, e->d_name);
        replay_file(p, iterations);
        free(p);
        files++;
    }
    closedir(d);
    return files;
}

int main(int argc, char **argv)
{
    unsigned iterations = 20;
    if (argc > 1)
        iterations = (unsigned)strtoul(argv[1], NULL, 10);
    size_t files = replay_dir("fuzz/corpus", "", iterations);
    DIR *d = opendir("data/parsers");
    if (d) {
        for (struct dirent *e; (e = readdir(d));) {
            if (e->d_name[0] == '.')
                continue;
            char *p = nm_xasprintf("data/parsers/%s", e->d_name);
            files += replay_dir(p, ".in", iterations);
            free(p);
        }
        closedir(d);
    }
    printf("fuzz replay: %zu files, %zu target runs, no crash\n", files, total_runs);
    /* An empty corpus would make this test pass without testing anything. */
    return files > 0 ? 0 : 1;
}
