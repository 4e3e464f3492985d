#!/usr/bin/env python3
"""test-completion.py NEARMISS BASH_COMPLETION ZSH_COMPLETION — the shell
completions offer exactly what --help lists.

bash, for real: the file is sourced in a bash, `complete -p nearmiss` names
its function, and the function is run the way readline runs it (COMP_WORDS,
COMP_CWORD) for `nearmiss <TAB>`, `nearmiss sc<TAB>`, `nearmiss scan
--for<TAB>`, `nearmiss CMD -<TAB>` (must equal CMD --help's options), every
option that takes a value (must not offer options), --format and severity
values.  Once without bash-completion loaded (the file's own fallbacks) and
once with it, when it is installed.
zsh: the file parses (zsh -n); lines typed into an interactive zsh on a
pseudo-terminal complete as above (tests/docs/zsh-complete.zsh); and each
command's _arguments specs name exactly the options of its --help.  TAP-like output; exit 0 pass, 1 fail."""
import os
import re
import shlex
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import helpopts  # noqa: E402

_tap = helpopts.Tap()
check = _tap.check


BASH_COMPLETION_MAIN = "/usr/share/bash-completion/bash_completion"


class Bash:
    """Completes command lines through the sourced file in one bash run."""

    def __init__(self, completion, nearmiss, with_library):
        self.completion = completion
        self.nearmiss = nearmiss
        self.with_library = with_library

    def run(self, script):
        prelude = ""
        if self.with_library:
            prelude = f"source {shlex.quote(BASH_COMPLETION_MAIN)}\n"
        # The binary is found as `nearmiss` on PATH, as a user would type it.
        bindir = os.path.dirname(os.path.abspath(self.nearmiss))
        body = prelude + f"source {shlex.quote(self.completion)}\n" + script
        env = dict(os.environ, PATH=f"{bindir}:{os.environ.get('PATH', '')}", HOME="/nonexistent")
        return subprocess.run(["bash", "--norc", "--noprofile", "-c", body], capture_output=True,
                              text=True, env=env, cwd=os.path.dirname(self.completion))

    def complete(self, line):
        """The candidates for the command line `line` (the cursor at its end)."""
        words = line.split(" ")
        script = (
            f"COMP_WORDS=({' '.join(shlex.quote(w) for w in words)})\n"
            f"COMP_CWORD={len(words) - 1}\n"
            f"COMP_LINE={shlex.quote(line)}\nCOMP_POINT={len(line)}\n"
            "COMP_TYPE=9 COMP_KEY=9\n"
            "_nearmiss nearmiss "
            f"{shlex.quote(words[-1])} {shlex.quote(words[-2] if len(words) > 1 else '')}\n"
            "printf '%s\\n' \"${COMPREPLY[@]}\"\n")
        r = self.run(script)
        if r.returncode != 0 or r.stderr.strip():
            raise RuntimeError(f"bash: {line!r}: exit {r.returncode}: {r.stderr}")
        return sorted(x for x in r.stdout.split("\n") if x)


