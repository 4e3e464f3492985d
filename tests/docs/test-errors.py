#!/usr/bin/env python3
"""test-errors.py NEARMISS — every error line reads "nearmiss: COMMAND: ...".

For every command of `nearmiss --help`: an unknown option and a missing
option value (getopt's own messages), and errors of the command itself (a
bad value, a missing file, a missing argument).  Each must exit 1 and every
stderr line but the "Try 'nearmiss COMMAND --help'." hint must start with
"nearmiss: COMMAND: ", once (no "nearmiss: gate: gate: ").  And every
option a command's --help lists is one the command takes.
TAP-like output; exit 0 pass, 1 fail."""
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import helpopts  # noqa: E402

_tap = helpopts.Tap()
check = _tap.check


def main():
    with tempfile.TemporaryDirectory(prefix="nm-errors.") as tmp:
        return run(os.path.abspath(sys.argv[1]), tmp)


def run(nearmiss, tmp):
    missing = os.path.join(tmp, "no-such-file.json")
    empty_dir = os.path.join(tmp, "empty")
    os.mkdir(empty_dir)
    own = {
        "scan": [["-i", missing], ["-i", missing, "--jobs", "x"], ["--fail-on", "worst", "-i", missing],
                 ["--format", "pdf", "-i", missing], []],
        "gate": [["-i", missing], ["--fail-on", "worst"], ["-i", missing, "extra"]],
        "merge": [[], ["-i", missing, missing], ["--format", "pdf"]],
        "report": [[], [missing], [missing, "--format", "pdf"]],
        "checks": [["show", "no-such-check"], ["frobnicate"], ["-c", missing, "list"]],
        "ledger": [["-o", empty_dir], ["--from", "worst", "-o", empty_dir], ["--format", "xml"]],
        "tickets": [["-o", empty_dir], ["--format", "xml", "-o", empty_dir], ["extra"]],
    }
    env = dict(os.environ)
    env.pop("NEARMISS_NOW", None)
    commands = helpopts.commands(nearmiss)
    for cmd in commands:
        # getopt's two messages (an option it does not know; the first
        # option with a value, left without one), then the command's own.
        with_value = [o for o, a in helpopts.option_arguments(nearmiss, cmd).items() if a]
        cases = [["--no-such-option"]] + ([[with_value[0]]] if with_value else []) + own.get(cmd, [])
        for args in cases:
            r = subprocess.run([nearmiss, cmd] + args, capture_output=True, text=True, env=env,
                               cwd=tmp, timeout=120)
            lines = [l for l in r.stderr.splitlines() if l.strip()]
            errors = [l for l in lines if not l.startswith(f"Try 'nearmiss {cmd} --help'")]
            prefix = f"nearmiss: {cmd}: "
            bad = [l for l in errors if not l.startswith(prefix) or l.startswith(prefix + cmd + ":")]
            shown = " ".join(args) or "(no arguments)"
            check(r.returncode == 1 and errors and not bad,
                  f"nearmiss {cmd} {shown}: exit 1, every error line starts \"{prefix}\"",
                  f"exit {r.returncode}\n{r.stderr}")
    # The other way round: every option --help lists is one the command
    # takes (getopt would say "unrecognized option" or "invalid option").
    # No inventory is given, so nothing is ever scanned or written.
    for cmd in commands:
        args_of = helpopts.option_arguments(nearmiss, cmd)
        refused = []
        for opt in helpopts.options(nearmiss, cmd):
            argv = [nearmiss, cmd, opt] + (["x"] if args_of.get(opt) else [])
            r = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=tmp, timeout=120)
            if "unrecognized option" in r.stderr or "invalid option" in r.stderr:
                refused.append(f"{opt}: {r.stderr.strip()}")
        check(not refused, f"nearmiss {cmd} takes every option its --help lists", "\n".join(refused))
    r = subprocess.run([nearmiss, "frobnicate"], capture_output=True, text=True)
    check(r.returncode == 1 and r.stderr.startswith("nearmiss: unknown command \"frobnicate\""),
          "an unknown command: \"nearmiss: unknown command ...\"", r.stderr)
    return _tap.finish()


if __name__ == "__main__":
    sys.exit(main())
