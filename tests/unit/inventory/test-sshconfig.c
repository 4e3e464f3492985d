/* ssh_config reading (src/inventory/sshconfig.c) and its place in the
 * precedence of nm_reach_resolve, with real files in a temporary HOME. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nearmiss/inventory.h"
#include "nearmiss/reach.h"
#include "nearmiss/sshconfig.h"
#include "nearmiss/util.h"
#include "test.h"

static char home[256];

static void put(const char *rel, const char *text)
{
    char *path = nm_xasprintf("%s/%s", home, rel);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (f) {
        fputs(text, f);
        fclose(f);
    }
    free(path);
}

static char *at_home(const char *rel)
{
    return nm_xasprintf("%s/%s", home, rel);
}

static struct nm_sshcfg *load(const char *rel)
{
    struct nm_sshcfg *cfg = NULL;
    nm_diag d = {{0}};
    char *p = at_home(rel);
    int r = nm_sshcfg_load(p, &cfg, &d);
    if (r < 0)
        fprintf(stderr, "load %s: %s\n", p, d.msg);
    CHECK_INT(r, 0);
    free(p);
    return cfg;
}

static void test_first_match_and_negation(void)
{
    put(".ssh/config", "# comment\n"
                       "Host web-* !web-9\n"
                       "    HostName %h.internal\n"
                       "    User deploy\n"
                       "    Port 2201\n"
                       "Host web-1\n"
                       "    User late\n" /* first obtained value wins */
                       "    Port=2999\n"
                       "Host *\n"
                       "    User = fallback\n"
                       "    IdentityFile ~/.ssh/id_%r\n"
                       "    IdentityFile \"/keys/with space/%h\"\n"
                       "    IdentitiesOnly yes\n");
    struct nm_sshcfg *cfg = load(".ssh/config");
    struct nm_sshcfg_result r;
    nm_sshcfg_lookup(cfg, "web-1", NULL, &r);
    CHECK_STR(r.v[NM_SSHCFG_HOSTNAME].value, "%h.internal");
    CHECK_STR(r.v[NM_SSHCFG_USER].value, "deploy");
    CHECK_INT(r.v[NM_SSHCFG_USER].line, 4);
    CHECK_INT(r.port, 2201);
    CHECK_INT(r.n_identity_files, 2);
    CHECK_INT(r.identities_only, 1);
    if (r.n_identity_files == 2)
        CHECK_STR(r.identity_files[1].value, "/keys/with space/%h");
    nm_sshcfg_result_finish(&r);

    /* Negated: web-9 skips the first block entirely. */
    nm_sshcfg_lookup(cfg, "WEB-9", NULL, &r);
    CHECK(r.v[NM_SSHCFG_HOSTNAME].value == NULL);
    CHECK_STR(r.v[NM_SSHCFG_USER].value, "fallback");
    CHECK_INT(r.port, 0);
    nm_sshcfg_result_finish(&r);

    /* Host patterns are case-insensitive, '?' is one character. */
    nm_sshcfg_lookup(cfg, "Web-12", NULL, &r);
    CHECK_STR(r.v[NM_SSHCFG_USER].value, "deploy");
    nm_sshcfg_result_finish(&r);
    nm_sshcfg_destroy(cfg);
}

static void test_tokens(void)
{
    struct nm_sshcfg_value v = {.value = "~/k/%h-%p-%r-%n-%%", .file = "F", .line = 7};
    struct nm_sshcfg_tokens t = {
        .host = "10.0.0.5", .original = "web1", .port = 2222, .ruser = "ops"};
    char *out = NULL;
    nm_diag d = {{0}};
    CHECK_INT(nm_sshcfg_expand("IdentityFile", &v, &t, true, &out, &d), 0);
    char *want = at_home("k/10.0.0.5-2222-ops-web1-%");
    CHECK_STR(out, want);
    free(want);
    free(out);
    /* No tilde expansion where ssh does none (HostName). */
    v.value = "~x%h";
    CHECK_INT(nm_sshcfg_expand("HostName", &v, &t, false, &out, &d), 0);
    CHECK_STR(out, "~x10.0.0.5");
    free(out);
    v.value = "/k/%Q";
    CHECK_INT(nm_sshcfg_expand("IdentityFile", &v, &t, true, &out, &d), NM_ERR_PARSE);
    CHECK(strstr(d.msg, "F:7: IdentityFile: unknown token %Q") != NULL);
}

