#!/usr/bin/env python3
"""Ticket delivery end to end, against real local HTTP servers.

A sequence of runs (reports as the history step annotates them, one day
apart) goes through tickets-drive, which plans into a real SQLite history
database and delivers to every kind of target at once: PagerDuty, GitHub and
Jira (fake_api.py, recording every request), exec: (twice: one command fails
once) and dir:.  Checked: each request's method, path, headers and body
against the APIs' documented shapes; the exact event sequence per target
(open, update on a severity change, resolve; nothing for an unreachable host;
no duplicates); the GitHub create that got a 500 retried on the next run and
delivered once, in order; no secret in the database or the output.

    test-ticket-targets.py TICKETS_DRIVE NEARMISS
"""
import base64
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time

DRIVE = os.path.abspath(sys.argv[1])
NEARMISS = os.path.abspath(sys.argv[2])
HERE = os.path.dirname(os.path.abspath(__file__))
failures = 0
checks = 0


def check(cond, what):
    global failures, checks
    checks += 1
    if not cond:
        failures += 1
        print(f"FAIL: {what}", file=sys.stderr)


def eq(got, want, what):
    check(got == want, f"{what}: got {got!r}, want {want!r}")


GH_TOKEN = "ghp-test-token-7f3a9c"
JIRA_USER = "ops-bot@example.org"
JIRA_TOKEN = "jira-test-token-51d0"
PD_KEY = "R0UTINGKEY0fake00000000000000000"
FP = {"A": "a" * 64, "B": "b" * 64, "C": "c" * 64}
SHORT = {v: k for k, v in FP.items()}


def finding(k, sev, waived=False, check="cert-expiry", subject=None, message=None):
    f = {"check": check, "category": "cert" if check == "cert-expiry" else "disk",
         "severity": sev, "subject": subject or f"/etc/ssl/{k}.pem",
         "message": message or f"certificate {k} expires soon", "value": 5, "threshold": 7,
         "fingerprint": FP.get(k, k), "evidence": f"notAfter for {k}",
         "remediation": f"renew {k}", "change": "persisting",
         "first_seen": "2026-11-01T02:00:00Z"}
    if waived:
        f["waived"] = True
    return f


def report(web1, db1, resolved=(), web1_status="ok"):
    return {"schema": "nearmiss.report/1",
            "hosts": [{"name": "web1", "status": web1_status, "findings": web1},
                      {"name": "db1", "status": "ok", "findings": db1}],
            "fleet_findings": [],
            "resolved": [{"host": "web1", "check": "cert-expiry", "category": "cert",
                          "subject": f"/etc/ssl/{k}.pem", "fingerprint": FP[k],
                          "severity": "critical", "first_seen": "2026-11-01T02:00:00Z",
                          "resolved_at": "2026-12-04T02:00:00Z"} for k in resolved]}


def day(n):
    return f"2026-12-{n:02d}T02:00:00Z"


class Api:
    def __init__(self, tmp, name, *rules):
        self.log = os.path.join(tmp, f"{name}.log")
        portfile = os.path.join(tmp, f"{name}.port")
        cmd = [sys.executable, os.path.join(HERE, "fake_api.py"), self.log, portfile]
        for r in rules:
            cmd += ["--fail-once", r]
        self.proc = subprocess.Popen(cmd)
        deadline = time.monotonic() + 20
        while not os.path.exists(portfile):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                sys.exit("fake_api.py did not start")
            time.sleep(0.05)
        self.url = f"http://127.0.0.1:{open(portfile).read().strip()}"

    def requests(self):
        if not os.path.exists(self.log):
            return []
        return [json.loads(line) for line in open(self.log)]

    def stop(self):
        self.proc.terminate()
        self.proc.wait(10)


def drive(db, now, rep, tmp, *args, expect_rc=0, wrap=()):
    path = os.path.join(tmp, "report.json")
    with open(path, "w") as f:
        json.dump(rep, f)
    p = subprocess.run([*wrap, DRIVE, db, now, path, *args], capture_output=True, text=True,
                       timeout=120)
    eq(p.returncode, expect_rc, f"tickets-drive {now} exit status ({p.stderr.strip()})")
    for secret in (GH_TOKEN, JIRA_TOKEN, PD_KEY):
        check(secret not in p.stdout + p.stderr, "a secret in the driver's output")
    return json.loads(p.stdout) if p.returncode == 0 and p.stdout.strip() else None


