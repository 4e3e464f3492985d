/*
 * The release lifecycle data and the os-lifecycle check:
 *  - the shipped checks/data/lifecycle.json validates (every date parses,
 *    releases ascend, every entry has its source) and covers the
 *    distributions the check promises;
 *  - malformed files are refused naming the key;
 *  - the check's verdicts, through the real check file and its parser, at
 *    several "now" dates: standard support, within 180 days of its end, on
 *    LTS/ESM, past security support with none in place, past every date, a
 *    release the file does not know.
 */
#include <stdlib.h>
#include <string.h>

#include "nearmiss/check.h"
#include "nearmiss/lifecycle.h"
#include "nearmiss/util.h"
#include "test.h"

/* The tests run in tests/ (meson workdir). */
#define CHECKS "../checks"
#define DATA   CHECKS "/data/lifecycle.json"

static int64_t at(const char *date)
{
    int64_t t = 0;
    if (nm_lifecycle_parse_date(date, &t) < 0) {
        fprintf(stderr, "bad test date %s\n", date);
        exit(2);
    }
    return t + 2 * 3600; /* 02:00Z, as NEARMISS_NOW=...T02:00:00Z */
}

static void test_dates(void)
{
    int64_t t;
    CHECK(nm_lifecycle_parse_date("1970-01-01", &t) == 0 && t == 0);
    CHECK(nm_lifecycle_parse_date("2026-12-01", &t) == 0 && t == 1796083200);
    CHECK(nm_lifecycle_parse_date("2028-02-29", &t) == 0);
    CHECK(nm_lifecycle_parse_date("2027-02-29", &t) < 0);
    CHECK(nm_lifecycle_parse_date("2026-13-01", &t) < 0);
    CHECK(nm_lifecycle_parse_date("2026-1-01", &t) < 0);
    CHECK(nm_lifecycle_parse_date("2026-01-01Z", &t) < 0);
    CHECK(nm_lifecycle_parse_date("", &t) < 0);
}

static void test_shipped_file(void)
{
    struct nm_lifecycle *lc = NULL;
    nm_diag d = {{0}};
    int r = nm_lifecycle_load(DATA, &lc, &d);
    if (r < 0)
        fprintf(stderr, "%s\n", d.msg);
    CHECK(r == 0);
    nm_lifecycle_destroy(lc);

    /* Coverage: what the docs promise is in the file. */
    json_error_t jerr;
    json_t *root = json_load_file(DATA, 0, &jerr);
    const char *ids[] = {"debian", "ubuntu", "rhel",   "rocky", "almalinux",
                         "ol",     "fedora", "alpine", "sles",  "opensuse-leap"};
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        const json_t *dist = json_object_get(json_object_get(root, "distributions"), ids[i]);
        test_checks++;
        if (!dist || json_array_size(json_object_get(dist, "releases")) == 0) {
            test_failures++;
            fprintf(stderr, "%s: no releases for %s\n", DATA, ids[i]);
        }
    }
    json_decref(root);
}

static void expect_bad(const char *doc, const char *what)
{
    struct nm_lifecycle *lc = NULL;
    nm_diag d = {{0}};
    int r = nm_lifecycle_load_buffer("t.json", doc, strlen(doc), &lc, &d);
    test_checks++;
    if (r >= 0 || !strstr(d.msg, what)) {
        test_failures++;
        fprintf(stderr, "expected an error with \"%s\", got r=%d \"%s\"\n", what, r, d.msg);
    }
    nm_lifecycle_destroy(lc);
}

#define HEAD "{\"schema\": \"nearmiss.lifecycle/1\", \"distributions\": {\"x\": {\"name\": \"X\", "
#define PROG                                                                                       \
    "\"programs\": {\"p\": {\"name\": \"P\", \"marker\": \"x-p\", \"source\": \"https://e/p\"}}, "
#define REL(v, rel, sec, src)                                                                      \
    "{\"version\": \"" v "\", \"released\": \"" rel "\", \"security_end\": \"" sec                 \
    "\", \"source\": \"" src "\"}"