static void test_include_and_match(void)
{
    char *dir = at_home(".ssh/conf.d");
    mkdir(dir, 0700);
    free(dir);
    put(".ssh/conf.d/10-db.conf", "Host db*\n  User dbadmin\n  HostKeyAlias db-cluster\n");
    put(".ssh/conf.d/20-all.conf", "Port 2020\n"); /* no Host line: under the Include's block */
    put(".ssh/conf.d/ignored.txt", "User never\n");
    put(".ssh/inc-config", "Host db1 db2\n"
                           "  Include conf.d/*.conf\n" /* relative to ~/.ssh, inside a block */
                           "Match host *.example.org user ops\n"
                           "  ConnectTimeout 2m\n"
                           "Match !originalhost db* all\n");
    nm_diag d = {{0}};
    struct nm_sshcfg *cfg = NULL;
    char *p = at_home(".ssh/inc-config");
    /* "all" must stand alone. */
    CHECK_INT(nm_sshcfg_load(p, &cfg, &d), NM_ERR_PARSE);
    CHECK(strstr(d.msg, "inc-config:5: Match: \"all\" cannot be combined") != NULL);
    put(".ssh/inc-config", "Host db1 db2\n"
                           "  Include conf.d/*.conf\n"
                           "Match host *.example.org user ops\n"
                           "  ConnectTimeout 2m\n"
                           "Match !originalhost db*\n"
                           "  User other\n"
                           "Match all\n"
                           "  ProxyJump none\n");
    CHECK_INT(nm_sshcfg_load(p, &cfg, &d), 0);
    free(p);
    struct nm_sshcfg_result r;
    nm_sshcfg_lookup(cfg, "db1", NULL, &r);
    CHECK_STR(r.v[NM_SSHCFG_USER].value, "dbadmin");
    CHECK(strstr(r.v[NM_SSHCFG_USER].file, "conf.d/10-db.conf") != NULL);
    CHECK_INT(r.v[NM_SSHCFG_USER].line, 2);
    CHECK_STR(r.v[NM_SSHCFG_HOSTKEYALIAS].value, "db-cluster");
    CHECK_INT(r.port, 2020);
    CHECK_STR(r.v[NM_SSHCFG_PROXYJUMP].value, "none");
    nm_sshcfg_result_finish(&r);
    /* db3 does not match "Host db1 db2": the Include is skipped. */
    nm_sshcfg_lookup(cfg, "db3", NULL, &r);
    CHECK(r.v[NM_SSHCFG_USER].value == NULL);
    CHECK_INT(r.port, 0);
    nm_sshcfg_result_finish(&r);
    /* Match host ... user ...: both must hold. */
    nm_sshcfg_lookup(cfg, "a.example.org", "ops", &r);
    CHECK_INT(r.connect_timeout, 120);
    CHECK_STR(r.v[NM_SSHCFG_USER].value, "other");
    nm_sshcfg_result_finish(&r);
    nm_sshcfg_lookup(cfg, "a.example.org", "root", &r);
    CHECK_INT(r.connect_timeout, 0);
    nm_sshcfg_result_finish(&r);
    nm_sshcfg_destroy(cfg);
}

