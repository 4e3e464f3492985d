/*
 * Inventory tests.  Runs with the working directory at tests/, so fixtures
 * are under data/inventory/.  Error cases are table-driven: each
 * data/inventory/errors/NAME.json has the exact message it must produce in
 * NAME.err, and must leave the inventory it was loaded into untouched.
 */
#include <dirent.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nearmiss/inventory.h"
#include "nearmiss/reach.h"
#include "nearmiss/util.h"
#include "test.h"

#define DATA "data/inventory/"

static const char *home(void)
{
    const char *h = getenv("HOME");
    return h && *h ? h : "/";
}

static char *home_path(const char *rest)
{
    return nm_xasprintf("%s/%s", home(), rest);
}

static int load(struct nm_inventory *inv, const char *file, nm_diag *d)
{
    char *path = nm_xasprintf(DATA "%s", file);
    int r = nm_inventory_load_file(inv, path, d);
    free(path);
    return r;
}

static void test_native_full(void)
{
    struct nm_inventory inv;
    nm_diag d = {""};
    nm_inventory_init(&inv);
    CHECK_INT(load(&inv, "native-full.json", &d), 0);
    CHECK_STR(d.msg, "");
    CHECK_INT(inv.n_hosts, 1);
    const struct nm_host *h = nm_inventory_find_host(&inv, "db1");
    CHECK(h != NULL);
    if (h) {
        char *id = home_path(".ssh/id_ed25519"), *kh = home_path(".ssh/known_hosts");
        CHECK_STR(h->address, "192.0.2.10");
        CHECK_INT(h->port, 22);
        CHECK_STR(h->user, "ops");
        CHECK_STR(h->identity, id);
        CHECK_STR(h->known_hosts, kh);
        /* port and user were set on the host; the rest came from defaults */
        CHECK_INT(h->from_defaults, NM_HOST_DEFAULT_IDENTITY | NM_HOST_DEFAULT_KNOWN_HOSTS);
        CHECK_INT(h->n_roles, 1);
        CHECK(nm_host_has_role(h, "db"));
        CHECK(!nm_host_has_role(h, "web"));
        CHECK_INT(h->n_labels, 2);
        CHECK_STR(nm_host_label(h, "zone"), "a");
        CHECK_STR(nm_host_label(h, "rack"), "r12");
        CHECK(nm_host_label(h, "site") == NULL);
        CHECK_STR(h->criticality, "high");
        CHECK_INT(h->n_tls, 2);
        if (h->n_tls == 2) {
            CHECK_STR(h->tls[0], "443");
            CHECK_STR(h->tls[1], "mail.example.org:25/starttls");
        }
        CHECK_STR(h->origin, DATA "native-full.json");
        free(id);
        free(kh);
    }
    CHECK_INT(inv.n_roles, 1);
    const struct nm_role *r = nm_inventory_find_role(&inv, "db");
    CHECK(r != NULL);
    if (r) {
        CHECK_INT(r->min_healthy, 2);
        CHECK_INT(r->n_spread, 1);
        if (r->n_spread == 1)
            CHECK_STR(r->spread[0], "zone");
        CHECK_STR(r->origin, DATA "native-full.json");
    }
    CHECK(nm_inventory_find_role(&inv, "web") == NULL);
    nm_inventory_finish(&inv);
    nm_inventory_finish(&inv); /* finish twice is harmless */
    nm_inventory_finish(NULL);
}

