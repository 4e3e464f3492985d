"""What `nearmiss --help` and `nearmiss COMMAND --help` list: the commands and
each command's options.  The man page test and the completion tests both
read --help through this module, so all three are held to one source.

As a script: helpopts.py NEARMISS [COMMAND] prints the commands (no COMMAND)
or COMMAND's options, one per line."""
import re
import subprocess
import sys

# An option line: two to six spaces, then "-x, --long", "-x" or "--long".
# Descriptions continue at column 25 and may mention other options
# ("--ticket-min (repeatable..."), which are not this command's own lines.
_OPT_LINE = re.compile(r"^ {2,6}(-[A-Za-z0-9])?(?:, )?(--[a-z][a-z0-9-]*)?(?=[ =\[]|$)")
_TOKEN = re.compile(r"(?<![\w-])(--[a-z][a-z0-9-]*|-[A-Za-z0-9])(?![\w-])")


def help_text(nearmiss, command=None):
    argv = [nearmiss] + ([command] if command else []) + ["--help"]
    r = subprocess.run(argv, capture_output=True, text=True, check=False)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited {r.returncode}: {r.stderr}")
    return r.stdout


def commands(nearmiss):
    """The command names of the "Commands:" block of `nearmiss --help`."""
    names = []
    inside = False
    for line in help_text(nearmiss).splitlines():
        if line.startswith("Commands:"):
            inside = True
            continue
        if inside:
            if not line.strip():
                break
            m = re.match(r"^  ([a-z][a-z-]*)\b", line)
            if m and m.group(1) not in names:
                names.append(m.group(1))
    if not names:
        raise RuntimeError("no Commands: block in nearmiss --help")
    return names


def subcommands(nearmiss, command):
    """Words listed as "  WORD ..." before the first option line (checks)."""
    words = []
    for line in help_text(nearmiss, command).splitlines():
        if _OPT_LINE.match(line) and (line.lstrip().startswith("-")):
            break
        m = re.match(r"^  ([a-z]+)(?: [A-Z]+)?\s{2,}", line)
        if m:
            words.append(m.group(1))
    return words


def options(nearmiss, command):
    """Every option COMMAND --help lists: option lines, and the usage lines."""
    found = set()
    lines = help_text(nearmiss, command).splitlines()
    in_usage = False
    for line in lines:
        if line.startswith("Usage:"):
            in_usage = True
        elif in_usage and not re.match(r"^\s+\[", line):
            in_usage = False
        if in_usage:
            found.update(_TOKEN.findall(line))
            continue
        if not line.lstrip().startswith("-"):
            continue
        m = _OPT_LINE.match(line)
        if m:
            found.update(g for g in m.groups() if g)
    return sorted(found)


def option_arguments(nearmiss, command):
    """{option: argument word or None} from COMMAND's option lines."""
    args = {}
    for line in help_text(nearmiss, command).splitlines():
        m = re.match(r"^ {2,6}(?:(-[A-Za-z0-9]), )?(--?[a-z][a-z0-9-]*)(?: ([A-Z][A-Z0-9=,.|\[\]]*|[a-z]+(?:\|[a-z]+)+))?", line)
        if not m or not line.lstrip().startswith("-"):
            continue
        short, long_, arg = m.groups()
        for o in (short, long_):
            if o:
                args[o] = arg
    return args



class Tap:
    """TAP-like results for the docs tests: check() prints one line per
    check, finish() the plan and the verdict, as the exit status."""

    def __init__(self):
        self.n = 0
        self.failed = 0

    def check(self, ok, what, detail=""):
        self.n += 1
        print(f"{'ok' if ok else 'not ok'} {self.n} - {what}")
        if not ok:
            self.failed += 1
            for line in str(detail).splitlines():
                print(f"#   {line}")

    def finish(self):
        print(f"1..{self.n}")
        if self.failed:
            print(f"FAIL: {self.failed} of {self.n}")
            return 1
        print(f"PASS: {self.n}")
        return 0


if __name__ == "__main__":
    if len(sys.argv) == 2:
        print("\n".join(commands(sys.argv[1])))
    elif len(sys.argv) == 3:
        print("\n".join(options(sys.argv[1], sys.argv[2])))
    else:
        sys.exit("usage: helpopts.py NEARMISS [COMMAND]")
