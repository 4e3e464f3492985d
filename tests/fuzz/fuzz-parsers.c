/*
 * Every parser of host output, with every option set it really runs with:
 * each parser without options, each check of checks/ with its own parser
 * options (then the check's select and rules judge the items, as in a scan),
 * and the option sets of the parser test cases.  The first two input bytes
 * pick the (parser, options) pair, the rest is the host's output.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "nearmiss/check.h"
#include "nearmiss/inventory.h"
#include "nearmiss/parsers.h"
#include "nearmiss/util.h"

#include "nm-config.h"

struct combo {
    const struct nm_parser_def *parser;
    json_t *options;              /* own reference or NULL */
    const struct nm_check *check; /* judges the items, or NULL */
};

static struct combo *combos;
static size_t n_combos;
static struct nm_checkset checks;

static bool have_combo(const struct nm_parser_def *p, const json_t *o, const struct nm_check *c)
{
    for (size_t i = 0; i < n_combos; i++)
        if (combos[i].parser == p && combos[i].check == c &&
            ((!o && !combos[i].options) ||
             (o && combos[i].options && json_equal(o, combos[i].options))))
            return true;
    return false;
}

static void add_combo(const struct nm_parser_def *p, const json_t *o, const struct nm_check *c)
{
    if (!p || have_combo(p, o, c))
        return;
    combos = nm_xreallocarray(combos, n_combos + 1, sizeof *combos);
    combos[n_combos++] = (struct combo){p, o ? json_deep_copy(o) : NULL, c};
}

/* The option sets of tests/data/parsers/<parser>/<case>.json. */
static void add_case_options(const char *root)
{
    char *dir = nm_xasprintf("%s/tests/data/parsers", root);
    DIR *d = opendir(dir);
    for (struct dirent *e; d && (e = readdir(d));) {
        const struct nm_parser_def *p = nm_parser_find(e->d_name);
        if (!p)
            continue;
        char *sub = nm_xasprintf("%s/%s", dir, e->d_name);
        DIR *sd = opendir(sub);
        for (struct dirent *f; sd && (f = readdir(sd));) {
            size_t l = strlen(f->d_name);
            if (l < 5 || strcmp(f->d_name + l - 5, ".json") != 0)
                continue;
            char *path = nm_xasprintf("%s/%s", sub, f->d_name);
            json_t *exp = json_load_file(path, 0, NULL);
            const json_t *o = json_object_get(exp, "options");
            if (o)
                add_combo(p, o, NULL);
            json_decref(exp);
            free(path);
        }
        if (sd)
            closedir(sd);
        free(sub);
    }
    if (d)
        closedir(d);
    free(dir);
}

static void init(void)
{
    if (combos)
        return;
    for (size_t i = 0; i < nm_parser_count(); i++)
        add_combo(nm_parser_at(i), NULL, NULL);
    nm_checkset_init(&checks);
    nm_diag d = {{0}};
    if (nm_checkset_load_dir(&checks, NM_SOURCE_CHECKS_DIR, &d) < 0) {
        /* Without the real checks this target would quietly fuzz less. */
        fprintf(stderr, "fuzz-parsers: %s\n", d.msg);
        abort();
    }
    for (size_t i = 0; i < checks.n_checks; i++)
        add_combo(checks.checks[i].parser, checks.checks[i].parser_options, &checks.checks[i]);
    char *root = nm_xstrdup(NM_SOURCE_CHECKS_DIR);
    char *slash = strrchr(root, '/');
    if (slash)
        *slash = '\0';
    add_case_options(root);
    free(root);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    init();
    if (size < 2)
        return 0;
    const struct combo *c = &combos[(data[0] | (size_t)data[1] << 8) % n_combos];
    json_t *items = NULL;
    nm_diag d;
    if (c->parser->fn((const char *)data + 2, size - 2, c->options, &items, &d) < 0)
        return 0;
    if (c->check) {
        static char name[] = "fuzz", address[] = "192.0.2.1";
        struct nm_host h = {.name = name, .address = address};
        json_t *findings = json_array(), *metrics = json_object();
        json_decref(nm_check_judge_items(c->check, &h, items, findings, metrics));
        json_decref(findings);
        json_decref(metrics);
    }
    json_decref(items);
    return 0;
}

/* A captured output of parser P (tests/data/parsers/P/x.in) goes to every
 * option set of P; any other seed to every pair. */
static void expand(const char *seed_dir, const uint8_t *data, size_t size, nm_fuzz_run_fn run)
{
    init();
    const char *base = strrchr(seed_dir, '/');
    const struct nm_parser_def *p = nm_parser_find(base ? base + 1 : seed_dir);
    uint8_t *in = nm_xmalloc(size + 2);
    memcpy(in + 2, data, size);
    for (size_t i = 0; i < n_combos; i++) {
        if (p && combos[i].parser != p)
            continue;
        in[0] = (uint8_t)(i & 0xff);
        in[1] = (uint8_t)(i >> 8);
        run(in, size + 2);
    }
    free(in);
}

const struct nm_fuzz_replay nm_fuzz_replay = {"parsers", expand};