static void test_bad_files(void)
{
    expect_bad(HEAD "\"releases\": [" REL("1", "2020-01-01", "2021-02-30", "https://e") "]}}}",
               "releases[0]: \"security_end\" must be a date");
    expect_bad(HEAD "\"releases\": [" REL("1", "2020-01-01", "2021-01-01", "") "]}}}",
               "\"source\" must be a non-empty string");
    expect_bad(HEAD "\"releases\": [" REL("1", "2020-01-01", "2021-01-01", "e.org") "]}}}",
               "public URL");
    expect_bad(HEAD "\"releases\": [" REL("2", "2020-01-01", "2021-01-01", "https://e") ", " REL(
                   "1", "2021-01-01", "2022-01-01", "https://e") "]}}}",
               "releases[1]: releases must be in ascending order");
    expect_bad(HEAD "\"releases\": [" REL("1", "2021-01-01", "2022-01-01", "https://e") ", " REL(
                   "2", "2020-01-01", "2023-01-01", "https://e") "]}}}",
               "dated before");
    expect_bad(HEAD "\"releases\": [" REL("1", "2021-01-01", "2020-01-01", "https://e") "]}}}",
               "before the release date");
    expect_bad(HEAD PROG "\"releases\": [{\"version\": \"1\", \"released\": \"2020-01-01\", "
                         "\"security_end\": \"2021-01-01\", \"source\": \"https://e\", "
                         "\"extended\": [{\"program\": \"q\", \"end\": \"2022-01-01\"}]}]}}}",
               "program \"q\" is not declared");
    expect_bad(HEAD PROG "\"releases\": [{\"version\": \"1\", \"released\": \"2020-01-01\", "
                         "\"security_end\": \"2021-01-01\", \"source\": \"https://e\", "
                         "\"extended\": [{\"program\": \"p\", \"end\": \"2020-06-01\"}]}]}}}",
               "must end after");
    expect_bad(HEAD "\"programs\": {\"p\": {\"name\": \"P\", \"source\": \"https://e\"}}, "
                    "\"releases\": [" REL("1", "2020-01-01", "2021-01-01", "https://e") "]}}}",
               "no host could ever be on it");
    expect_bad(HEAD "\"releases\": [" REL("1", "2020-01-01", "2021-01-01",
                                          "https://e") "], \"relases\": 1}}}",
               "unknown key \"relases\"");
    expect_bad("{\"schema\": \"other\", \"distributions\": {}}", "schema");
}

/* ---- verdicts through the real check ------------------------------------ */

static struct nm_checkset cs;
static const struct nm_check *chk;

static json_t *judge(const char *probe_out, int64_t now)
{
    struct nm_section sec;
    memset(&sec, 0, sizeof sec);
    snprintf(sec.id, sizeof sec.id, "os-lifecycle");
    sec.state = NM_SECTION_DONE;
    nm_buf_init(&sec.out, 1 << 16);
    nm_buf_init(&sec.err, 1 << 16);
    nm_buf_appends(&sec.out, probe_out);
    char name[] = "h1";
    struct nm_host h = {.name = name, .address = name};
    json_t *findings = json_array();
    json_t *entry = nm_check_evaluate(chk, &h, &sec, now, findings, NULL);
    json_object_set_new(entry, "findings_list", findings);
    nm_buf_finish(&sec.out);
    nm_buf_finish(&sec.err);
    return entry;
}

struct want {
    const char *probe;
    const char *now;
    const char *severity; /* NULL: no finding */
    long long days;       /* value, when a severity is expected and not info */
    const char *phase;
    const char *in_message;
};

