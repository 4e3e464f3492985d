#!/usr/bin/env python3
"""A local stand-in for the PagerDuty Events API v2, the GitHub REST API and
the Jira REST API v2, for the ticket tests.

It answers the requests nearmiss makes as those services document them
(status codes and the fields of the answers nearmiss reads) and appends every
request it receives (method, path, headers, body, the status it answered) to
a JSON-lines log, which the tests check against the documented request shapes.

    fake_api.py LOG PORTFILE [--fail-once METHOD:REGEX]...

Each --fail-once rule answers 500 to the first request that matches it, once.
The port (chosen by the kernel) is written to PORTFILE when listening.
"""
import json
import os
import re
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOG, PORTFILE = sys.argv[1], sys.argv[2]
RULES = []
args = sys.argv[3:]
while args:
    if args[0] == "--fail-once" and len(args) > 1:
        method, _, rx = args[1].partition(":")
        RULES.append({"method": method, "rx": re.compile(rx), "used": False})
        args = args[2:]
    else:
        sys.exit("fake_api.py: bad arguments")

lock = threading.Lock()
counters = {"github": 0, "jira": 0}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def answer(self, status, doc=None):
        return status, doc

    def route(self, method, path, body):
        for r in RULES:
            if not r["used"] and r["method"] == method and r["rx"].search(path):
                r["used"] = True
                return self.answer(500, {"message": "Server Error (injected once)"})
        m = re.fullmatch(r"/v2/enqueue", path)
        if m and method == "POST":
            return self.answer(202, {"status": "success", "message": "Event processed",
                                     "dedup_key": (body or {}).get("dedup_key")})
        m = re.fullmatch(r"/repos/([^/]+)/([^/]+)/issues", path)
        if m and method == "POST":
            with lock:
                counters["github"] += 1
                n = counters["github"]
            return self.answer(201, {"id": 1000 + n, "number": n, "state": "open",
                                     "html_url": f"https://github.com/{m[1]}/{m[2]}/issues/{n}"})
        m = re.fullmatch(r"/repos/[^/]+/[^/]+/issues/(\d+)/comments", path)
        if m and method == "POST":
            return self.answer(201, {"id": 5000, "body": (body or {}).get("body")})
        m = re.fullmatch(r"/repos/[^/]+/[^/]+/issues/(\d+)", path)
        if m and method == "PATCH":
            return self.answer(200, {"number": int(m[1]), "state": (body or {}).get("state")})
        if path == "/rest/api/2/issue" and method == "POST":
            with lock:
                counters["jira"] += 1
                n = counters["jira"]
            key = (body or {}).get("fields", {}).get("project", {}).get("key", "X")
            return self.answer(201, {"id": str(10000 + n), "key": f"{key}-{n}",
                                     "self": f"http://jira.invalid/rest/api/2/issue/{10000 + n}"})
        m = re.fullmatch(r"/rest/api/2/issue/([A-Z0-9_]+-\d+)/comment", path)
        if m and method == "POST":
            return self.answer(201, {"id": "20000", "body": (body or {}).get("body")})
        m = re.fullmatch(r"/rest/api/2/issue/([A-Z0-9_]+-\d+)/transitions", path)
        if m and method == "GET":
            return self.answer(200, {"expand": "transitions", "transitions": [
                {"id": "11", "name": "Start Progress",
                 "to": {"name": "In Progress", "statusCategory": {"key": "indeterminate"}}},
                {"id": "31", "name": "Finish",
                 "to": {"name": "Done", "statusCategory": {"key": "done"}}}]})
        if m and method == "POST":
            return self.answer(204)
        return self.answer(404, {"message": "no such endpoint in the fake"})

    def handle_any(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = {"_unparsable": raw.decode("utf-8", "replace")}
        status, doc = self.route(self.command, self.path, body)
        rec = {"method": self.command, "path": self.path,
               "headers": {k.lower(): v for k, v in self.headers.items()},
               "body": body, "status": status}
        # Logged before the answer: once the client has its answer, the
        # request is in the log.
        with lock, open(LOG, "a") as f:
            f.write(json.dumps(rec) + "\n")
        out = b"" if doc is None else json.dumps(doc).encode()
        self.send_response(status)
        if doc is not None:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = handle_any


srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(PORTFILE + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
os.rename(PORTFILE + ".tmp", PORTFILE)
srv.serve_forever()
