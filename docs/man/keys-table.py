#!/usr/bin/env python3
"""keys-table.py TEMPLATE CHECKS_MD OUTPUT: nearmiss-checks(5) from its
hand-written template, with the line ".\\" %KEYS%" replaced by the "Every
key" table of docs/checks.md rendered as roff.  That table is the one the
docs-keys unit test holds in step with the loader, so the manual cannot
list a key the loader refuses, nor miss one it accepts."""
import re
import sys
import textwrap


def roff_text(md):
    """One Markdown table cell as roff: code and bold in bold, links as text."""
    md = re.sub(r"\[([^\]]+)\]\([^)]*\)", r"\1", md)
    out = []
    # Split into code spans and the rest; escape both, embolden the code.
    for i, part in enumerate(re.split(r"`([^`]*)`", md)):
        part = part.replace("\\", "\\e").replace("-", "\\-")
        if i % 2:
            out.append("\\fB" + part + "\\fR")
        else:
            out.append(re.sub(r"\*\*([^*]+)\*\*", r"\\fB\1\\fR", part))
    text = "".join(out).strip()
    # Beyond ASCII by name (groff without preconv reads bytes).
    text = "".join(c if ord(c) < 128 else "\\[u%04X]" % ord(c) for c in text)
    return text


def roff_lines(text):
    """Filled text as input lines of at most 80 bytes, none taken for a request."""
    lines = textwrap.wrap(text, 78, break_long_words=False, break_on_hyphens=False)
    return ["\\&" + l if l.startswith((".", "'")) else l for l in lines] or ["\\&"]


def keys(checks_md):
    rows = []
    inside = False
    for line in open(checks_md, encoding="utf-8"):
        if line.startswith("## "):
            inside = line.startswith("## Every key")
            continue
        if inside and line.startswith("| `"):
            cells = [c.strip() for c in line.strip().strip("|").split(" | ")]
            if len(cells) != 3:
                sys.exit(f"{checks_md}: a key row without 3 cells: {line.strip()}")
            rows.append(cells)
    if not rows:
        sys.exit(f"{checks_md}: no \"Every key\" table")
    return rows


def main():
    template, checks_md, output = sys.argv[1:4]
    lines = []
    for key, type_, meaning in keys(checks_md):
        lines.append(".TP")
        lines.extend(roff_lines(roff_text(key) + " (" + roff_text(type_) + ")"))
        lines.extend(roff_lines(roff_text(meaning)))
    text = open(template, encoding="utf-8").read()
    if text.count('.\\" %KEYS%\n') != 1:
        sys.exit(f"{template}: needs one line '.\\\" %KEYS%'")
    with open(output, "w", encoding="utf-8") as f:
        f.write(text.replace('.\\" %KEYS%\n', "\n".join(lines) + "\n"))


if __name__ == "__main__":
    main()