static void test_native_defaults(void)
{
    struct nm_inventory inv;
    nm_diag d = {""};
    nm_inventory_init(&inv);
    /* "defaults" is written after "hosts" in this file on purpose. */
    CHECK_INT(load(&inv, "native-defaults.json", &d), 0);
    CHECK_INT(inv.n_hosts, 2);

    const struct nm_host *p = nm_inventory_find_host(&inv, "plain.example.org");
    CHECK(p != NULL);
    if (p) {
        char *id = home_path(".ssh/fleet_ed25519");
        CHECK_STR(p->address, "plain.example.org"); /* address defaults to name */
        CHECK_STR(p->user, "scanner");
        CHECK_INT(p->port, 2200);
        CHECK_STR(p->identity, id);
        CHECK_STR(p->known_hosts, "/etc/nearmiss/known_hosts");
        CHECK_STR(p->criticality, "low");
        CHECK_INT(p->n_labels, 2);
        CHECK_STR(nm_host_label(p, "zone"), "a");
        CHECK_STR(nm_host_label(p, "site"), "ams");
        CHECK_INT(p->n_roles, 0);
        CHECK_INT(p->n_tls, 0);
        CHECK_INT(p->from_defaults, NM_HOST_DEFAULT_USER | NM_HOST_DEFAULT_PORT |
                                        NM_HOST_DEFAULT_IDENTITY | NM_HOST_DEFAULT_KNOWN_HOSTS |
                                        NM_HOST_ADDRESS_FROM_NAME);
        free(id);
    }
    const struct nm_host *c = nm_inventory_find_host(&inv, "custom");
    CHECK(c != NULL);
    if (c) {
        char *kh = home_path("custom_known_hosts");
        CHECK_STR(c->address, "2001:db8::7");
        CHECK_STR(c->user, "root");
        CHECK_INT(c->port, 2222);
        CHECK_STR(c->identity, "/etc/nearmiss/custom_key");
        CHECK_STR(c->known_hosts, kh);
        CHECK_STR(c->criticality, "critical");
        /* host labels win, default labels fill in the rest */
        CHECK_INT(c->n_labels, 3);
        CHECK_STR(nm_host_label(c, "zone"), "b");
        CHECK_STR(nm_host_label(c, "owner"), "team-x");
        CHECK_STR(nm_host_label(c, "site"), "ams");
        CHECK_INT(c->n_roles, 2);
        CHECK(nm_host_has_role(c, "cache") && nm_host_has_role(c, "web"));
        CHECK_INT(c->from_defaults, 0);
        free(kh);
    }
    const struct nm_role *web = nm_inventory_find_role(&inv, "web");
    const struct nm_role *cache = nm_inventory_find_role(&inv, "cache");
    CHECK(web && cache);
    if (web && cache) {
        CHECK_INT(web->min_healthy, 1);
        CHECK_INT(web->n_spread, 0);
        CHECK_INT(cache->min_healthy, 0);
        CHECK_INT(cache->n_spread, 2);
    }

    /* Precedence: host > CLI option > file defaults > built-in. */
    struct nm_reach_set rs;
    struct nm_reach_options ro = {.user = "cli-user", .port = 2900, .identity = "~/cli_key"};
    CHECK_INT(nm_reach_resolve(&inv, &ro, &rs, &d), 0);
    if (p && c && rs.n_hosts == inv.n_hosts) {
        const struct nm_reach *rp = &rs.hosts[p - inv.hosts], *rc = &rs.hosts[c - inv.hosts];
        char *cli_key = home_path("cli_key");
        CHECK_STR(rp->user, "cli-user");
        CHECK_INT(rp->port, 2900);
        CHECK_STR(rp->identity, cli_key);
        CHECK_STR(rp->known_hosts, "/etc/nearmiss/known_hosts");
        CHECK_STR(rp->address, "plain.example.org");
        CHECK_STR(rc->user, "root");
        CHECK_INT(rc->port, 2222);
        CHECK_STR(rc->identity, "/etc/nearmiss/custom_key");
        CHECK_STR(rc->address, "2001:db8::7");
        free(cli_key);
    }
    nm_reach_set_finish(&rs);
    /* Without options, the file's defaults hold. */
    CHECK_INT(nm_reach_resolve(&inv, &(struct nm_reach_options){0}, &rs, &d), 0);
    if (p && rs.n_hosts == inv.n_hosts) {
        char *id = home_path(".ssh/fleet_ed25519");
        CHECK_STR(rs.hosts[p - inv.hosts].user, "scanner");
        CHECK_INT(rs.hosts[p - inv.hosts].port, 2200);
        CHECK_STR(rs.hosts[p - inv.hosts].identity, id);
        free(id);
    }
    nm_reach_set_finish(&rs);
    nm_reach_set_finish(&rs); /* finish twice is harmless */
    nm_reach_set_finish(NULL);
    nm_inventory_finish(&inv);

    /* A host with nothing set anywhere takes the CLI value; without one it stays unset. */
    nm_inventory_init(&inv);
    static const char bare[] = "{\"hosts\": [{\"name\": \"h1\"}, {\"name\": \"h2\"}]}";
    CHECK_INT(nm_inventory_load_buffer(&inv, "bare", bare, strlen(bare), &d), 0);
    CHECK_INT(inv.n_hosts, 2);
    if (inv.n_hosts == 2) {
        CHECK(inv.hosts[0].user == NULL && inv.hosts[0].port == 0);
        CHECK(inv.hosts[0].identity == NULL && inv.hosts[0].criticality == NULL);
        CHECK_STR(inv.hosts[0].origin, "bare");
        struct nm_reach_options ro2 = {.user = "u", .known_hosts = "/kh"};
        CHECK_INT(nm_reach_resolve(&inv, &ro2, &rs, &d), 0);
        CHECK_STR(rs.hosts[1].user, "u");
        CHECK_INT(rs.hosts[1].port, 22); /* built in */
        CHECK_STR(rs.hosts[1].known_hosts, "/kh");
        CHECK(rs.hosts[1].identity == NULL);
        CHECK(rs.passphrase == NULL);
        nm_reach_set_finish(&rs);
        /* Nothing anywhere: the built-in values. */
        char *kh = home_path(".ssh/known_hosts");
        const char *env_user = getenv("USER");
        CHECK_INT(nm_reach_resolve(&inv, &(struct nm_reach_options){0}, &rs, &d), 0);
        CHECK_STR(rs.hosts[0].user, env_user ? env_user : "root");
        CHECK_STR(rs.hosts[0].known_hosts, kh);
        CHECK_STR(rs.hosts[0].address, "h1");
        nm_reach_set_finish(&rs);
        free(kh);
        /* The passphrase: the first line of the file, read once. */
        char pass_file[] = "/tmp/nm-test-passphrase.XXXXXX";
        int pfd = mkstemp(pass_file);
        CHECK(pfd >= 0);
        CHECK(write(pfd, "s3cret\nsecond line\n", 19) == 19);
        close(pfd);
        CHECK_INT(nm_reach_resolve(&inv, &(struct nm_reach_options){.passphrase_file = pass_file},
                                   &rs, &d),
                  0);
        CHECK_STR(rs.passphrase, "s3cret");
        nm_reach_set_finish(&rs);
        unlink(pass_file);
        CHECK_INT(nm_reach_resolve(&inv, &(struct nm_reach_options){.passphrase_file = pass_file},
                                   &rs, &d),
                  NM_ERR_NOTFOUND);
        CHECK(strstr(d.msg, "--passphrase-file: /tmp/nm-test-passphrase.") != NULL);
    }
    nm_inventory_finish(&inv);
}

