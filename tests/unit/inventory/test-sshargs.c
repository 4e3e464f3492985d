/*
 * ssh arguments from Ansible inventories: shell word splitting (checked
 * against what Python's shlex.split gives for the same strings) and what
 * each option becomes.
 */
#include <stdlib.h>
#include <string.h>

#include "nearmiss/sshargs.h"
#include "nearmiss/util.h"
#include "test.h"

/* Words joined with '|' for one comparison. */
static char *split_joined(const char *s, int *ret_r)
{
    char **w = NULL;
    size_t n = 0;
    const char *why = NULL;
    *ret_r = nm_shell_words(s, 16, &w, &n, &why);
    if (*ret_r < 0)
        return nm_xstrdup(why ? why : "?");
    struct nm_buf b;
    nm_buf_init(&b, 1 << 16);
    for (size_t i = 0; i < n; i++)
        nm_buf_appendf(&b, "%s[%s]", i ? "|" : "", w[i]);
    CHECK(w[n] == NULL);
    char *out = nm_xstrdup(b.data ? b.data : "");
    nm_buf_finish(&b);
    free(w);
    return out;
}

static void words(const char *s, const char *want)
{
    int r;
    char *got = split_joined(s, &r);
    CHECK_INT(r, 0);
    CHECK_STR(got, want);
    free(got);
}

static void words_fail(const char *s, int code, const char *why)
{
    int r;
    char *got = split_joined(s, &r);
    CHECK_INT(r, code);
    CHECK_STR(got, why);
    free(got);
}

static void test_words(void)
{
    /* Expected values as shlex.split prints them. */
    words("", "");
    words("  \t\n ", "");
    words("-o ProxyJump=bastion", "[-o]|[ProxyJump=bastion]");
    words("-o 'ProxyCommand=ssh -W %h:%p -q bastion'",
          "[-o]|[ProxyCommand=ssh -W %h:%p -q bastion]");
    words("-o ProxyCommand=\"ssh -W %h:%p -q bastion\"",
          "[-o]|[ProxyCommand=ssh -W %h:%p -q bastion]");
    words("a\\ b 'c\\d' \"e\\\"f\\g\" ''", "[a b]|[c\\d]|[e\"f\\g]|[]");
    words("x'y'\"z\"w", "[xyzw]");
    words("a\\\nb \"c\\\nd\"", "[a\nb]|[c\\\nd]");
    words("'\"' \"'\"", "[\"]|[']");
    words_fail("-o 'ProxyJump=x", NM_ERR_PARSE, "unterminated '");
    words_fail("-o \"ProxyJump=x", NM_ERR_PARSE, "unterminated \"");
    words_fail("-o x\\", NM_ERR_PARSE, "trailing backslash");
    words_fail("1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17", NM_ERR_TOOBIG, "too many words");
    words("1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16  ",
          "[1]|[2]|[3]|[4]|[5]|[6]|[7]|[8]|[9]|[10]|[11]|[12]|[13]|[14]|[15]|[16]");
    char *big = nm_xmalloc(NM_SSH_ARGS_MAX_LEN + 2);
    memset(big, 'a', NM_SSH_ARGS_MAX_LEN + 1);
    big[NM_SSH_ARGS_MAX_LEN + 1] = '\0';
    words_fail(big, NM_ERR_TOOBIG, "too long");
    big[NM_SSH_ARGS_MAX_LEN] = '\0';
    int r;
    char *got = split_joined(big, &r);
    CHECK_INT(r, 0);
    CHECK_INT(strlen(got), NM_SSH_ARGS_MAX_LEN + 2);
    free(got);
    free(big);
}

static struct nm_ssh_args parse2(const char *common, const char *extra)
{
    struct nm_ssh_args a = {0};
    if (common)
        nm_ssh_args_parse("ansible_ssh_common_args", common, &a);
    if (extra)
        nm_ssh_args_parse("ansible_ssh_extra_args", extra, &a);
    return a;
}

static void check_null_or(const char *got, const char *want)
{
    if (want)
        CHECK_STR(got ? got : "(null)", want);
    else
        CHECK(got == NULL);
}
#define CHECK_NULL_OR(a, b) check_null_or((a), (b))

static void expect(const char *common, const char *extra, const char *jump, const char *command,
                   int port, const char *user, const char *note, const char *error)
{
    struct nm_ssh_args a = parse2(common, extra);
    CHECK_NULL_OR(a.proxy_jump, jump);
    CHECK_NULL_OR(a.proxy_command, command);
    CHECK_INT(a.port, port);
    CHECK_NULL_OR(a.user, user);
    CHECK_NULL_OR(a.note, note);
    CHECK_NULL_OR(a.error, error);
    nm_ssh_args_finish(&a);
}