static void test_verdicts(void)
{
    const struct want cases[] = {
        /* Debian 12: security support ends 2026-07-11, LTS (automatic) 2028-06-30. */
        {"ID=debian\nVERSION_ID=\"12\"\n", "2025-06-01", NULL, 0, "standard", NULL},
        {"ID=debian\nVERSION_ID=\"12\"\n", "2026-03-01", "medium", 132, "standard",
         "leaves security support on 2026-07-11"},
        {"ID=debian\nVERSION_ID=\"12\"\n", "2026-07-11", "medium", 0, "standard", NULL},
        {"ID=debian\nVERSION_ID=\"12\"\n", "2026-12-01", "low", 577, "extended", "Debian LTS"},
        {"ID=debian\nVERSION_ID=\"12\"\n", "2028-03-01", "medium", 121, "extended", "Debian LTS"},
        /* past LTS: ELTS needs its repository */
        {"ID=debian\nVERSION_ID=\"12\"\n", "2028-07-01", "high", -1, "unsupported",
         "Freexian Extended LTS until 2033-06-30"},
        {"ID=debian\nVERSION_ID=\"12\"\nNM_EXTENDED=debian-elts\n", "2028-07-01", "low", 1825,
         "extended", "Freexian"},
        {"ID=debian\nVERSION_ID=\"12\"\n", "2034-01-01", "critical", -185, "ended",
         "past every support date"},
        /* Ubuntu 22.04: standard until 2027-04-01, ESM only with Ubuntu Pro */
        {"ID=ubuntu\nVERSION_ID=\"22.04\"\n", "2026-12-01", "medium", 121, "standard", NULL},
        {"ID=ubuntu\nVERSION_ID=\"22.04\"\n", "2027-06-01", "high", -61, "unsupported",
         "no security support since 2027-04-01"},
        {"ID=ubuntu\nVERSION_ID=\"22.04\"\nNM_EXTENDED=ubuntu-esm\n", "2027-06-01", "low", 1774,
         "extended", "Ubuntu Pro"},
        {"ID=ubuntu\nVERSION_ID=\"24.04\"\n", "2026-12-01", NULL, 0, "standard", NULL},
        /* interim release: no extended program at all */
        {"ID=ubuntu\nVERSION_ID=\"25.04\"\n", "2026-12-01", "critical", -318, "ended", NULL},
        /* minor versions map to their major, Alpine's patch level to its branch */
        {"ID=\"rocky\"\nVERSION_ID=\"9.3\"\n", "2026-12-01", NULL, 0, "standard", NULL},
        {"ID=alpine\nVERSION_ID=3.19.1\n", "2026-12-01", "critical", -395, "ended",
         "the last one ended 2025-11-01"},
        {"ID=alpine\nVERSION_ID=3.22.0\n", "2026-12-01", "medium", 151, "standard", NULL},
        /* SLES 15 SP5: general support ended 2024-12-31, LTSS to 2027-12-31 */
        {"ID=\"sles\"\nVERSION_ID=\"15.5\"\n", "2026-12-01", "high", -700, "unsupported", "LTSS"},
        {"ID=\"sles\"\nVERSION_ID=\"15.5\"\nNM_EXTENDED=sles-ltss\n", "2026-12-01", "low", 395,
         "extended", NULL},
        /* the file does not know it: info, never silence */
        {"ID=debian\nVERSION_ID=\"14\"\n", "2026-12-01", "info", 0, "unknown",
         "Debian 14 is not in"},
        {"ID=debian\nPRETTY_NAME=\"Debian GNU/Linux forky/sid\"\n", "2026-12-01", "info", 0,
         "unknown", "no VERSION_ID"},
        {"ID=plan9\nVERSION_ID=4\n", "2026-12-01", "info", 0, "unknown", "no lifecycle data"},
        {"NM_PROBE=os-lifecycle\n", "2026-12-01", "info", 0, "unknown", "names no ID"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct want *w = &cases[i];
        json_t *e = judge(w->probe, at(w->now));
        json_t *fl = json_object_get(e, "findings_list");
        json_t *f = json_array_get(fl, 0);
        const char *sev = json_string_value(json_object_get(f, "severity"));
        const char *phase = json_string_value(json_object_get(json_object_get(f, "item"), "phase"));
        const char *msg = json_string_value(json_object_get(f, "message"));
        bool ok = w->severity ? (sev && strcmp(sev, w->severity) == 0 && json_array_size(fl) == 1)
                              : json_array_size(fl) == 0;
        if (ok && w->severity && strcmp(w->severity, "info") != 0)
            ok = json_integer_value(json_object_get(f, "value")) == w->days;
        if (ok && w->severity)
            ok = phase && strcmp(phase, w->phase) == 0;
        if (ok && w->in_message)
            ok = msg && strstr(msg, w->in_message);
        if (ok && !w->severity)
            ok = strcmp(json_string_value(json_object_get(e, "result")), "pass") == 0;
        test_checks++;
        if (!ok) {
            test_failures++;
            char *dump = json_dumps(e, JSON_INDENT(1));
            fprintf(stderr, "case %zu (%s at %s): want %s %lld %s\n%s\n", i, w->probe, w->now,
                    w->severity ? w->severity : "nothing", w->days, w->phase, dump);
            free(dump);
        }
        json_decref(e);
    }
    /* The subject names the release, not the changing VERSION_ID or days. */
    json_t *a = judge("ID=rocky\nVERSION_ID=9.3\n", at("2032-05-01"));
    json_t *b = judge("ID=rocky\nVERSION_ID=9.5\n", at("2032-05-20"));
    json_t *fa = json_array_get(json_object_get(a, "findings_list"), 0);
    json_t *fb = json_array_get(json_object_get(b, "findings_list"), 0);
    CHECK_STR(json_string_value(json_object_get(fa, "subject")), "rocky 9");
    CHECK_STR(json_string_value(json_object_get(fa, "fingerprint")),
              json_string_value(json_object_get(fb, "fingerprint")));
    json_decref(a);
    json_decref(b);
}

static void test_check_file_errors(void)
{
    struct nm_checkset c2;
    nm_diag d = {{0}};
    nm_checkset_init(&c2);
    const char *def = "{\"id\": \"l\", \"title\": \"T\", \"category\": \"patch\", \"subject\": "
                      "\"s\", \"message\": \"m\", \"probe\": {\"id\": \"l\", \"script\": \"x\"}, "
                      "\"parser\": \"os_lifecycle\", \"lifecycle\": \"../etc/passwd\", "
                      "\"rules\": [{\"severity\": \"low\"}]}";
    CHECK(nm_checkset_load_buffer(&c2, "checks/l.json", def, strlen(def), &d) < 0);
    CHECK(strstr(d.msg, "lifecycle: must be a path inside the checks directory") != NULL);
    const char *def2 = "{\"id\": \"l\", \"title\": \"T\", \"category\": \"patch\", \"subject\": "
                       "\"s\", \"message\": \"m\", \"probe\": {\"id\": \"l\", \"script\": \"x\"}, "
                       "\"parser\": \"os_lifecycle\", \"lifecycle\": \"data/missing.json\", "
                       "\"rules\": [{\"severity\": \"low\"}]}";
    CHECK(nm_checkset_load_buffer(&c2, "checks/l.json", def2, strlen(def2), &d) < 0);
    CHECK(strstr(d.msg, "checks/l.json:1: lifecycle: ") && strstr(d.msg, "data/missing.json"));
    nm_checkset_finish(&c2);
}

int main(void)
{
    test_dates();
    test_shipped_file();
    test_bad_files();
    nm_diag d = {{0}};
    nm_checkset_init(&cs);
    if (nm_checkset_load_dir(&cs, CHECKS, &d) < 0) {
        fprintf(stderr, "checks: %s\n", d.msg);
        return 1;
    }
    chk = nm_checkset_find(&cs, "os-lifecycle");
    CHECK(chk != NULL);
    if (chk)
        test_verdicts();
    test_check_file_errors();
    nm_checkset_finish(&cs);
    return test_result();
}