static void check_ansible_host(const struct nm_inventory *inv, const char *name,
                               const char *address, int port, const char *user,
                               const char *criticality)
{
    const struct nm_host *h = nm_inventory_find_host(inv, name);
    CHECK(h != NULL);
    if (!h)
        return;
    CHECK_STR(h->address, address);
    CHECK_INT(h->port, port);
    CHECK_STR(h->user, user);
    if (criticality)
        CHECK_STR(h->criticality, criticality);
    else
        CHECK(h->criticality == NULL);
    CHECK_INT(h->from_defaults, 0);
}

static void test_ansible(void)
{
    struct nm_inventory inv;
    nm_diag d = {""};
    nm_inventory_init(&inv);
    CHECK_INT(load(&inv, "ansible-export.json", &d), 0);
    CHECK_STR(d.msg, "");
    CHECK_INT(inv.n_hosts, 6);

    /* ansible_port: group var (web), string "2222", int 22; ansible_user from all or web_us */
    check_ansible_host(&inv, "web1", "192.0.2.21", 2200, "deploy", NULL);
    check_ansible_host(&inv, "web2", "192.0.2.22", 2222, "deploy", NULL);
    check_ansible_host(&inv, "web3", "198.51.100.7", 22, "webops", NULL);
    check_ansible_host(&inv, "db1", "192.0.2.10", 0, "deploy", "high");
    check_ansible_host(&inv, "db2", "192.0.2.11", 0, "dbadmin", "critical");
    check_ansible_host(&inv, "mon1", "192.0.2.50", 0, "deploy", NULL);

    const struct nm_host *web1 = nm_inventory_find_host(&inv, "web1");
    const struct nm_host *web3 = nm_inventory_find_host(&inv, "web3");
    const struct nm_host *db1 = nm_inventory_find_host(&inv, "db1");
    const struct nm_host *mon1 = nm_inventory_find_host(&inv, "mon1");
    if (web1 && web3 && db1 && mon1) {
        /* roles from groups, through nested children; all/ungrouped are not roles */
        CHECK_INT(web1->n_roles, 3);
        CHECK(nm_host_has_role(web1, "web") && nm_host_has_role(web1, "web_eu") &&
              nm_host_has_role(web1, "monitored"));
        CHECK_INT(web3->n_roles, 2);
        CHECK(nm_host_has_role(web3, "web") && nm_host_has_role(web3, "web_us"));
        CHECK_INT(db1->n_roles, 2);
        CHECK(nm_host_has_role(db1, "db") && nm_host_has_role(db1, "monitored"));
        CHECK_INT(mon1->n_roles, 0);
        CHECK(!nm_host_has_role(mon1, "ungrouped") && !nm_host_has_role(mon1, "all"));

        CHECK_STR(nm_host_label(web1, "zone"), "eu-a");
        CHECK_STR(nm_host_label(web1, "rack"), "r1");
        CHECK_INT(web1->n_labels, 2); /* http_port and other free-form vars ignored */
        CHECK_INT(web3->n_tls, 2);
        if (web3->n_tls == 2) {
            CHECK_STR(web3->tls[0], "443"); /* YAML made it an integer */
            CHECK_STR(web3->tls[1], "web3.example.org:8443");
        }
        char *key = home_path(".ssh/db_ed25519");
        CHECK_STR(db1->identity, key);
        free(key);
        CHECK_STR(db1->origin, DATA "ansible-export.json (ansible)");
    }

    /* Only groups with nearmiss_* settings become defined roles. */
    CHECK_INT(inv.n_roles, 1);
    const struct nm_role *web = nm_inventory_find_role(&inv, "web");
    CHECK(web != NULL);
    if (web) {
        CHECK_INT(web->min_healthy, 2);
        CHECK_INT(web->n_spread, 1);
        CHECK_STR(web->origin, DATA "ansible-export.json (ansible)");
    }
    CHECK(nm_inventory_find_role(&inv, "db") == NULL);

    /*
     * Ansible resolved group variables itself in the plain --list output of the
     * same source: the precedence applied to --export must agree with it.
     */
    json_error_t jerr;
    json_t *list = json_load_file(DATA "ansible-list.json", 0, &jerr);
    CHECK(list != NULL);
    json_t *hostvars = json_object_get(json_object_get(list, "_meta"), "hostvars");
    const char *name;
    json_t *vars;
    json_object_foreach (hostvars, name, vars) {
        const struct nm_host *h = nm_inventory_find_host(&inv, name);
        CHECK(h != NULL);
        if (!h)
            continue;
        CHECK_STR(h->user, json_string_value(json_object_get(vars, "ansible_user")));
        json_t *port = json_object_get(vars, "ansible_port");
        int64_t want = 0;
        if (json_is_integer(port))
            want = json_integer_value(port);
        else if (json_is_string(port))
            CHECK_INT(nm_str_to_i64(json_string_value(port), &want), 0);
        CHECK_INT(h->port, want);
        const char *crit = json_string_value(json_object_get(vars, "nearmiss_criticality"));
        if (crit)
            CHECK_STR(h->criticality, crit);
        else
            CHECK(h->criticality == NULL);
    }
    json_decref(list);
    nm_inventory_finish(&inv);

    /* Plain --list folds role settings into every host: refuse with a hint. */
    nm_inventory_init(&inv);
    CHECK_INT(load(&inv, "ansible-list.json", &d), NM_ERR_INVAL);
    CHECK_STR(d.msg, DATA "ansible-list.json:35: _meta.hostvars.web1.nearmiss_min_healthy: "
                          "role settings are group variables; load the output of "
                          "`ansible-inventory --list --export`, which keeps them with their group");
    CHECK_INT(inv.n_hosts, 0);
    nm_inventory_finish(&inv);
}

