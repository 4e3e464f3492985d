/* The check loader: one check file, as `-c DIR` loads each. */
#include "fuzz.h"
#include "nearmiss/check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct nm_checkset cs;
    nm_diag d;
    nm_checkset_init(&cs);
    if (nm_checkset_load_buffer(&cs, "fuzz.json", (const char *)data, size, &d) == 0) {
        for (size_t i = 0; i < cs.n_checks; i++)
            (void)nm_checkset_find(&cs, cs.checks[i].id);
    }
    nm_checkset_finish(&cs);
    return 0;
}

const struct nm_fuzz_replay nm_fuzz_replay = {"checks", NULL};