def events_of(path):
    return [json.loads(line) for line in open(path)] if os.path.exists(path) else []


def short(events):
    return [(e["action"], SHORT.get(e["dedup_key"], e["dedup_key"])) for e in events]


CONTRACT_KEYS = ["schema", "action", "dedup_key", "host", "check", "category", "subject",
                 "severity", "previous_severity", "summary", "message", "remediation",
                 "first_seen", "at"]


def main_sequence(tmp):
    api = Api(tmp, "api", r"POST:^/repos/acme/infra/issues$")
    db = os.path.join(tmp, "history.sqlite")
    exec_log = os.path.join(tmp, "exec.jsonl")
    flaky_log = os.path.join(tmp, "flaky.jsonl")
    flag = os.path.join(tmp, "flaky.failed-once")
    tdir = os.path.join(tmp, "tickets")
    args = ["--ticket", f"pagerduty:{PD_KEY}", "--ticket", "github:acme/infra",
            "--ticket", "jira:OPS", "--ticket", f"exec:cat >> {exec_log}",
            "--ticket", f"exec:[ -e {flag} ] || {{ touch {flag}; echo 'no route' >&2; exit 3; }};"
                        f" cat >> {flaky_log}",
            "--ticket", f"dir:{tdir}",
            "--pagerduty-url", api.url, "--github-url", api.url + "/", "--jira-url", api.url]
    os.environ.update(GITHUB_TOKEN=GH_TOKEN, JIRA_USER=JIRA_USER, JIRA_TOKEN=JIRA_TOKEN)

    # Day 1: A high, B medium (below the minimum), C critical.
    c = drive(db, day(1), report([finding("A", "high"), finding("B", "medium")],
                                 [finding("C", "critical")]), tmp, *args)
    eq((c["opened"], c["updated"], c["resolved"]), (2 * 6, 0, 0), "day 1 planned")
    eq(c["failed"], 2, "day 1: the GitHub 500 and the failing command")
    eq(c["delivered"], 12 - 2, "day 1 delivered")
    check("HTTP 500" in c["first_error"] or "status 3" in c["first_error"], "first error said")
    # `nearmiss tickets` shows them: 2 tickets open per target, 2 events waiting.
    p = subprocess.run([NEARMISS, "tickets", "-o", tmp, "--format", "json"], capture_output=True,
                       text=True, timeout=60)
    eq(p.returncode, 0, f"nearmiss tickets ({p.stderr.strip()})")
    listing = json.loads(p.stdout)
    eq(len(listing["open"]), 12, "tickets: open")
    eq(sorted((q["target"], q["action"], SHORT[q["fingerprint"]], q["attempts"])
              for q in listing["queue"]),
       sorted([("github:acme/infra", "open", "A", 1),
               (args[9], "open", "A", 1)]), "tickets: the queue")
    check(any("HTTP 500" in (q["last_error"] or "") for q in listing["queue"]),
          "tickets: the last error is shown")
    text = subprocess.run([NEARMISS, "tickets", "-o", tmp], capture_output=True, text=True,
                          timeout=60).stdout
    check("12 open ticket(s), 2 event(s) waiting" in text, "tickets: text summary")
    for secret in (GH_TOKEN, JIRA_TOKEN, PD_KEY):
        check(secret not in p.stdout + text, "a secret in `nearmiss tickets`")
    # Day 2: A worse, B reaches high.
    c = drive(db, day(2), report([finding("A", "critical"), finding("B", "high")],
                                 [finding("C", "critical")]), tmp, *args)
    eq((c["opened"], c["updated"], c["failed"], c["waiting"]), (6, 6, 0, 0), "day 2")
    eq(c["delivered"], 2 + 12, "day 2: the two retried, then today's")
    # Day 3: web1 cannot be scanned: nothing.
    c = drive(db, day(3), report([], [finding("C", "critical")], web1_status="timeout"), tmp,
              *args)
    eq((c["opened"], c["updated"], c["resolved"], c["delivered"]), (0, 0, 0, 0), "day 3")
    # Day 4: A resolved, B waived.
    rep4 = report([finding("B", "high", waived=True)], [finding("C", "critical")],
                  resolved=["A"])
    c = drive(db, day(4), rep4, tmp, *args)
    eq((c["resolved"], c["delivered"]), (12, 12), "day 4")
    # Day 5: the same again: nothing twice.
    c = drive(db, day(5), rep4, tmp, *args)
    eq((c["opened"], c["updated"], c["resolved"], c["delivered"]), (0, 0, 0, 0), "day 5")
    # Day 6: C falls below the minimum.
    c = drive(db, day(6), report([], [finding("C", "medium")]), tmp, *args)
    eq((c["resolved"], c["delivered"]), (6, 6), "day 6")
    api.stop()

    # Within a run: the scanned hosts' findings in report order, then the
    # resolved list.
    per_ticket = [("open", "A"), ("open", "C"), ("update", "A"), ("open", "B"),
                  ("resolve", "B"), ("resolve", "A"), ("resolve", "C")]
    # exec: every event once, in planning order, exactly the contract's event.
    ev = events_of(exec_log)
    eq(short(ev), per_ticket, "exec: event sequence")
    for e in ev:
        for k in CONTRACT_KEYS:
            check(k in e, f"exec: event lacks {k}")
        eq(e["schema"], "nearmiss.ticket/1", "event schema")
    eq([e["previous_severity"] for e in ev],
       [None, None, "high", None, "high", "critical", "critical"], "previous severities")
    eq([e["severity"] for e in ev],
       ["high", "critical", "critical", "high", "high", "critical", "medium"], "severities")
    eq(ev[0]["at"], day(1), "open at the run's time")
    eq(ev[5]["at"], "2026-12-04T02:00:00Z", "resolve at resolved_at")
    eq(ev[4]["reason"], "waived", "B resolved as waived")
    eq(ev[5]["reason"], "resolved", "A resolved")
    eq(ev[6]["reason"], "below_min", "C resolved below the minimum")
    eq(ev[0]["host"], "web1", "host")
    eq(ev[0]["first_seen"], "2026-11-01T02:00:00Z", "first_seen from the report")
    # exec: that failed once: retried next run, ahead of A's later events.
    eq(short(events_of(flaky_log)),
       [("open", "C"), ("open", "A"), ("update", "A"), ("open", "B"), ("resolve", "B"),
        ("resolve", "A"), ("resolve", "C")], "flaky exec: sequence with the retry")

    reqs = api.requests()
    pd = [r for r in reqs if r["path"] == "/v2/enqueue"]
    gh = [r for r in reqs if r["path"].startswith("/repos/")]
    jr = [r for r in reqs if r["path"].startswith("/rest/api/2/")]
    eq(len(pd) + len(gh) + len(jr), len(reqs), "no request elsewhere")

    # PagerDuty Events API v2.
    eq([(r["body"]["event_action"], SHORT[r["body"]["dedup_key"]],
         r["body"].get("payload", {}).get("severity")) for r in pd],
       [("trigger", "A", "error"), ("trigger", "C", "critical"), ("trigger", "A", "critical"),
        ("trigger", "B", "error"), ("resolve", "B", None), ("resolve", "A", None),
        ("resolve", "C", None)], "pagerduty: events")
    for r in pd:
        eq(r["method"], "POST", "pagerduty method")
        eq(r["status"], 202, "pagerduty answered")
        check(r["headers"].get("content-type", "").startswith("application/json"),
              "pagerduty content-type")
        check("authorization" not in r["headers"], "pagerduty: no Authorization header")
        b = r["body"]
        eq(b["routing_key"], PD_KEY, "pagerduty routing_key")
        if b["event_action"] == "trigger":
            p = b["payload"]
            check(isinstance(p["summary"], str) and 0 < len(p["summary"]) <= 1024, "summary")
            check(p["source"] in ("web1", "db1"), "source is the host")
            check(p["severity"] in ("critical", "error", "warning", "info"), "severity")
            cd = p["custom_details"]
            check(cd["evidence"].startswith("notAfter") and cd["remediation"].startswith("renew"),
                  "custom_details carry evidence and remediation")
        else:
            eq(sorted(b), ["dedup_key", "event_action", "routing_key"], "resolve body")

    # GitHub REST.
    gh_seq = [(r["method"], r["path"], r["status"]) for r in gh]
    eq(gh_seq, [("POST", "/repos/acme/infra/issues", 500),   # A: injected failure
                ("POST", "/repos/acme/infra/issues", 201),   # C -> #1
                ("POST", "/repos/acme/infra/issues", 201),   # A retried -> #2
                ("POST", "/repos/acme/infra/issues/2/comments", 201),  # A update
                ("POST", "/repos/acme/infra/issues", 201),   # B -> #3
                ("PATCH", "/repos/acme/infra/issues/3", 200),  # B resolve (waived)
                ("PATCH", "/repos/acme/infra/issues/2", 200),  # A resolve
                ("PATCH", "/repos/acme/infra/issues/1", 200)],  # C resolve
       "github: requests")
    for r in gh:
        h = r["headers"]
        eq(h.get("authorization"), f"Bearer {GH_TOKEN}", "github Authorization")
        eq(h.get("accept"), "application/vnd.github+json", "github Accept")
        check(h.get("user-agent", "").startswith("nearmiss/"), "github User-Agent")
        eq(h.get("x-github-api-version"), "2022-11-28", "github API version")
    creates = [r for r in gh if r["path"].endswith("/issues")]
    eq([SHORT[r["body"]["body"].split("<!-- nearmiss:")[1][:64]] for r in creates],
       ["A", "C", "A", "B"], "github: fingerprint markers")
    for r in creates:
        check(isinstance(r["body"]["title"], str) and "\n" not in r["body"]["title"], "title")
        check(r["body"]["body"].startswith("<!-- nearmiss:"), "marker first")
    eq(gh[3]["body"]["body"].count("high") >= 1 and "critical" in gh[3]["body"]["body"], True,
       "github comment names both severities")
    for r in gh[5:]:
        eq(r["body"], {"state": "closed", "state_reason": "completed"}, "github close body")

    # Jira REST v2.
    eq([(r["method"], r["path"], r["status"]) for r in jr],
       [("POST", "/rest/api/2/issue", 201), ("POST", "/rest/api/2/issue", 201),
        ("POST", "/rest/api/2/issue/OPS-1/comment", 201), ("POST", "/rest/api/2/issue", 201),
        ("GET", "/rest/api/2/issue/OPS-3/transitions", 200),
        ("POST", "/rest/api/2/issue/OPS-3/transitions", 204),
        ("GET", "/rest/api/2/issue/OPS-1/transitions", 200),
        ("POST", "/rest/api/2/issue/OPS-1/transitions", 204),
        ("GET", "/rest/api/2/issue/OPS-2/transitions", 200),
        ("POST", "/rest/api/2/issue/OPS-2/transitions", 204)], "jira: requests")
    basic = "Basic " + base64.b64encode(f"{JIRA_USER}:{JIRA_TOKEN}".encode()).decode()
    for r in jr:
        eq(r["headers"].get("authorization"), basic, "jira basic auth")
        eq(r["headers"].get("accept"), "application/json", "jira Accept")
    for r in [r for r in jr if r["path"] == "/rest/api/2/issue"]:
        f = r["body"]["fields"]
        eq(f["project"], {"key": "OPS"}, "jira project")
        eq(f["issuetype"], {"name": "Task"}, "jira issue type")
        check(len(f["summary"]) <= 255 and "\n" not in f["summary"], "jira summary")
        check("nearmiss" in f["labels"], "jira label nearmiss")
        check(any(lb.startswith("nearmiss-") and SHORT.get(lb[9:]) for lb in f["labels"]),
              "jira fingerprint label")
        check("renew" in f["description"], "jira description has the remediation")
    for r in [r for r in jr if r["path"].endswith("/transitions") and r["method"] == "POST"]:
        eq(r["body"], {"transition": {"id": "31"}}, "jira transition to done")
    eq(jr[2]["body"]["body"].startswith("nearmiss: severity changed from high to critical"), True,
       "jira comment")

    # dir: one JSON and one Markdown file per ticket, current.
    a = json.load(open(os.path.join(tdir, FP["A"] + ".json")))
    eq(a["state"], "resolved", "dir: A resolved")
    eq([e["action"] for e in a["events"]], ["open", "update", "resolve"], "dir: A's events")
    md = open(os.path.join(tdir, FP["A"] + ".md")).read()
    check(md.startswith(f"<!-- nearmiss:{FP['A']} -->\n# [RESOLVED]"), "dir: markdown head")
    eq(sorted(os.listdir(tdir)), sorted(f"{FP[k]}.{x}" for k in "ABC" for x in ("json", "md")),
       "dir: exactly two files per ticket")

    # The database: everything delivered exactly once, state and ids kept.
    con = sqlite3.connect(db)
    eq(con.execute("SELECT count(*) FROM ticket_queue WHERE delivered_at IS NULL").fetchone()[0],
       0, "queue drained")
    eq(sorted(con.execute("SELECT attempts, count(*) FROM ticket_queue GROUP BY attempts")),
       [(1, 40), (2, 2)], "two events needed a second attempt, none more")
    eq(con.execute("SELECT remote_id FROM ticket_state WHERE target='github:acme/infra' AND "
                   "fingerprint=?", (FP["A"],)).fetchone()[0], "2", "github issue number kept")
    eq(con.execute("SELECT remote_id FROM ticket_state WHERE target='jira:OPS' AND "
                   "fingerprint=?", (FP["C"],)).fetchone()[0], "OPS-2", "jira key kept")
    eq(con.execute("SELECT version FROM schema_version WHERE component='tickets'").fetchone()[0],
       1, "schema version")
    targets = [t for (t,) in con.execute("SELECT DISTINCT target FROM ticket_state")]
    check(any(t.startswith("pagerduty:sha256:") for t in targets), "pagerduty target by digest")
    con.close()
    for name in os.listdir(tmp):
        if name.startswith("history.sqlite"):
            data = open(os.path.join(tmp, name), "rb").read()
            for secret in (GH_TOKEN, JIRA_TOKEN, PD_KEY):
                check(secret.encode() not in data, f"{secret[:6]}… stored in {name}")


