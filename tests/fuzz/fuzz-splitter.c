/*
 * The splitter of a host's output into probe sections, and a differential
 * check of it: the network may cut the two streams anywhere and interleave
 * them in any order, so feeding each stream whole, byte by byte, or in
 * pseudo-random chunks (streams interleaved) must give the same sections.
 *
 * Input: byte 0 = how the stdout part's length is taken, bytes 1-2 = that
 * length (mod the rest), then stdout, then stderr.  The marker is fixed, so
 * seeds can hold real framing; libFuzzer's comparison tracing finds it too.
 * A last run with a small host cap only has to stay within its bounds.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "nearmiss/script.h"
#include "nearmiss/util.h"

static const char marker[] = "0123456789abcdef0123456789abcdef";
static const struct nm_probe_spec probes[] = {
    {.id = "facts", .script = "", .cap = 4096},
    {.id = "a", .script = "", .cap = 64},
    {.id = "b.x-1", .script = "", .cap = 1u << 16, .timeout_s = 5},
    {.id = "c", .script = "", .cap = 16, .needs_root = true},
};
#define N_PROBES (sizeof probes / sizeof probes[0])

struct streams {
    const char *s[2];
    size_t len[2];
};

static uint64_t xorshift(uint64_t *st)
{
    *st ^= *st << 13;
    *st ^= *st >> 7;
    *st ^= *st << 17;
    return *st;
}

/* mode 0: each stream in one call; 1: one byte at a time, streams
 * alternating; 2: chunks of 1..97 bytes, the stream picked at random. */
static struct nm_splitter *split(const struct streams *in, int mode, uint64_t seed, uint64_t cap)
{
    struct nm_splitter *sp = nm_splitter_create(marker, probes, N_PROBES, cap);
    size_t off[2] = {0, 0};
    uint64_t st = seed | 1;
    int turn = 0;
    while (off[0] < in->len[0] || off[1] < in->len[1]) {
        int k = turn;
        if (mode == 2)
            k = (int)(xorshift(&st) & 1);
        if (off[k] >= in->len[k])
            k ^= 1;
        size_t left = in->len[k] - off[k];
        size_t n = mode == 0 ? left : mode == 1 ? 1 : 1 + (size_t)(xorshift(&st) % 97);
        if (n > left)
            n = left;
        nm_splitter_feed(sp, k, in->s[k] + off[k], n);
        off[k] += n;
        turn ^= 1;
    }
    nm_splitter_finish(sp);
    return sp;
}

static bool same_buf(const struct nm_buf *a, const struct nm_buf *b)
{
    return a->len == b->len && (a->len == 0 || memcmp(a->data, b->data, a->len) == 0);
}

static void same_result(const struct nm_splitter *a, const struct nm_splitter *b)
{
    FUZZ_ASSERT(nm_splitter_count(a) == nm_splitter_count(b));
    FUZZ_ASSERT(nm_splitter_total_bytes(a) == nm_splitter_total_bytes(b));
    FUZZ_ASSERT(nm_splitter_stray_bytes(a) == nm_splitter_stray_bytes(b));
    for (size_t i = 0; i < nm_splitter_count(a); i++) {
        const struct nm_section *x = nm_splitter_section(a, i), *y = nm_splitter_section(b, i);
        FUZZ_ASSERT(strcmp(x->id, y->id) == 0);
        FUZZ_ASSERT(x->state == y->state);
        FUZZ_ASSERT(x->state != NM_SECTION_DONE || x->exit_code == y->exit_code);
        FUZZ_ASSERT(same_buf(&x->out, &y->out));
        FUZZ_ASSERT(same_buf(&x->err, &y->err));
        FUZZ_ASSERT(x->out_total == y->out_total && x->err_total == y->err_total);
        FUZZ_ASSERT(x->out_truncated == y->out_truncated && x->err_truncated == y->err_truncated);
        FUZZ_ASSERT(strcmp(x->skip_reason, y->skip_reason) == 0);
        FUZZ_ASSERT(x->n_refused == y->n_refused && x->refused_total == y->refused_total);
        FUZZ_ASSERT(x->n_refused <= NM_REFUSED_MAX);
        for (unsigned k = 0; k < x->n_refused; k++)
            FUZZ_ASSERT(strcmp(x->refused[k], y->refused[k]) == 0 &&
                        strlen(x->refused[k]) <= NM_REFUSED_LEN);
    }
}

static void within_bounds(const struct nm_splitter *sp)
{
    for (size_t i = 0; i < nm_splitter_count(sp); i++) {
        const struct nm_section *s = nm_splitter_section(sp, i);
        FUZZ_ASSERT(s->out.len <= probes[i].cap && s->err.len <= probes[i].cap);
        FUZZ_ASSERT(s->out.len <= s->out_total && s->err.len <= s->err_total);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3)
        return 0;
    struct streams in;
    size_t rest = size - 3;
    size_t n0 = rest ? ((size_t)data[1] | (size_t)data[2] << 8) % (rest + 1) : 0;
    if (data[0] & 1)
        n0 = rest; /* everything on stdout: the common case */
    in.s[0] = (const char *)data + 3;
    in.len[0] = n0;
    in.s[1] = (const char *)data + 3 + n0;
    in.len[1] = rest - n0;
    uint64_t seed = 0xcbf29ce484222325u;
    for (size_t i = 0; i < size; i++)
        seed = (seed ^ data[i]) * 0x100000001b3u;

    /* The host cap counts both streams, so where it cuts depends on the
     * interleaving: the differential runs with room for everything. */
    uint64_t room = (uint64_t)size + 1;
    struct nm_splitter *whole = split(&in, 0, seed, room);
    struct nm_splitter *bytes = split(&in, 1, seed, room);
    struct nm_splitter *chunks = split(&in, 2, seed, room);
    within_bounds(whole);
    same_result(whole, bytes);
    same_result(whole, chunks);
    nm_splitter_destroy(whole);
    nm_splitter_destroy(bytes);
    nm_splitter_destroy(chunks);

    struct nm_splitter *capped = split(&in, 2, seed, 1 + data[0] % 200);
    within_bounds(capped);
    FUZZ_ASSERT(nm_splitter_total_bytes(capped) <= size);
    nm_splitter_destroy(capped);
    return 0;
}

/* A raw host output (a seed): all on stdout, and split between the streams. */
static void expand(const char *seed_dir, const uint8_t *data, size_t size, nm_fuzz_run_fn run)
{
    uint8_t *in = nm_xmalloc(size + 3);
    memcpy(in + 3, data, size);
    in[0] = 1, in[1] = in[2] = 0;
    run(in, size + 3);
    in[0] = 0, in[1] = (uint8_t)(size / 2), in[2] = (uint8_t)(size / 2 >> 8);
    run(in, size + 3);
    free(in);
}

const struct nm_fuzz_replay nm_fuzz_replay = {"splitter", expand};