static void test_ansible_minimal(void)
{
    struct nm_inventory inv;
    nm_diag d = {""};
    /* Without _meta (older inventory scripts), cycles in children, hosts only in groups. */
    static const char doc[] =
        "{\n"
        "  \"a\": {\"children\": [\"b\"], \"hosts\": [\"h1\"]},\n"
        "  \"b\": {\"children\": [\"a\", \"missing\"], \"hosts\": [\"h2\"],\n"
        "        \"vars\": {\"nearmiss_min_healthy\": \"1\", \"ansible_port\": \"2022\"}}\n"
        "}\n";
    nm_inventory_init(&inv);
    CHECK_INT(nm_inventory_load_buffer(&inv, "cyc", doc, strlen(doc), &d), 0);
    CHECK_STR(d.msg, "");
    CHECK_INT(inv.n_hosts, 2);
    const struct nm_host *h1 = nm_inventory_find_host(&inv, "h1");
    const struct nm_host *h2 = nm_inventory_find_host(&inv, "h2");
    CHECK(h1 && h2);
    if (h1 && h2) {
        /* a and b contain each other, so both hosts are in both groups */
        CHECK(nm_host_has_role(h1, "a") && nm_host_has_role(h1, "b"));
        CHECK(nm_host_has_role(h2, "a") && nm_host_has_role(h2, "b"));
        CHECK_INT(h1->port, 2022);
        CHECK_STR(h1->address, "h1");
        CHECK(h1->user == NULL);
    }
    const struct nm_role *b = nm_inventory_find_role(&inv, "b");
    CHECK(b && b->min_healthy == 1);
    nm_inventory_finish(&inv);
}