def unreachable_then_back(tmp):
    """A target that cannot be reached keeps its whole queue, in order."""
    db = os.path.join(tmp, "history2.sqlite")
    rep1 = report([finding("A", "high")], [finding("C", "critical")])
    args = ["--ticket", f"pagerduty:{PD_KEY}", "--timeout", "5"]
    c = drive(db, day(1), rep1, tmp, *args, "--pagerduty-url", "http://127.0.0.1:1")
    eq((c["failed"], c["waiting"], c["delivered"]), (1, 2, 0), "unreachable: one try, all wait")
    check("127.0.0.1:1" in c["first_error"], "unreachable: the error names the URL")
    api = Api(tmp, "api2")
    rep2 = report([finding("A", "critical"), finding("B", "high")], [finding("C", "critical")])
    # A run that dies before its commit plans nothing...
    drive(db, day(2), rep2, tmp, *args, "--pagerduty-url", api.url, "--crash-before-commit",
          expect_rc=3)
    eq(api.requests(), [], "a crashed run sent nothing")
    # ...and the next one plans it all and delivers the old queue first.
    c = drive(db, day(2), rep2, tmp, *args, "--pagerduty-url", api.url)
    eq((c["delivered"], c["failed"], c["waiting"]), (4, 0, 0), "back: everything delivered")
    api.stop()
    eq([(r["body"]["event_action"], SHORT[r["body"]["dedup_key"]], r["body"]["payload"]["severity"])
        for r in api.requests()],
       [("trigger", "A", "error"), ("trigger", "C", "critical"), ("trigger", "A", "critical"),
        ("trigger", "B", "error")], "back: in order")


