#include <stdlib.h>
#include <unistd.h>

#include "nearmiss/util.h"
#include "test.h"

static void test_buf_cap(void)
{
    struct nm_buf b;
    nm_buf_init(&b, 5);
    CHECK_INT(nm_buf_append(&b, "abc", 3), 0);
    CHECK_INT(nm_buf_append(&b, "defg", 4), NM_ERR_TOOBIG);
    CHECK_INT(b.len, 5);
    CHECK_STR(b.data, "abcde");
    CHECK_INT(nm_buf_append(&b, "x", 1), NM_ERR_TOOBIG);
    CHECK_INT(b.len, 5);
    nm_buf_finish(&b);
    nm_buf_finish(&b); /* finish twice is harmless */
}

static void test_numbers(void)
{
    uint64_t u;
    int64_t i;
    CHECK_INT(nm_str_to_u64("18446744073709551615", &u), 0);
    CHECK(u == UINT64_MAX);
    CHECK_INT(nm_str_to_u64("18446744073709551616", &u), NM_ERR_PARSE);
    CHECK_INT(nm_str_to_u64("", &u), NM_ERR_PARSE);
    CHECK_INT(nm_str_to_u64("12a", &u), NM_ERR_PARSE);
    CHECK_INT(nm_str_to_i64("-9223372036854775808", &i), 0);
    CHECK(i == INT64_MIN);
    CHECK_INT(nm_str_to_i64("9223372036854775808", &i), NM_ERR_PARSE);
    const char *s = "  42 rest", *end = s + strlen(s);
    nm_skip_spaces(&s, end);
    CHECK_INT(nm_parse_u64(&s, end, &u), 0);
    CHECK_INT(u, 42);
    CHECK_STR(s, " rest");
}

static void test_shquote(void)
{
    struct nm_buf b;
    nm_buf_init(&b, 1024);
    nm_buf_append_shquoted(&b, "it's $HOME");
    CHECK_STR(b.data, "'it'\\''s $HOME'");
    nm_buf_finish(&b);
}

static void test_atomic_write(void)
{
    char dir[] = "/tmp/nm-test-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char *path = nm_xasprintf("%s/sub/dir/file.json", dir);
    char *sub = nm_xasprintf("%s/sub/dir", dir);
    CHECK_INT(nm_mkdir_p(sub, 0755, NULL), 0);
    CHECK_INT(nm_write_atomic(path, "one", 3, 0644, NULL), 0);
    CHECK_INT(nm_write_atomic(path, "two!", 4, 0644, NULL), 0);
    char *data = NULL;
    size_t len = 0;
    CHECK_INT(nm_read_file(path, 100, &data, &len, NULL), 0);
    CHECK_STR(data, "two!");
    free(data);
    CHECK_INT(nm_read_file(path, 2, &data, &len, NULL), NM_ERR_TOOBIG);
    /* A write into a directory that does not exist fails and leaves nothing. */
    char *bad = nm_xasprintf("%s/missing/x", dir);
    nm_diag d;
    CHECK_INT(nm_write_atomic(bad, "x", 1, 0644, &d), NM_ERR_IO);
    unlink(path);
    rmdir(sub);
    char *sub1 = nm_xasprintf("%s/sub", dir);
    rmdir(sub1);
    rmdir(dir);
    free(sub1);
    free(bad);
    free(sub);
    free(path);
}

static void test_glob(void)
{
    CHECK(nm_glob_match("web*", "web1"));
    CHECK(!nm_glob_match("web?", "web12"));
    CHECK(nm_glob_match("*", ""));
}

int main(void)
{
    test_buf_cap();
    test_numbers();
    test_shquote();
    test_atomic_write();
    test_glob();
    return test_result();
}
