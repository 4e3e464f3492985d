/*
 * Ticket targets as given on the command line ("KIND:ARGUMENT") and the
 * options every target shares.
 */
#include <stdlib.h>
#include <string.h>

#include "nearmiss/digest.h"
#include "nearmiss/model.h"
#include "nearmiss/tickets.h"
#include "nearmiss/util.h"

void nm_ticket_options_init(struct nm_ticket_options *o)
{
    memset(o, 0, sizeof *o);
    o->min_severity = NM_SEV_HIGH;
    o->connect_timeout_s = 10;
    o->timeout_s = 30;
    o->jira_issue_type = "Task";
}

void nm_ticket_options_finish(struct nm_ticket_options *o)
{
    if (!o)
        return;
    for (size_t i = 0; i < o->n_targets; i++) {
        free(o->targets[i].arg);
        free(o->targets[i].key);
    }
    free(o->targets);
    o->targets = NULL;
    o->n_targets = 0;
}

/* A routing key lets anyone page the team: the database and every message
 * name the target by a digest of it instead. */
static char *key_digest(const char *kind, const char *secret)
{
    unsigned char md[NM_SHA256_LEN];
    char hex[17];
    nm_sha256(secret, strlen(secret), md);
    nm_hex(md, 8, hex); /* the first 8 bytes name it well enough */
    return nm_xasprintf("%s:sha256:%s", kind, hex);
}

static bool repo_name_ok(const char *s)
{
    /* OWNER/REPO: GitHub's own alphabet, exactly one slash, nothing that
     * could walk out of the API path. */
    const char *slash = strchr(s, '/');
    if (!slash || slash == s || !slash[1] || strchr(slash + 1, '/'))
        return false;
    for (const char *p = s; *p; p++) {
        if (*p == '/')
            continue;
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '-' || *p == '_' || *p == '.'))
            return false;
    }
    return strcmp(slash + 1, "..") != 0 && strcmp(slash + 1, ".") != 0;
}

static bool project_key_ok(const char *s)
{
    if (!*s || strlen(s) > 64)
        return false;
    for (const char *p = s; *p; p++)
        if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
              *p == '_'))
            return false;
    return true;
}

int nm_ticket_options_add_target(struct nm_ticket_options *o, const char *spec, nm_diag *d)
{
    static const struct {
        const char *prefix;
        enum nm_ticket_kind kind;
    } kinds[] = {
        {"exec:", NM_TICKET_EXEC},           {"dir:", NM_TICKET_DIR},
        {"pagerduty:", NM_TICKET_PAGERDUTY}, {"github:", NM_TICKET_GITHUB},
        {"jira:", NM_TICKET_JIRA},
    };
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        if (!nm_str_has_prefix(spec, kinds[i].prefix))
            continue;
        const char *arg = spec + strlen(kinds[i].prefix);
        if (!*arg)
            return nm_diag_set(d, NM_ERR_INVAL, "--ticket %s needs something after the colon",
                               kinds[i].prefix);
        if (kinds[i].kind == NM_TICKET_GITHUB && !repo_name_ok(arg))
            return nm_diag_set(d, NM_ERR_INVAL, "--ticket github:OWNER/REPO: \"%.200s\" is not one",
                               arg);
        if (kinds[i].kind == NM_TICKET_JIRA && !project_key_ok(arg))
            return nm_diag_set(d, NM_ERR_INVAL,
                               "--ticket jira:PROJECT: \"%.200s\" is not a project key", arg);
        if (kinds[i].kind == NM_TICKET_PAGERDUTY && strlen(arg) > 256)
            return nm_diag_set(d, NM_ERR_INVAL, "--ticket pagerduty: the routing key is too long");
        char *key =
            kinds[i].kind == NM_TICKET_PAGERDUTY ? key_digest("pagerduty", arg) : nm_xstrdup(spec);
        for (size_t t = 0; t < o->n_targets; t++) {
            if (strcmp(o->targets[t].key, key) == 0) {
                free(key);
                return 0;
            }
        }
        o->targets = nm_xreallocarray(o->targets, o->n_targets + 1, sizeof *o->targets);
        o->targets[o->n_targets++] =
            (struct nm_ticket_target){.kind = kinds[i].kind, .arg = nm_xstrdup(arg), .key = key};
        return 0;
    }
    return nm_diag_set(d, NM_ERR_INVAL,
                       "--ticket \"%.60s\": not one of exec:COMMAND, dir:PATH, "
                       "pagerduty:ROUTING_KEY, github:OWNER/REPO, jira:PROJECT",
                       nm_str_has_prefix(spec, "pagerduty") ? "pagerduty…" : spec);
}

static bool env_set(const char *name)
{
    const char *v = getenv(name);
    return v && *v;
}

int nm_ticket_options_check(const struct nm_ticket_options *o, nm_diag *d)
{
    for (size_t i = 0; i < o->n_targets; i++) {
        const struct nm_ticket_target *t = &o->targets[i];
        if (t->kind == NM_TICKET_GITHUB && !env_set("GITHUB_TOKEN"))
            return nm_diag_set(d, NM_ERR_CONFIG,
                               "--ticket %s: GITHUB_TOKEN is not set in the environment", t->key);
        if (t->kind == NM_TICKET_JIRA && (!env_set("JIRA_USER") || !env_set("JIRA_TOKEN")))
            return nm_diag_set(
                d, NM_ERR_CONFIG,
                "--ticket %s: JIRA_USER and JIRA_TOKEN must be set in the environment", t->key);
        if (t->kind == NM_TICKET_JIRA && (!o->jira_url || !*o->jira_url))
            return nm_diag_set(d, NM_ERR_CONFIG,
                               "--ticket %s: --jira-url is required (Jira has no one public "
                               "address: e.g. https://example.atlassian.net)",
                               t->key);
    }
    return 0;
}
