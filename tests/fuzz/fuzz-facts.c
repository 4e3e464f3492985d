/* The facts probe's output (os-release fields, kernel, commands present). */
#include "fuzz.h"
#include "nearmiss/facts.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *facts = NULL;
    if (nm_facts_parse((const char *)data, size, &facts, NULL) == 0)
        json_decref(facts);
    return 0;
}

const struct nm_fuzz_replay nm_fuzz_replay = {"facts", NULL};
