/*
 * The documentation lists every key the loaders accept, and nothing else.
 * The keys come from the loaders' own tables (the lists they reject unknown
 * keys with); the documented ones from the first column of the table under
 * "## Every key" in docs/checks.md and docs/inventory.md.
 */
#include <stdlib.h>
#include <string.h>

#include "nearmiss/check.h"
#include "nearmiss/inventory.h"
#include "nearmiss/util.h"
#include "test.h"

struct names {
    char **v;
    size_t n;
};

static void names_add(struct names *s, char *name)
{
    s->v = nm_xreallocarray(s->v, s->n + 1, sizeof *s->v);
    s->v[s->n++] = name;
}

static bool names_has(const struct names *s, const char *name)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->v[i], name) == 0)
            return true;
    return false;
}

static void names_free(struct names *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i]);
    free(s->v);
}

/* `key` of every table row in the "## Every key" section of a document. */
static void documented(const char *path, struct names *out)
{
    char *text = NULL;
    size_t len = 0;
    nm_diag d = {{0}};
    if (nm_read_file(path, 1u << 20, &text, &len, &d) < 0) {
        fprintf(stderr, "%s\n", d.msg);
        CHECK(!"documentation readable");
        return;
    }
    bool in = false;
    for (char *line = text; line && *line;) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        if (strncmp(line, "## ", 3) == 0)
            in = strcmp(line, "## Every key") == 0;
        else if (in && strncmp(line, "| `", 3) == 0) {
            const char *k = line + 3, *e = strchr(k, '`');
            if (e) {
                char *name = nm_xstrndup(k, (size_t)(e - k));
                if (names_has(out, name)) {
                    fprintf(stderr, "%s: `%s` listed twice\n", path, name);
                    CHECK(!"each key listed once");
                    free(name);
                } else {
                    names_add(out, name);
                }
            }
        }
        line = nl ? nl + 1 : NULL;
    }
    free(text);
}

static void compare(const char *doc, const struct nm_keyset *sets)
{
    struct names code = {0}, docs = {0};
    for (const struct nm_keyset *s = sets; s->prefix; s++)
        for (const char *const *k = s->keys; *k; k++) {
            char *name = nm_xasprintf("%s%s", s->prefix, *k);
            if (names_has(&code, name))
                free(name);
            else
                names_add(&code, name);
        }
    documented(doc, &docs);
    for (size_t i = 0; i < code.n; i++)
        if (!names_has(&docs, code.v[i])) {
            fprintf(stderr, "%s: the loader accepts `%s`, the document does not list it\n", doc,
                    code.v[i]);
            test_failures++;
        }
    for (size_t i = 0; i < docs.n; i++)
        if (!names_has(&code, docs.v[i])) {
            fprintf(stderr, "%s: lists `%s`, which the loader refuses\n", doc, docs.v[i]);
            test_failures++;
        }
    CHECK(code.n > 0);
    printf("%s: %zu keys in the loader, %zu documented\n", doc, code.n, docs.n);
    names_free(&code);
    names_free(&docs);
}

int main(void)
{
    compare("../docs/checks.md", nm_check_keysets);
    compare("../docs/inventory.md", nm_inventory_keysets);
    return test_result();
}
