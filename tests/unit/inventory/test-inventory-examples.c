/*
 * Every file in the repository's inventory/ folder (the examples the README
 * points at) loads without error and names at least one host, so an example
 * a reader copies is never one the loader refuses.
 */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#include "nearmiss/inventory.h"
#include "nearmiss/util.h"
#include "test.h"

int main(void)
{
    DIR *dir = opendir("../inventory");
    CHECK(dir != NULL);
    if (!dir)
        return test_result();
    size_t files = 0;
    for (struct dirent *e; (e = readdir(dir));) {
        if (e->d_name[0] == '.')
            continue;
        char *path = nm_xasprintf("../inventory/%s", e->d_name);
        struct nm_inventory inv;
        nm_diag d = {{0}};
        nm_inventory_init(&inv);
        int r = nm_inventory_load_file(&inv, path, &d);
        if (r < 0)
            fprintf(stderr, "%s\n", d.msg);
        CHECK_INT(r, 0);
        CHECK(inv.n_hosts > 0);
        printf("%s: %zu hosts\n", path, inv.n_hosts);
        nm_inventory_finish(&inv);
        free(path);
        files++;
    }
    closedir(dir);
    CHECK(files > 0);
    return test_result();
}