/* ansible_ssh_common_args / ansible_ssh_extra_args (nearmiss/sshargs.h). */
static void test_ansible_ssh_args(void)
{
    struct nm_inventory inv;
    nm_diag d = {""};
    static const char doc[] =
        "{\"_meta\": {\"hostvars\": {\n"
        "  \"a\": {\"ansible_ssh_common_args\": \"-o ProxyJump=ops@bastion:2222 -o Port=2200\"},\n"
        "  \"b\": {\"ansible_port\": 22, \"ansible_user\": \"deploy\",\n"
        "        \"ansible_ssh_common_args\": \"-o 'ProxyCommand=ssh -W %h:%p -q bastion'\",\n"
        "        \"ansible_ssh_extra_args\": \"-p 2300 -l other -o StrictHostKeyChecking=no\"},\n"
        "  \"c\": {\"ansible_ssh_common_args\": \"-o Port=nope\"},\n"
        "  \"d\": {\"ansible_ssh_extra_args\": \"-o UserKnownHostsFile=/srv/kh\"},\n"
        "  \"f\": {\"ansible_ssh_common_args\": \"-J ops@\"},\n"
        "  \"g\": {\"ansible_ssh_common_args\": \"-o 'ProxyCommand=nc %h %p'\"}}},\n"
        " \"all\": {\"children\": [\"web\"]},\n"
        " \"web\": {\"hosts\": [\"a\", \"b\", \"c\", \"d\", \"e\", \"f\", \"g\"],\n"
        "         \"vars\": {\"ansible_ssh_common_args\": \"-J gw\"}}}\n";
    nm_inventory_init(&inv);
    CHECK_INT(nm_inventory_load_buffer(&inv, "args", doc, strlen(doc), &d), 0);
    CHECK_STR(d.msg, "");
    const struct nm_host *a = nm_inventory_find_host(&inv, "a");
    const struct nm_host *b = nm_inventory_find_host(&inv, "b");
    const struct nm_host *c = nm_inventory_find_host(&inv, "c");
    const struct nm_host *dd = nm_inventory_find_host(&inv, "d");
    const struct nm_host *e = nm_inventory_find_host(&inv, "e");
    CHECK(a && b && c && dd && e);
    if (!(a && b && c && dd && e)) {
        nm_inventory_finish(&inv);
        return;
    }
    /* The host's own variable hides the group's, as in Ansible. */
    CHECK_STR(a->proxy_jump, "ops@bastion:2222");
    CHECK_INT(a->port, 2200);
    CHECK(a->reach_note == NULL && a->reach_error == NULL);
    /* ansible_port/ansible_user come first on ssh's command line. */
    CHECK_INT(b->port, 22);
    CHECK_STR(b->user, "deploy");
    CHECK(b->proxy_jump == NULL);
    CHECK_STR(b->proxy_command, "ssh -W %h:%p -q bastion");
    CHECK(b->reach_note && strstr(b->reach_note, "StrictHostKeyChecking=no not followed"));
    CHECK(b->reach_error == NULL);
    /* A bad value is this host's problem, not the inventory's. */
    CHECK_STR(c->reach_error, "ansible_ssh_common_args: -o Port=nope: not a port 1..65535");
    CHECK_INT(c->port, 0);
    CHECK_STR(dd->known_hosts, "/srv/kh");
    CHECK_STR(dd->proxy_jump, "gw"); /* the group's common args, and the host's extra args */
    CHECK_STR(e->proxy_jump, "gw");

    /* How each is reached: one bad host does not stop the others. */
    struct nm_reach_set rs;
    CHECK_INT(nm_reach_resolve(&inv, &(struct nm_reach_options){.ssh_config = "none"}, &rs, &d), 0);
    if (rs.n_hosts == 7) {
        const struct nm_reach *ra = &rs.hosts[a - inv.hosts], *rb = &rs.hosts[b - inv.hosts];
        const struct nm_reach *rc = &rs.hosts[c - inv.hosts];
        const struct nm_host *f = nm_inventory_find_host(&inv, "f");
        const struct nm_host *g = nm_inventory_find_host(&inv, "g");
        CHECK(f && g);
        const struct nm_reach *rf = &rs.hosts[f ? f - inv.hosts : 0];
        const struct nm_reach *rg = &rs.hosts[g ? g - inv.hosts : 0];
        CHECK(ra->error == NULL && ra->n_jumps == 1);
        if (ra->n_jumps == 1) {
            CHECK_STR(ra->jumps[0].address, "bastion");
            CHECK_INT(ra->jumps[0].port, 2222);
            CHECK_STR(ra->jumps[0].user, "ops");
        }
        CHECK(rb->error == NULL && rb->n_jumps == 1);
        if (rb->n_jumps == 1)
            CHECK_STR(rb->jumps[0].address, "bastion");
        CHECK(rb->warning && strstr(rb->warning, "StrictHostKeyChecking=no not followed"));
        CHECK_STR(rb->from[NM_REACH_JUMP],
                  "inventory args (ansible) (host b: ProxyCommand read as ProxyJump)");
        CHECK_STR(rc->error, "host c: ansible_ssh_common_args: -o Port=nope: not a port 1..65535");
        CHECK(rf->error && strstr(rf->error, "\"ops@\" is not [user@]host[:port] (host f)"));
        CHECK_INT(rf->n_jumps, 0);
        CHECK(rg->error && strstr(rg->error, "host g: ProxyCommand \"nc %h %p\" from the "
                                             "inventory is not supported"));
        CHECK_INT(rg->n_jumps, 0);
    } else {
        CHECK_INT(rs.n_hosts, 7);
    }
    nm_reach_set_finish(&rs);
    nm_inventory_finish(&inv);

    /* Not a string: the file is wrong, as for any variable. */
    static const char bad[] =
        "{\"_meta\": {\"hostvars\": {\"x\": {\"ansible_ssh_common_args\": 5}}},"
        " \"all\": {\"hosts\": [\"x\"]}}";
    nm_inventory_init(&inv);
    CHECK(nm_inventory_load_buffer(&inv, "bad", bad, strlen(bad), &d) < 0);
    CHECK(strstr(d.msg, "ansible_ssh_common_args") != NULL);
    nm_inventory_finish(&inv);
}

