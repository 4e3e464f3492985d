#!/usr/bin/env python3
"""Fails when C code in the tree uses a banned function.

The banned list is curl's idea (its checksrc): these functions either write
without a bound (sprintf vsprintf strcpy strcat gets), keep hidden state
(strtok) or cannot report a bad number (sscanf atoi atol).  Host bytes are
parsed with the bounded cursor and strings built with snprintf or nm_buf.

A use is the name as a whole word in code: comments, string literals and
character literals are blanked first, so prose may still name them.

usage: check-banned.py TOP [DIR...]   (DIRs relative to TOP; default below)
       check-banned.py --self-test       (the checker finds what it must)
"""
import os
import re
import sys

BANNED = ["sprintf", "vsprintf", "strcpy", "strcat", "strtok", "sscanf",
          "atoi", "atol", "gets"]
DIRS = ["src", "include", "tests/unit", "tests/fuzz"]
WORD = re.compile(r"\b(" + "|".join(BANNED) + r")\b")


def code_only(text):
    """text with comments and literals replaced by spaces, lines kept."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        two = text[i:i + 2]
        if two == "/*":
            end = text.find("*/", i + 2)
            end = n if end < 0 else end + 2
            out.append(re.sub(r"[^\n]", " ", text[i:end]))
            i = end
        elif two == "//":
            end = text.find("\n", i)
            end = n if end < 0 else end
            out.append(" " * (end - i))
            i = end
        elif c in "\"'":
            j = i + 1
            while j < n and text[j] != c and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            j = min(j + 1, n)
            out.append(c + re.sub(r"[^\n]", " ", text[i + 1:j - 1]) + c)
            i = j
        else:
            out.append(c)
            i += 1
    return "".join(out)


def uses(text):
    """(line, name) of every banned use in C source text."""
    return [(lineno, m.group(1))
            for lineno, line in enumerate(code_only(text).split("\n"), 1)
            for m in WORD.finditer(line)]


SAMPLE = r"""/* sprintf in a comment is prose */
// so is strcpy
const char *s = "atoi(x) in a string";
char q = '"', e = '\'';
int f(void) { return atoi(s) + fgets_x + nm_gets + my_strcat_len; }
#define X(a) sprintf (a)
char *(*tok)(char *, const char *) = strtok;
/* one comment
   over lines: gets */ int g = sscanf("1", "%d", &g);
"""


def self_test():
    want = [(5, "atoi"), (6, "sprintf"), (7, "strtok"), (9, "sscanf")]
    got = uses(SAMPLE)
    if got != want:
        print(f"self-test: found {got}, expected {want}", file=sys.stderr)
        return 1
    print("self-test: the four uses found, nothing else")
    return 0


def main():
    if sys.argv[1:] == ["--self-test"]:
        return self_test()
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    top = sys.argv[1]
    dirs = sys.argv[2:] or DIRS
    found = 0
    checked = 0
    for d in dirs:
        for root, subdirs, files in os.walk(os.path.join(top, d)):
            subdirs.sort()
            for name in sorted(files):
                if not name.endswith((".c", ".h")):
                    continue
                path = os.path.join(root, name)
                with open(path, encoding="utf-8", errors="replace") as f:
                    text = f.read()
                checked += 1
                for lineno, name in uses(text):
                    found += 1
                    rel = os.path.relpath(path, top)
                    print(f"{rel}:{lineno}: banned function {name}")
    if checked == 0:
        print("no C files found under " + ", ".join(dirs), file=sys.stderr)
        return 1
    print(f"{checked} files checked, {found} banned uses")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
