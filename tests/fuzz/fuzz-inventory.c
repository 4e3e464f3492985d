/*
 * The inventory loader (native JSON and `ansible-inventory --list`), then
 * what a scan does with a loaded inventory: lookups, how each host is
 * reached (the command line's values against the file's), selection.
 */
#include <stdlib.h>

#include "fuzz.h"
#include "nearmiss/inventory.h"
#include "nearmiss/reach.h"
#include "nearmiss/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct nm_inventory inv;
    nm_diag d;
    nm_inventory_init(&inv);
    if (nm_inventory_load_buffer(&inv, "fuzz.json", (const char *)data, size, &d) == 0 &&
        inv.n_hosts > 0) {
        const struct nm_host *h = &inv.hosts[0];
        (void)nm_inventory_find_host(&inv, h->name);
        (void)nm_host_label(h, "zone");
        if (h->n_roles > 0)
            (void)nm_inventory_find_role(&inv, h->roles[0]);
        /* A copy: selection frees the hosts it drops, roles included (the
         * command line's --role is never the inventory's own string). */
        char *role = h->n_roles ? nm_xstrdup(h->roles[0]) : NULL;
        struct nm_reach_options ro = {.user = "ops",
                                      .port = 2222,
                                      .identity = "~/.ssh/id_ed25519",
                                      .known_hosts = "~/.ssh/known_hosts"};
        struct nm_reach_set rs;
        if (nm_reach_resolve(&inv, &ro, &rs, &d) == 0)
            nm_reach_set_finish(&rs);
        nm_inventory_select(&inv, "*1*,w?b*", role, &d);
        free(role);
    }
    nm_inventory_finish(&inv);
    return 0;
}

const struct nm_fuzz_replay nm_fuzz_replay = {"inventory", NULL};