/* ansible_become / _user / _method, as INI strings and YAML booleans. */
static void test_ansible_become(void)
{
    struct nm_inventory inv;
    nm_diag d = {""};
    static const char doc[] =
        "{\n"
        "  \"_meta\": {\"hostvars\": {\n"
        "    \"plain\": {},\n"
        "    \"off\": {\"ansible_become\": false, \"ansible_become_user\": \"x\"},\n"
        "    \"offini\": {\"ansible_become\": \"no\"},\n"
        "    \"asuser\": {\"ansible_become\": \"True\", \"ansible_become_user\": \"scan\"},\n"
        "    \"viasu\": {\"ansible_become_method\": \"su\"},\n"
        "    \"viasudo\": {\"ansible_become_method\": \"sudo\"}}},\n"
        "  \"all\": {\"children\": [\"g\"]},\n"
        "  \"g\": {\"hosts\": [\"plain\", \"off\", \"offini\", \"asuser\", \"viasu\", "
        "\"viasudo\"], \"vars\": {\"ansible_become_user\": \"root\"}}\n"
        "}\n";
    nm_inventory_init(&inv);
    CHECK_INT(nm_inventory_load_buffer(&inv, "become", doc, strlen(doc), &d), 0);
    CHECK_STR(d.msg, "");
    const struct nm_host *h;
    CHECK((h = nm_inventory_find_host(&inv, "plain")) && h->become == NM_BECOME_DEFAULT &&
          h->become_user && strcmp(h->become_user, "root") == 0);
    CHECK((h = nm_inventory_find_host(&inv, "off")) && h->become == NM_BECOME_OFF);
    CHECK((h = nm_inventory_find_host(&inv, "offini")) && h->become == NM_BECOME_OFF);
    CHECK((h = nm_inventory_find_host(&inv, "asuser")) && h->become == NM_BECOME_DEFAULT &&
          h->become_user && strcmp(h->become_user, "scan") == 0);
    CHECK((h = nm_inventory_find_host(&inv, "viasu")) && h->become == NM_BECOME_UNSUPPORTED &&
          h->become_method && strcmp(h->become_method, "su") == 0);
    CHECK((h = nm_inventory_find_host(&inv, "viasudo")) && h->become == NM_BECOME_DEFAULT &&
          !h->become_method);
    nm_inventory_finish(&inv);

    /* Not a boolean: an error naming where. */
    static const char bad[] = "{\"_meta\": {\"hostvars\": {\"h\": {\"ansible_become\": "
                              "\"maybe\"}}}, \"all\": {\"hosts\": [\"h\"]}}";
    nm_inventory_init(&inv);
    CHECK_INT(nm_inventory_load_buffer(&inv, "bad", bad, strlen(bad), &d), NM_ERR_INVAL);
    CHECK(strstr(d.msg, "ansible_become") != NULL);
    CHECK_INT(inv.n_hosts, 0);
    nm_inventory_finish(&inv);
}