static void test_errors(void)
{
    nm_diag d = {{0}};
    struct nm_sshcfg *cfg = NULL;
    static const struct {
        const char *text, *want;
    } bad[] = {
        {"Host a\n  Port 70000\n", "bad:2: Port: \"70000\" is not a port"},
        {"\n\nHost\n", "bad:3: Host: no pattern"},
        {"Match foo bar\n", "bad:1: Match: unknown criterion \"foo\""},
        {"Match host\n", "bad:1: Match host: missing argument"},
        {"User \"unterminated\n", "bad:1: unterminated quote"},
        {"IdentitiesOnly maybe\n", "bad:1: IdentitiesOnly: \"maybe\" is not yes or no"},
        {"ConnectTimeout soon\n", "bad:1: ConnectTimeout: \"soon\" is not a time"},
        {"Include bad\n", "Include nested deeper than 16 levels"},
    };
    char *p = at_home(".ssh/bad");
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        put(".ssh/bad", bad[i].text);
        CHECK(nm_sshcfg_load(p, &cfg, &d) < 0);
        if (!strstr(d.msg, bad[i].want))
            fprintf(stderr, "case %zu: %s\n", i, d.msg);
        CHECK(strstr(d.msg, bad[i].want) != NULL);
    }
    free(p);
    /* -F with a missing file is an error; the default files may be missing. */
    CHECK(nm_sshcfg_load("/nonexistent/nm-ssh-config", &cfg, &d) < 0);
    CHECK_INT(nm_sshcfg_load_files("/nonexistent/a", false, "/nonexistent/b", &cfg, &d), 0);
    CHECK_STR(nm_sshcfg_sources(cfg), "none");
    nm_sshcfg_destroy(cfg);
    CHECK_INT(nm_sshcfg_load("none", &cfg, &d), 0);
    nm_sshcfg_destroy(cfg);
}

/* The contract's order: inventory host > command line > ssh_config >
 * inventory defaults; jump hosts resolved through ssh_config. */
