#!/usr/bin/env python3
"""test-man.py NEARMISS MAN1 MAN5 — the manual and --help never drift apart.

- nearmiss(1) has a ".SS COMMAND" section for every command of `nearmiss
  --help`, and no other;
- in each section, the options tagged by ".TP" are exactly the options of
  `nearmiss COMMAND --help` (each way round: a new option needs its manual
  entry, a removed one loses it);
- both pages render without a warning under groff (-ww) and mandoc -Tlint,
  and through man -l when man is installed.
TAP-like output; exit 0 pass, 1 fail."""
import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import helpopts  # noqa: E402

_tap = helpopts.Tap()
check = _tap.check


def unroff(s):
    s = re.sub(r"\\f[BIRP]|\\f\[[A-Z]*\]", "", s)
    return s.replace("\\-", "-").replace("\\e", "\\").replace("\\&", "")


def man_sections(path):
    """{command: set of the options its .TP tags name} for every .SS of COMMANDS."""
    sections = {}
    current = None
    in_commands = False
    lines = open(path, encoding="utf-8").read().splitlines()
    for i, line in enumerate(lines):
        if line.startswith(".SH"):
            in_commands = line.split(None, 1)[1].strip('"') == "COMMANDS"
            current = None
            continue
        if not in_commands:
            continue
        if line.startswith(".SS"):
            current = line.split(None, 1)[1].strip('"')
            sections[current] = set()
            continue
        if current and line == ".TP" and i + 1 < len(lines):
            tag = unroff(lines[i + 1])
            sections[current].update(
                re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]*|-[A-Za-z0-9])(?![\w-])", tag))
    return sections


def lint(page):
    env = dict(os.environ, LC_ALL="C.UTF-8", MANWIDTH="80")
    r = subprocess.run(["groff", "-man", "-Tutf8", "-ww", "-z", page], capture_output=True,
                       text=True, env=env)
    check(r.returncode == 0 and not r.stderr.strip(),
          f"groff -man -ww renders {os.path.basename(page)} without a warning", r.stderr)
    if shutil.which("mandoc"):
        r = subprocess.run(["mandoc", "-Tlint", page], capture_output=True, text=True, env=env)
        out = (r.stdout + r.stderr).strip()
        check(r.returncode == 0 and not out,
              f"mandoc -Tlint: {os.path.basename(page)} clean (style level included)", out)
    else:
        check(False, "mandoc is installed (scripts/deps.sh installs it)")
    if shutil.which("man"):
        r = subprocess.run(["man", "--warnings=w", "-l", page], capture_output=True, text=True,
                           env=dict(env, MANPAGER="cat", PAGER="cat"))
        check(r.returncode == 0 and not r.stderr.strip() and "NAME" in r.stdout,
              f"man -l {os.path.basename(page)} renders, no warning", r.stderr)


def main():
    nearmiss, man1, man5 = sys.argv[1:4]
    commands = helpopts.commands(nearmiss)
    sections = man_sections(man1)
    check(sorted(sections) == sorted(commands),
          f"nearmiss(1) has one section per command of --help ({' '.join(commands)})",
          f"manual: {sorted(sections)}\n--help: {sorted(commands)}")
    for cmd in commands:
        want = set(helpopts.options(nearmiss, cmd))
        got = sections.get(cmd, set())
        missing = sorted(want - got)
        extra = sorted(got - want)
        check(not missing and not extra,
              f"{cmd}: the manual's options are those of `nearmiss {cmd} --help` ({len(want)})",
              (f"in --help, not in nearmiss(1) section {cmd}: {' '.join(missing)}\n" if missing
               else "") +
              (f"in nearmiss(1) section {cmd}, not in --help: {' '.join(extra)}" if extra else ""))
    # The main options and the sections every manual page of a program has.
    text = open(man1, encoding="utf-8").read()
    for sh in ("NAME", "SYNOPSIS", "DESCRIPTION", "EXIT STATUS", "ENVIRONMENT", "FILES",
               "EXAMPLES", "SEE ALSO"):
        check(re.search(rf'^\.SH "?{sh}"?$', text, re.M) is not None, f"nearmiss(1) has {sh}")
    for word in ("NEARMISS_NOW", "NEARMISS_CHECKS_DIR", r"\-\-version", "nearmiss\\-checks"):
        check(word in text, f"nearmiss(1) mentions {unroff(word)}")
    # The exit statuses scan's --help and the contract promise.
    for status in ("0", "1", "2", "100"):
        check(re.search(rf"^\.B {status}$", text, re.M) is not None,
              f"EXIT STATUS lists {status}")
    # nearmiss-checks(5) lists every key of the format.
    text5 = unroff(open(man5, encoding="utf-8").read())
    for key in ("id", "probe.script", "rules[].thresholds", "group.by[].subject", "applies.os"):
        check(re.search(rf"^{re.escape(key)} \(", text5, re.M) is not None,
              f"nearmiss-checks(5) documents key {key}")
    lint(man1)
    lint(man5)
    return _tap.finish()


if __name__ == "__main__":
    sys.exit(main())
