/*
 * One fuzz target for every parser of host output.  The first input byte
 * picks the parser (or the facts parser, the splitter, known_hosts), the rest
 * is the host's output.  Built for libFuzzer with -Dfuzzing=true; otherwise
 * fuzz-main.c replays a corpus through the same entry point in every
 * `meson test` run (systemd's fuzz-main idea).
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "nearmiss/facts.h"
#include "nearmiss/knownhosts.h"
#include "nearmiss/parsers.h"
#include "nearmiss/script.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char marker[] = "0123456789abcdef0123456789abcdef";

static void fuzz_splitter(const char *in, size_t len)
{
    static const struct nm_probe_spec probes[] = {
        {.id = "a", .script = "", .cap = 64},
        {.id = "b", .script = "", .cap = 4096, .timeout_s = 5},
        {.id = "c", .script = "", .cap = 16, .needs_root = true},
    };
    struct nm_splitter *sp = nm_splitter_create(marker, probes, 3, 8192);
    /* Alternate streams in uneven chunks, as the network delivers them. */
    size_t off = 0, step = 1;
    while (off < len) {
        size_t n = len - off < step ? len - off : step;
        nm_splitter_feed(sp, (int)(step & 1), in + off, n);
        off += n;
        step = step * 3 % 17 + 1;
    }
    nm_splitter_finish(sp);
    for (size_t i = 0; i < nm_splitter_count(sp); i++)
        (void)nm_splitter_section(sp, i)->state;
    nm_splitter_destroy(sp);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const char *in = (const char *)data + 1;
    size_t len = size - 1;
    size_t n = nm_parser_count();
    size_t pick = data[0] % (n + 3);
    if (pick < n) {
        json_t *items = NULL;
        nm_diag d;
        if (nm_parser_at(pick)->fn(in, len, NULL, &items, &d) == 0)
            json_decref(items);
    } else if (pick == n) {
        json_t *facts = NULL;
        if (nm_facts_parse(in, len, &facts, NULL) == 0)
            json_decref(facts);
    } else if (pick == n + 1) {
        fuzz_splitter(in, len);
    } else {
        struct nm_known_hosts *kh = NULL;
        if (nm_known_hosts_parse("fuzz", in, len, &kh, NULL) == 0) {
            unsigned char blob[64] = {0,   0,   0,   11,  's', 's', 'h', '-',
                                      'e', 'd', '2', '5', '5', '1', '9'};
            size_t line = 0;
            nm_known_hosts_check(kh, "host", 22, blob, sizeof blob, &line);
            nm_known_hosts_check(kh, "127.0.0.1", 2222, blob, sizeof blob, &line);
            nm_known_hosts_destroy(kh);
        }
    }
    return 0;
}