def test_bash(nearmiss, completion, with_library):
    label = "bash with bash-completion" if with_library else "bash alone"
    b = Bash(completion, nearmiss, with_library)
    r = b.run("complete -p nearmiss")
    check(r.returncode == 0 and "-F _nearmiss" in r.stdout and r.stdout.rstrip().endswith("nearmiss"),
          f"{label}: sourcing the file registers `complete -F _nearmiss nearmiss`",
          r.stdout + r.stderr)

    commands = helpopts.commands(nearmiss)
    got = b.complete("nearmiss ")
    check(set(commands) <= set(got) and set(got) - set(commands) <= {"help"},
          f"{label}: nearmiss <TAB> offers the commands of --help", f"{got} vs {commands}")
    got = b.complete("nearmiss sc")
    check(got == ["scan"], f"{label}: nearmiss sc<TAB> -> scan", got)
    got = b.complete("nearmiss -")
    check(got == ["--help", "--version"], f"{label}: nearmiss -<TAB>", got)
    got = b.complete("nearmiss scan --for")
    check(got == ["--format"], f"{label}: nearmiss scan --for<TAB> -> --format", got)
    got = b.complete("nearmiss scan --format ")
    check(got == ["html", "json", "junit", "prom"], f"{label}: scan --format values", got)
    got = b.complete("nearmiss scan --format json,h")
    check(got == ["json,html"], f"{label}: scan --format json,h<TAB> -> json,html", got)
    got = b.complete("nearmiss gate --fail-on ")
    check(got == sorted(["info", "low", "medium", "high", "critical"]),
          f"{label}: gate --fail-on severities", got)
    got = b.complete("nearmiss ledger --format ")
    check(got == ["csv", "json", "md"], f"{label}: ledger --format values", got)
    got = b.complete("nearmiss checks ")
    check(got == ["list", "parsers", "show"], f"{label}: checks subcommands", got)
    got = b.complete("nearmiss checks show disk-s")
    check("disk-space" in got, f"{label}: checks show completes check ids (disk-space)", got)
    # A file argument: the completion directory holds the completion files.
    got = b.complete("nearmiss scan -i nearmiss.")
    check(got == ["nearmiss.bash"], f"{label}: scan -i completes file names", got)

    for cmd in commands:
        want = helpopts.options(nearmiss, cmd)
        got = b.complete(f"nearmiss {cmd} -")
        check(got == want, f"{label}: nearmiss {cmd} -<TAB> offers exactly its --help options",
              f"missing: {sorted(set(want) - set(got))}\nextra: {sorted(set(got) - set(want))}")
        if with_library:
            continue  # the values were checked once; this pass is about loading
        bad = []
        for opt, arg in helpopts.option_arguments(nearmiss, cmd).items():
            got = b.complete(f"nearmiss {cmd} {opt} ")
            if arg and any(x.startswith("-") for x in got):
                bad.append(f"{opt} {arg}: offered options")
            if not arg and not any(x.startswith("-") for x in b.complete(f"nearmiss {cmd} {opt} -")):
                bad.append(f"{opt}: takes no value, yet no option follows it")
        check(not bad, f"{label}: {cmd}: options with a value complete a value, the others options",
              "\n".join(bad))


def zsh_specs(path):
    """{command: set of options} from the _arguments specs of _nearmiss_COMMAND."""
    out = {}
    current = None
    for line in open(path, encoding="utf-8"):
        m = re.match(r"^_nearmiss_([a-z]+)\(\) \{", line)
        if m:
            current = m.group(1)
            out[current] = set()
            continue
        if line.startswith("}"):
            current = None
            continue
        if current is None:
            continue
        s = line.strip()
        m = re.match(r"^(?:'\*')?\{(-[A-Za-z0-9]),(--[a-z][a-z0-9-]*)\}'", s)
        if m:
            out[current].update(m.groups())
            continue
        m = re.match(r"^'\*?(--?[A-Za-z][a-z0-9-]*)\[", s)
        if m:
            out[current].add(m.group(1))
    return out


def zsh_complete(zsh, nearmiss, completion, lines):
    """{line: set of candidates} from tests/docs/zsh-complete.zsh."""
    import tempfile
    driver = os.path.join(os.path.dirname(os.path.abspath(__file__)), "zsh-complete.zsh")
    with tempfile.TemporaryDirectory(prefix="nm-zsh.") as tmp:
        out = os.path.join(tmp, "out")
        r = subprocess.run([zsh, "-f", driver, os.path.dirname(completion),
                            os.path.dirname(nearmiss), out] + lines,
                           capture_output=True, text=True, timeout=300, cwd=tmp,
                           env=dict(os.environ, HOME=tmp, TERM="dumb"))
        text = open(out, encoding="utf-8").read() if os.path.exists(out) else ""
    if r.returncode != 0:
        raise RuntimeError(f"zsh-complete.zsh exited {r.returncode}: {r.stderr}\n{text}")
    got = {}
    current = None
    for line in text.splitlines():
        if line.startswith("== "):
            current = line[3:]
            got[current] = set()
        elif current is not None and line:
            got[current].add(line)
    return got