static void test_reach_precedence(void)
{
    put(".ssh/prec", "Host web1 web2 web3\n"
                     "  HostName %h.lan\n"
                     "  User cfguser\n"
                     "  Port 2200\n"
                     "  IdentityFile ~/.ssh/%r@%h\n"
                     "  UserKnownHostsFile ~/kh/%n\n"
                     "  ProxyJump jumper@bastion:2022,inner\n"
                     "Host inner\n"
                     "  HostName 10.9.9.9\n"
                     "  HostKeyAlias inner-key\n"
                     "  IdentitiesOnly yes\n"
                     "  IdentityFile /keys/inner\n"
                     "Host web4\n"
                     "  ProxyCommand ssh -q -W %h:%p -l ops gw.example.org\n"
                     "Host web5\n"
                     "  ProxyCommand nc -X connect -x proxy:3128 %h %p\n");
    static const char inv_text[] =
        "{\"defaults\": {\"user\": \"defuser\", \"port\": 2300, \"identity\": \"/keys/default\"},\n"
        " \"hosts\": [{\"name\": \"web1\"},\n"
        "            {\"name\": \"web2\", \"user\": \"own\", \"port\": 22,\n"
        "             \"address\": \"192.0.2.2\", \"proxy_jump\": \"none\"},\n"
        "            {\"name\": \"web3\"}, {\"name\": \"web4\"}, {\"name\": \"web5\"},\n"
        "            {\"name\": \"plain\"}]}";
    struct nm_inventory inv;
    nm_inventory_init(&inv);
    nm_diag d = {{0}};
    CHECK_INT(nm_inventory_load_buffer(&inv, "inv", inv_text, strlen(inv_text), &d), 0);
    char *cfgpath = at_home(".ssh/prec");
    struct nm_reach_set rs;
    CHECK_INT(nm_reach_resolve(&inv, &(struct nm_reach_options){.ssh_config = cfgpath}, &rs, &d),
              0);
    if (rs.n_hosts == 6) {
        const struct nm_reach *w1 = &rs.hosts[0], *w2 = &rs.hosts[1], *pl = &rs.hosts[5];
        /* ssh_config beats the inventory defaults. */
        CHECK_STR(w1->address, "web1.lan");
        CHECK_STR(w1->user, "cfguser");
        CHECK_INT(w1->port, 2200);
        char *id = at_home(".ssh/cfguser@web1.lan");
        CHECK_STR(w1->identity, id);
        free(id);
        CHECK(w1->use_agent);
        char *kh = at_home("kh/web1");
        CHECK_STR(w1->known_hosts, kh);
        free(kh);
        CHECK(strstr(w1->from[NM_REACH_USER], "prec:3") != NULL);
        CHECK_INT(w1->n_jumps, 2);
        if (w1->n_jumps == 2) {
            CHECK_STR(w1->jumps[0].address, "bastion");
            CHECK_STR(w1->jumps[0].user, "jumper");
            CHECK_INT(w1->jumps[0].port, 2022);
            CHECK_STR(w1->jumps[0].identity, "/keys/default"); /* inventory defaults */
            CHECK_STR(w1->jumps[1].address, "10.9.9.9");
            CHECK_STR(w1->jumps[1].hostkey_alias, "inner-key");
            CHECK_STR(w1->jumps[1].identity, "/keys/inner");
            CHECK(!w1->jumps[1].use_agent);
            CHECK_STR(w1->jumps[1].user, "defuser");
        }
        /* The host's own values beat everything; its address is what
         * ssh_config is asked about, so "Host web2" does not apply. */
        CHECK_STR(w2->address, "192.0.2.2");
        CHECK_STR(w2->user, "own");
        CHECK_INT(w2->port, 22);
        CHECK_INT(w2->n_jumps, 0);
        /* ProxyCommand ssh -W is a jump; anything else is an error for the host. */
        CHECK_INT(rs.hosts[3].n_jumps, 1);
        if (rs.hosts[3].n_jumps == 1) {
            CHECK_STR(rs.hosts[3].jumps[0].address, "gw.example.org");
            CHECK_STR(rs.hosts[3].jumps[0].user, "ops");
        }
        CHECK(rs.hosts[4].error && strstr(rs.hosts[4].error, "ProxyCommand") != NULL);
        /* Nothing in ssh_config: the inventory defaults. */
        CHECK_STR(pl->user, "defuser");
        CHECK_INT(pl->port, 2300);
        CHECK_STR(pl->identity, "/keys/default");
    }
    nm_reach_set_finish(&rs);
    /* The command line beats ssh_config, not the host's own values. */
    CHECK_INT(nm_reach_resolve(&inv,
                               &(struct nm_reach_options){
                                   .ssh_config = cfgpath, .user = "cli", .proxy_jump = "none"},
                               &rs, &d),
              0);
    if (rs.n_hosts == 6) {
        CHECK_STR(rs.hosts[0].user, "cli");
        CHECK_INT(rs.hosts[0].n_jumps, 0);
        CHECK_STR(rs.hosts[1].user, "own");
    }
    nm_reach_set_finish(&rs);
    /* A bad hop and an unknown token stop the run with the place. */
    put(".ssh/prec", "Host web1\n  ProxyJump bad@:x\n");
    CHECK(nm_reach_resolve(&inv, &(struct nm_reach_options){.ssh_config = cfgpath}, &rs, &d) < 0);
    CHECK(strstr(d.msg, "prec:2: ProxyJump: \"bad@:x\"") != NULL);
    put(".ssh/prec", "Host *\n\n  UserKnownHostsFile /kh/%z\n");
    CHECK(nm_reach_resolve(&inv, &(struct nm_reach_options){.ssh_config = cfgpath}, &rs, &d) < 0);
    CHECK(strstr(d.msg, "prec:3: UserKnownHostsFile: unknown token %z") != NULL);
    free(cfgpath);
    nm_inventory_finish(&inv);
}

int main(void)
{
    snprintf(home, sizeof home, "/tmp/nm-test-sshconfig.XXXXXX");
    if (!mkdtemp(home))
        return 1;
    setenv("HOME", home, 1);
    char *ssh = at_home(".ssh");
    mkdir(ssh, 0700);
    free(ssh);
    test_first_match_and_negation();
    test_tokens();
    test_include_and_match();
    test_errors();
    test_reach_precedence();
    char *cmd = nm_xasprintf("rm -rf '%s'", home);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", home);
    free(cmd);
    return test_result();
}