def exec_deadline_and_hostile(tmp):
    db = os.path.join(tmp, "history3.sqlite")
    tdir = os.path.join(tmp, "hostile")
    hostile = finding("H", "critical", subject="<script>alert(1)</script> [x](http://e.vil)",
                      message="```\n# not a heading\n````")
    t0 = time.monotonic()
    c = drive(db, day(1), report([hostile], []), tmp, "--ticket", "exec:sleep 30",
              "--ticket", f"dir:{tdir}", "--timeout", "1")
    took = time.monotonic() - t0
    check(took < 1 + 10, f"exec deadline: took {took:.1f}s for a 1 s deadline")
    eq((c["delivered"], c["failed"], c["waiting"]), (1, 1, 1), "exec timeout: kept queued")
    check("did not finish within 1 s" in c["first_error"], "timeout said")
    md = open(os.path.join(tdir, "H.md")).read()
    check("<script>" not in md and "](http" not in md, "markdown: host text escaped")
    check("`````text\n```\n# not a heading\n````\n`````" in md, "markdown: fence outruns backticks")


def libcurl_path():
    """Where the dynamic loader finds libcurl.so.4, this machine's kind first."""
    out = subprocess.run(["/sbin/ldconfig", "-p"], capture_output=True, text=True).stdout
    found = [(line.split("=>")[0], line.split("=>")[1].strip()) for line in out.splitlines()
             if line.strip().startswith("libcurl.so.4 ") and "=>" in line]
    arch = os.uname().machine.replace("_", "-")
    found.sort(key=lambda kv: arch not in kv[0])
    return found[0][1] if found else None