def zsh_for_real(zsh, nearmiss, completion):
    commands = helpopts.commands(nearmiss)
    lines = ["nearmiss ", "nearmiss sc", "nearmiss scan --for", "nearmiss scan --format ",
             "nearmiss gate --fail-on ", "nearmiss ledger --format ", "nearmiss checks ",
             "nearmiss checks show disk-s"] + [f"nearmiss {c} -" for c in commands]
    try:
        got = zsh_complete(zsh, nearmiss, completion, lines)
    except (RuntimeError, subprocess.TimeoutExpired) as e:
        check(False, "zsh completes typed lines (zpty)", e)
        return
    check(set(commands) <= got.get("nearmiss ", set()), "zsh: nearmiss <TAB> offers the commands",
          got.get("nearmiss "))
    check(got.get("nearmiss sc") == {"scan"}, "zsh: nearmiss sc<TAB> -> scan", got.get("nearmiss sc"))
    check(got.get("nearmiss scan --for") == {"--format"}, "zsh: nearmiss scan --for<TAB> -> --format",
          got.get("nearmiss scan --for"))
    check(got.get("nearmiss scan --format ") == {"json", "html", "junit", "prom"},
          "zsh: scan --format values", got.get("nearmiss scan --format "))
    check(got.get("nearmiss gate --fail-on ") == {"info", "low", "medium", "high", "critical"},
          "zsh: gate --fail-on severities", got.get("nearmiss gate --fail-on "))
    check(got.get("nearmiss ledger --format ") == {"json", "csv", "md"}, "zsh: ledger --format values",
          got.get("nearmiss ledger --format "))
    check(got.get("nearmiss checks ") == {"list", "show", "parsers"}, "zsh: checks subcommands",
          got.get("nearmiss checks "))
    check("disk-space" in got.get("nearmiss checks show disk-s", set()),
          "zsh: checks show completes check ids", got.get("nearmiss checks show disk-s"))
    for c in commands:
        want = set(helpopts.options(nearmiss, c))
        have = {x for x in got.get(f"nearmiss {c} -", set()) if x.startswith("-")}
        check(have == want, f"zsh: nearmiss {c} -<TAB> offers exactly its --help options",
              f"missing: {sorted(want - have)}\nextra: {sorted(have - want)}")


def test_zsh(nearmiss, completion):
    zsh = shutil.which("zsh")
    check(zsh is not None, "zsh is installed (scripts/deps.sh installs it)")
    if zsh:
        r = subprocess.run([zsh, "-n", completion], capture_output=True, text=True)
        check(r.returncode == 0 and not r.stderr, "zsh -n parses the zsh completion", r.stderr)
    if zsh:
        zsh_for_real(zsh, nearmiss, completion)
    specs = zsh_specs(completion)
    text = open(completion, encoding="utf-8").read()
    for cmd in helpopts.commands(nearmiss):
        want = set(helpopts.options(nearmiss, cmd))
        got = specs.get(cmd, set())
        check(got == want, f"zsh: _nearmiss_{cmd} specs are exactly `nearmiss {cmd} --help`'s options",
              f"missing: {sorted(want - got)}\nextra: {sorted(got - want)}")
        check(re.search(rf"'{cmd}:", text) is not None, f"zsh: command {cmd} is described")


def main():
    nearmiss, bash_file, zsh_file = (os.path.abspath(p) for p in sys.argv[1:4])
    test_bash(nearmiss, bash_file, False)
    if os.path.exists(BASH_COMPLETION_MAIN):
        test_bash(nearmiss, bash_file, True)
    else:
        check(False, f"bash-completion is installed ({BASH_COMPLETION_MAIN}; scripts/deps.sh)")
    test_zsh(nearmiss, zsh_file)
    return _tap.finish()


if __name__ == "__main__":
    sys.exit(main())