static void test_merge(void)
{
    struct nm_inventory inv;
    nm_diag d = {""};
    nm_inventory_init(&inv);
    CHECK_INT(load(&inv, "merge-a.json", &d), 0);
    CHECK_INT(load(&inv, "merge-b.json", &d), 0);
    CHECK_INT(load(&inv, "ansible-export.json", &d), 0);
    CHECK_INT(inv.n_hosts, 9);
    if (inv.n_hosts == 9) {
        CHECK_STR(inv.hosts[0].name, "a1");
        CHECK_STR(inv.hosts[1].name, "a2");
        CHECK_STR(inv.hosts[2].name, "b1");
        CHECK_STR(inv.hosts[3].name, "db1");
    }
    /* defaults stay with their own file */
    const struct nm_host *a1 = nm_inventory_find_host(&inv, "a1");
    const struct nm_host *b1 = nm_inventory_find_host(&inv, "b1");
    CHECK(a1 && b1);
    if (a1 && b1) {
        CHECK_STR(a1->user, "alice");
        CHECK_INT(a1->port, 0);
        CHECK_STR(nm_host_label(a1, "site"), "ams");
        CHECK(b1->user == NULL);
        CHECK_INT(b1->port, 2022);
        CHECK(nm_host_label(b1, "site") == NULL);
        CHECK_STR(b1->origin, DATA "merge-b.json");
        CHECK(nm_host_has_role(b1, "queue"));
    }
    /* "db" agreed in both files: defined once, by the first; "queue" is implicit */
    CHECK_INT(inv.n_roles, 2);
    const struct nm_role *db = nm_inventory_find_role(&inv, "db");
    CHECK(db && db->min_healthy == 2 && strcmp(db->origin, DATA "merge-a.json") == 0);
    CHECK(nm_inventory_find_role(&inv, "queue") == NULL);

    /* A second definition that disagrees names both files; nothing of it stays. */
    CHECK_INT(load(&inv, "role-conflict.json", &d), NM_ERR_CONFIG);
    CHECK_STR(d.msg, DATA "role-conflict.json:4: roles.db: role \"db\" is already defined "
                          "differently in " DATA "merge-a.json (min_healthy 2, spread [zone])");
    CHECK_INT(inv.n_hosts, 9);
    CHECK(nm_inventory_find_host(&inv, "c1") == NULL);

    /* A host name in two files names both; c1 before it is not kept either. */
    CHECK_INT(load(&inv, "dup-of-merge-a.json", &d), NM_ERR_EXISTS);
    CHECK_STR(d.msg,
              DATA "dup-of-merge-a.json:4: hosts[1].name: host \"a2\" is already defined in " DATA
                   "merge-a.json");
    CHECK_INT(inv.n_hosts, 9);
    CHECK(nm_inventory_find_host(&inv, "c1") == NULL);

    /* Same across formats, with the Ansible file's own path to the host. */
    CHECK_INT(load(&inv, "ansible-export.json", &d), NM_ERR_EXISTS);
    CHECK_STR(d.msg, DATA "ansible-export.json:4: _meta.hostvars.db1: host \"db1\" is already "
                          "defined in " DATA "ansible-export.json (ansible)");
    CHECK_INT(inv.n_hosts, 9);
    CHECK_INT(inv.n_roles, 2);
    nm_inventory_finish(&inv);
}

static void test_io_errors(void)
{
    struct nm_inventory inv;
    nm_diag d = {""};
    nm_inventory_init(&inv);
    CHECK_INT(load(&inv, "no-such-file.json", &d), NM_ERR_NOTFOUND);
    CHECK(strstr(d.msg, DATA "no-such-file.json") != NULL);
    CHECK_INT(load(&inv, "errors/syntax.json", &d), NM_ERR_PARSE);
    CHECK_INT(load(&inv, "errors/empty.json", &d), NM_ERR_PARSE);
    CHECK_INT(load(&inv, "errors/unknown-key-host.json", &d), NM_ERR_INVAL);
    CHECK_INT(load(&inv, "errors/duplicate-host-in-file.json", &d), NM_ERR_EXISTS);
    CHECK_INT(load(&inv, "errors/unknown-key-host.json", NULL), NM_ERR_INVAL); /* diag optional */
    /* Buffers need not be NUL-terminated. */
    static const char doc[] = "{\"hosts\": [{\"name\": \"x1\"}]}garbage";
    CHECK_INT(nm_inventory_load_buffer(&inv, "buf", doc, strlen(doc) - 7, &d), 0);
    CHECK_INT(inv.n_hosts, 1);
    nm_inventory_finish(&inv);
}