def without_libcurl(tmp):
    """libcurl is opened only when an HTTP target is served: without it,
    that target fails as unreachable (its events wait, the reason recorded)
    and the others are still served; the next run with it delivers all."""
    lib = libcurl_path()
    check(lib is not None, "ldconfig knows libcurl.so.4")
    if lib is None:
        return
    db = os.path.join(tmp, "history4.sqlite")
    tdir = os.path.join(tmp, "nocurl-dir")
    empty = os.path.join(tmp, "empty.so")
    open(empty, "w").close()
    api = Api(tmp, "api4")
    rep = report([finding("A", "high"), finding("B", "critical")], [])
    args = ["--ticket", f"pagerduty:{PD_KEY}", "--pagerduty-url", api.url, "--ticket",
            f"dir:{tdir}", "--timeout", "5"]
    # An empty file over the library, in a mount namespace of this command only.
    c = drive(db, day(1), rep, tmp, *args,
              wrap=["unshare", "-rm", "sh", "-c", 'l=$1; shift; mount --bind "$0" "$l" && exec "$@"', empty,
                    lib])
    eq((c["delivered"], c["failed"], c["waiting"]), (2, 1, 2),
       "no libcurl: dir delivered, PagerDuty tried once, both of its events wait")
    check("libcurl.so.4" in c["first_error"], f"no libcurl: named ({c['first_error']!r})")
    eq(sorted(f for f in os.listdir(tdir) if f.endswith(".md")),
       [FP["A"] + ".md", FP["B"] + ".md"], "no libcurl: the dir target still served")
    eq(api.requests(), [], "no libcurl: nothing sent")
    c = drive(db, day(1), rep, tmp, *args)
    eq((c["delivered"], c["failed"], c["waiting"]), (2, 0, 0), "libcurl back: the queue delivered")
    api.stop()
    eq(sorted(SHORT[r["body"]["dedup_key"]] for r in api.requests()), ["A", "B"],
       "libcurl back: each event once")


def main():
    with tempfile.TemporaryDirectory(prefix="nm-tickets-") as tmp:
        main_sequence(tmp)
        unreachable_then_back(tmp)
        exec_deadline_and_hostile(tmp)
        without_libcurl(tmp)
    print(f"{checks} checks, {failures} failed")
    return 1 if failures else 0


sys.exit(main())
