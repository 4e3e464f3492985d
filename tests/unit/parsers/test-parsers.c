/*
 * Table-driven parser tests (after jq's tests/jq.test and curl's testNNN):
 * every case is a pair of files under data/parsers/PARSER/:
 *   CASE.in    the raw probe output, captured from a real host or tool
 *   CASE.json  {"source": "where the input comes from",
 *               "options": {...}            (optional, parser options)
 *               "items": [...]              the exact expected items
 *               or "error": "substring"}    the parse must fail saying this
 * The parser is named by the directory.  A case that does not match prints
 * both documents.  Usage: test-parsers [PARSER...] (default: every directory).
 */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#include "nearmiss/parsers.h"
#include "nearmiss/util.h"
#include "test.h"

#define ROOT "data/parsers"

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static size_t list_dir(const char *path, char ***ret)
{
    DIR *dir = opendir(path);
    char **names = NULL;
    size_t n = 0;
    if (!dir)
        return 0;
    for (struct dirent *e; (e = readdir(dir));) {
        if (e->d_name[0] == '.')
            continue;
        names = nm_xreallocarray(names, n + 1, sizeof *names);
        names[n++] = nm_xstrdup(e->d_name);
    }
    closedir(dir);
    qsort(names, n, sizeof *names, cmp_str);
    *ret = names;
    return n;
}

static void run_case(const struct nm_parser_def *p, const char *dir, const char *base)
{
    char *in_path = nm_xasprintf("%s/%s.in", dir, base);
    char *exp_path = nm_xasprintf("%s/%s.json", dir, base);
    char *in = NULL;
    size_t in_len = 0;
    json_error_t jerr;
    json_t *exp = NULL, *got = NULL;
    nm_diag d = {{0}};

    test_checks++;
    if (nm_read_file(in_path, 64u << 20, &in, &in_len, &d) < 0) {
        fprintf(stderr, "%s: %s\n", in_path, d.msg);
        test_failures++;
        goto out;
    }
    exp = json_load_file(exp_path, JSON_REJECT_DUPLICATES, &jerr);
    if (!exp) {
        fprintf(stderr, "%s:%d: %s\n", exp_path, jerr.line, jerr.text);
        test_failures++;
        goto out;
    }
    const json_t *options = json_object_get(exp, "options");
    const json_t *want_items = json_object_get(exp, "items");
    const json_t *want_error = json_object_get(exp, "error");
    if (!json_is_string(json_object_get(exp, "source"))) {
        fprintf(stderr, "%s: every case must say where its input comes from (\"source\")\n",
                exp_path);
        test_failures++;
    }
    int r = p->fn(in, in_len, options, &got, &d);
    if (want_error) {
        if (r >= 0 || !strstr(d.msg, json_string_value(want_error))) {
            fprintf(stderr, "%s: expected an error containing \"%s\", got r=%d \"%s\"\n", exp_path,
                    json_string_value(want_error), r, r < 0 ? d.msg : "");
            test_failures++;
        }
        goto out;
    }
    if (r < 0) {
        fprintf(stderr, "%s: parser %s failed: %s\n", in_path, p->name, d.msg);
        test_failures++;
        goto out;
    }
    if (!json_equal(got, want_items)) {
        char *g = json_dumps(got, JSON_INDENT(2) | JSON_SORT_KEYS);
        char *w = json_dumps(want_items, JSON_INDENT(2) | JSON_SORT_KEYS);
        fprintf(stderr, "%s: items differ\n--- expected\n%s\n--- got\n%s\n", exp_path, w, g);
        free(g);
        free(w);
        test_failures++;
    }
out:
    json_decref(got);
    json_decref(exp);
    free(in);
    free(exp_path);
    free(in_path);
}

static void run_parser_dir(const char *name)
{
    const struct nm_parser_def *p = nm_parser_find(name);
    char *dir = nm_xasprintf("%s/%s", ROOT, name);
    char **files = NULL;
    size_t n = list_dir(dir, &files), cases = 0;
    if (!p) {
        fprintf(stderr, "%s: no parser named \"%s\"\n", dir, name);
        test_failures++;
    }
    for (size_t i = 0; i < n; i++) {
        size_t l = strlen(files[i]);
        if (p && l > 3 && strcmp(files[i] + l - 3, ".in") == 0) {
            char *base = nm_xstrndup(files[i], l - 3);
            run_case(p, dir, base);
            cases++;
            free(base);
        }
        free(files[i]);
    }
    free(files);
    printf("%-16s %zu cases\n", name, cases);
    if (cases == 0) {
        /* A parser without a single real case is untested, not passing. */
        fprintf(stderr, "%s: no cases\n", dir);
        test_failures++;
    }
    free(dir);
}

int main(int argc, char **argv)
{
    if (argc > 1) {
        for (int i = 1; i < argc; i++)
            run_parser_dir(argv[i]);
    } else {
        char **dirs = NULL;
        size_t n = list_dir(ROOT, &dirs);
        for (size_t i = 0; i < n; i++) {
            run_parser_dir(dirs[i]);
            free(dirs[i]);
        }
        free(dirs);
    }
    return test_result();
}