static void test_options(void)
{
    /* Every spelling of ProxyJump. */
    expect("-o ProxyJump=ops@bastion:2222", NULL, "ops@bastion:2222", NULL, 0, NULL, NULL, NULL);
    expect("-o 'ProxyJump bastion'", NULL, "bastion", NULL, 0, NULL, NULL, NULL);
    expect("-o \"proxyjump = b1,b2\"", NULL, "b1,b2", NULL, 0, NULL, NULL, NULL);
    expect("-oProxyJump=bastion", NULL, "bastion", NULL, 0, NULL, NULL, NULL);
    expect("-J bastion", NULL, "bastion", NULL, 0, NULL, NULL, NULL);
    expect("-Jbastion", NULL, "bastion", NULL, 0, NULL, NULL, NULL);
    expect("-o ProxyJump=\"bastion\"", NULL, "bastion", NULL, 0, NULL, NULL, NULL);
    /* Unquoted, ssh sees -o ProxyJump with no value: so does this. */
    expect("-o ProxyJump bastion", NULL, NULL, NULL, 0, NULL,
           "ansible_ssh_common_args: \"bastion\" not used (not an option)",
           "ansible_ssh_common_args: -o ProxyJump has no value (write -o 'ProxyJump VALUE' or "
           "-o ProxyJump=VALUE)");

    /* ProxyCommand kept as written for reach.c to translate or refuse. */
    expect("-o ProxyCommand=\"ssh -W %h:%p -q ops@bastion\"", NULL, NULL,
           "ssh -W %h:%p -q ops@bastion", 0, NULL, NULL, NULL);
    /* First of ProxyJump/ProxyCommand wins, across both variables. */
    expect("-J b1", "-o ProxyCommand='ssh -W %h:%p b2' -o ProxyJump=b3", "b1", NULL, 0, NULL,
           "ansible_ssh_extra_args: -o ProxyCommand=ssh -W %h:%p b2 not used: an earlier "
           "ProxyJump or ProxyCommand wins; ansible_ssh_extra_args: -o ProxyJump=b3 not used: an "
           "earlier ProxyJump or ProxyCommand wins",
           NULL);

    /* Port and User: first wins; -p/-l too; clustered flags. */
    expect("-o Port=2200 -o User=deploy", "-p 2300 -l other", NULL, NULL, 2200, "deploy", NULL,
           NULL);
    expect("-Cp2201", NULL, NULL, NULL, 2201, NULL, "ansible_ssh_common_args: -C not used", NULL);
    expect("-4 -p 2202 -l ops", NULL, NULL, NULL, 2202, "ops",
           "ansible_ssh_common_args: -4 not used", NULL);
    expect("-o Port=http", NULL, NULL, NULL, 0, NULL, NULL,
           "ansible_ssh_common_args: -o Port=http: not a port 1..65535");
    expect("-o Port=70000", NULL, NULL, NULL, 0, NULL, NULL,
           "ansible_ssh_common_args: -o Port=70000: not a port 1..65535");
    expect("-o 'User=a b'", NULL, NULL, NULL, 0, NULL, NULL,
           "ansible_ssh_common_args: -o User=a b: the value contains a space, a control or a "
           "non-ASCII character");
    expect("-J -bastion", NULL, NULL, NULL, 0, NULL, NULL,
           "ansible_ssh_common_args: -J -bastion: the value starts with '-'");
    expect("-p", NULL, NULL, NULL, 0, NULL, NULL, "ansible_ssh_common_args: -p has no value");

    /* StrictHostKeyChecking: yes/ask are what nearmiss does; no is named. */
    expect("-o StrictHostKeyChecking=yes -o StrictHostKeyChecking=ask", NULL, NULL, NULL, 0, NULL,
           NULL, NULL);
    expect("-o StrictHostKeyChecking=no", NULL, NULL, NULL, 0, NULL,
           "ansible_ssh_common_args: -o StrictHostKeyChecking=no not followed: nearmiss always "
           "verifies host keys (an unknown key is recorded only with --accept-new; a changed key "
           "is never accepted)",
           NULL);

    /* Options nearmiss has no use for are named, never dropped silently. */
    expect("-o ControlMaster=auto -o ControlPersist=60s -F cfg", NULL, NULL, NULL, 0, NULL,
           "ansible_ssh_common_args: -o ControlMaster=auto not used; ansible_ssh_common_args: "
           "-o ControlPersist=60s not used; ansible_ssh_common_args: -F cfg not used",
           NULL);
    expect("-o 'ProxyJump=x", NULL, NULL, NULL, 0, NULL, NULL,
           "ansible_ssh_common_args: cannot split \"-o 'ProxyJump=x\" into arguments: "
           "unterminated '");
    expect("-o ProxyJump=b -- -p 1", NULL, "b", NULL, 0, NULL,
           "ansible_ssh_common_args: what follows \"--\" is not used", NULL);

    /* UserKnownHostsFile: the first file; /dev/null is the "trust anything" idiom. */
    struct nm_ssh_args a = parse2("-o UserKnownHostsFile=/etc/fleet/kh -i /k/id", NULL);
    CHECK_STR(a.known_hosts, "/etc/fleet/kh");
    CHECK_STR(a.identity, "/k/id");
    CHECK(a.note == NULL && a.error == NULL);
    nm_ssh_args_finish(&a);
    a = parse2("-o 'UserKnownHostsFile=/a/kh /b/kh'", NULL);
    CHECK_STR(a.known_hosts, "/a/kh");
    CHECK_STR(a.note, "ansible_ssh_common_args: -o UserKnownHostsFile=/a/kh /b/kh: only the first "
                      "file is read");
    nm_ssh_args_finish(&a);
    a = parse2("-o UserKnownHostsFile=/dev/null -o StrictHostKeyChecking=no", NULL);
    CHECK(a.known_hosts == NULL);
    CHECK_STR(a.note,
              "ansible_ssh_common_args: -o UserKnownHostsFile=/dev/null not used: nearmiss always "
              "verifies host keys against a known_hosts file; ansible_ssh_common_args: -o "
              "StrictHostKeyChecking=no not followed: nearmiss always verifies host keys (an "
              "unknown key is recorded only with --accept-new; a changed key is never accepted)");
    nm_ssh_args_finish(&a);

    /* NULLs are harmless. */
    nm_ssh_args_parse(NULL, NULL, NULL);
    nm_ssh_args_finish(NULL);
}

int main(void)
{
    test_words();
    test_options();
    return test_result();
}