static char *read_expected(const char *path)
{
    char *data = NULL;
    size_t len = 0;
    if (nm_read_file(path, 4096, &data, &len, NULL) < 0)
        return NULL;
    while (len > 0 && data[len - 1] == '\n')
        data[--len] = '\0';
    return data;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every errors/NAME.json fails with exactly NAME.err and leaves nothing behind. */
static void test_error_table(void)
{
    DIR *dir = opendir(DATA "errors");
    CHECK(dir != NULL);
    if (!dir)
        return;
    char **names = NULL;
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(dir))) {
        size_t len = strlen(e->d_name);
        if (len > 5 && strcmp(e->d_name + len - 5, ".json") == 0) {
            names = nm_xreallocarray(names, n + 1, sizeof *names);
            names[n++] = nm_xstrndup(e->d_name, len - 5);
        }
    }
    closedir(dir);
    qsort(names, n, sizeof *names, cmp_names);
    CHECK(n >= 30);

    static const char base[] = "{\"hosts\": [{\"name\": \"base1\", \"roles\": [\"db\"]}],"
                               " \"roles\": {\"db\": {\"min_healthy\": 1}}}";
    for (size_t i = 0; i < n; i++) {
        struct nm_inventory inv;
        nm_diag d = {"(unset)"};
        char *json = nm_xasprintf(DATA "errors/%s.json", names[i]);
        char *err = nm_xasprintf(DATA "errors/%s.err", names[i]);
        char *want = read_expected(err);

        nm_inventory_init(&inv);
        CHECK_INT(nm_inventory_load_buffer(&inv, "base", base, strlen(base), NULL), 0);
        int r = nm_inventory_load_file(&inv, json, &d);
        if (r >= 0 || !want || strcmp(d.msg, want) != 0)
            fprintf(stderr, "case %s: r=%d\n  got:  %s\n  want: %s\n", names[i], r, d.msg,
                    want ? want : "(no .err file)");
        CHECK(r < 0);
        CHECK_STR(d.msg, want);
        CHECK_INT(inv.n_hosts, 1);
        CHECK_INT(inv.n_roles, 1);
        if (inv.n_hosts == 1)
            CHECK_STR(inv.hosts[0].name, "base1");
        nm_inventory_finish(&inv);
        free(json);
        free(err);
        free(want);
        free(names[i]);
    }
    free(names);
}

static void test_select(void)
{
    struct nm_inventory inv;
    nm_diag d = {""};

    nm_inventory_init(&inv);
    CHECK_INT(load(&inv, "ansible-export.json", &d), 0);
    CHECK_INT(nm_inventory_select(&inv, NULL, NULL, &d), 0);
    CHECK_INT(inv.n_hosts, 6);
    CHECK_INT(nm_inventory_select(&inv, "web*, db2", NULL, &d), 0);
    CHECK_INT(inv.n_hosts, 4);
    if (inv.n_hosts == 4) {
        CHECK_STR(inv.hosts[0].name, "db2"); /* file order kept */
        CHECK_STR(inv.hosts[1].name, "web1");
        CHECK_STR(inv.hosts[3].name, "web3");
    }
    CHECK_INT(nm_inventory_select(&inv, NULL, "web_eu", &d), 0);
    CHECK_INT(inv.n_hosts, 2);
    CHECK(nm_inventory_find_host(&inv, "web1") && nm_inventory_find_host(&inv, "web2"));
    CHECK_INT(inv.n_roles, 1); /* role definitions stay for fleet checks */

    /* Nothing matches: error says which filter, and inv is unchanged. */
    CHECK_INT(nm_inventory_select(&inv, "db*", NULL, &d), NM_ERR_NOTFOUND);
    CHECK_STR(d.msg, "no host matches \"db*\"");
    CHECK_INT(nm_inventory_select(&inv, NULL, "db", &d), NM_ERR_NOTFOUND);
    CHECK_STR(d.msg, "no host has role \"db\"");
    CHECK_INT(nm_inventory_select(&inv, "web?", "web_us", &d), NM_ERR_NOTFOUND);
    CHECK_STR(d.msg, "2 hosts match \"web?\" but none has role \"web_us\"");
    CHECK_INT(nm_inventory_select(&inv, "web1,", NULL, &d), NM_ERR_INVAL);
    CHECK_STR(d.msg, "empty pattern in host list \"web1,\"");
    CHECK_INT(inv.n_hosts, 2);
    CHECK_INT(nm_inventory_select(&inv, "web[2-9]", "web", &d), 0);
    CHECK_INT(inv.n_hosts, 1);
    if (inv.n_hosts == 1)
        CHECK_STR(inv.hosts[0].name, "web2");
    nm_inventory_finish(&inv);

    nm_inventory_init(&inv);
    CHECK_INT(nm_inventory_select(&inv, NULL, NULL, &d), NM_ERR_NOTFOUND);
    CHECK_STR(d.msg, "the inventory has no hosts");
    nm_inventory_finish(&inv);
}

int main(void)
{
    test_native_full();
    test_native_defaults();
    test_ansible();
    test_ansible_minimal();
    test_ansible_become();
    test_ansible_ssh_args();
    test_merge();
    test_io_errors();
    test_error_table();
    test_select();
    return test_result();
}
