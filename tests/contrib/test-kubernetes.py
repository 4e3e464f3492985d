#!/usr/bin/env python3
"""test-kubernetes.py MANIFEST BINARY: contrib/kubernetes/nearmiss.yaml checked
without a cluster.  Every document parses; the CronJob, the Indexed Job it
creates, the Secret, the report volume and the merge are present and wired
together; and the shard arithmetic of the pods matches `scan --shard`: the
pods' own shell, run for every JOB_COMPLETION_INDEX with a recording stand-in
for nearmiss, asks for 1/N..N/N exactly once each, and the real binary
accepts each of those.  TAP output; exit 1 on any failure."""
import os
import subprocess
import sys
import tempfile

import yaml

n = failed = 0


def check(cond, desc):
    global n, failed
    n += 1
    if not cond:
        failed += 1
    print(("ok" if cond else "not ok"), n, "-", desc)
    return cond


manifest, binary = sys.argv[1], sys.argv[2]
docs = list(yaml.safe_load_all(open(manifest)))
check(all(isinstance(d, dict) and d.get("kind") for d in docs), "every YAML document parses and has a kind")
by = {}
for d in docs:
    by.setdefault((d["kind"], d["metadata"]["name"]), d)

secret = by.get(("Secret", "nearmiss-ssh"))
check(secret is not None and {"id_ed25519", "known_hosts"} <= set(secret.get("stringData", {})),
      "Secret nearmiss-ssh holds id_ed25519 and known_hosts")
pvc = by.get(("PersistentVolumeClaim", "nearmiss-reports"))
check(pvc is not None and "ReadWriteMany" in pvc["spec"]["accessModes"], "report volume: a ReadWriteMany claim")

cron = by.get(("CronJob", "nearmiss"))
check(cron is not None and cron["apiVersion"] == "batch/v1" and cron["spec"].get("schedule")
      and cron["spec"].get("concurrencyPolicy") == "Forbid", "CronJob batch/v1 with a schedule, one run at a time")
pod = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]
init = {c["name"]: c for c in pod.get("initContainers", [])}
main = {c["name"]: c for c in pod["containers"]}
check("shards" in init and "merge" in main,
      "the merge is the main container after an init container that runs the shards")
waiter = " ".join(init["shards"]["args"])
check("kubectl create" in waiter and ".status.succeeded" in waiter and "Failed" in waiter,
      "the shards step creates the Job and waits for every pod to succeed (a failure stops the run)")
check("merge" in " ".join(main["merge"]["args"]) and "/reports/" in " ".join(main["merge"]["args"]),
      "the merge step runs nearmiss merge on the shard reports in the volume")

cm = by.get(("ConfigMap", "nearmiss-shards-job"))
job = yaml.safe_load(cm["data"]["job.yaml"])
spec = job["spec"]
check(job["kind"] == "Job" and spec.get("completionMode") == "Indexed", "the shard Job is Indexed")
env = {e["name"]: e.get("value") for e in spec["template"]["spec"]["containers"][0]["env"]}
shards = int(env["SHARDS"])
drv_env = {e["name"]: e.get("value") for e in init["shards"]["env"]}
check(spec["completions"] == shards == spec["parallelism"] == int(drv_env["SHARDS"]),
      f"completions = parallelism = SHARDS = {shards} in the Job and the driver")
spod = spec["template"]["spec"]
vols = {v["name"]: v for v in spod["volumes"]}
mounts = {m["name"]: m["mountPath"] for m in spod["containers"][0]["volumeMounts"]}
check(vols["ssh"]["secret"]["secretName"] == "nearmiss-ssh" and mounts["ssh"] == "/etc/nearmiss/ssh",
      "shard pods mount the Secret where --identity/--known-hosts point")
check(vols["reports"]["persistentVolumeClaim"]["claimName"] == "nearmiss-reports"
      and any(v.get("persistentVolumeClaim", {}).get("claimName") == "nearmiss-reports" for v in pod["volumes"]),
      "shard pods and the merge share the report volume")
check(spod["restartPolicy"] == "Never", "shard pods: restartPolicy Never")

# The shard arithmetic: the pod's own script, every index, a recording nearmiss.
script = spod["containers"][0]["args"][0]
seen = []
with tempfile.TemporaryDirectory() as tmp:
    stub = os.path.join(tmp, "nearmiss")
    with open(stub, "w") as f:
        f.write('#!/bin/sh\nwhile [ $# -gt 0 ]; do [ "$1" = --shard ] && echo "$2"; shift; done >>"$NM_REC"\n')
    os.chmod(stub, 0o755)
    rec = os.path.join(tmp, "rec")
    for i in range(shards):
        envp = dict(os.environ, JOB_COMPLETION_INDEX=str(i), SHARDS=str(shards), RUN_ID="t",
                    NEARMISS=stub, NM_REC=rec)
        s = script.replace("/reports/", tmp + "/reports/")
        subprocess.run(["/bin/sh", "-c", s], env=envp, check=True)
    seen = open(rec).read().split()
want = [f"{k}/{shards}" for k in range(1, shards + 1)]
check(sorted(seen) == sorted(want) and len(seen) == len(set(seen)),
      f"indexes 0..{shards - 1} ask for shards {' '.join(want)}, each once (got {' '.join(seen)})")
for s in seen:
    p = subprocess.run([binary, "scan", "--shard", s, "-i", "/nonexistent/inventory.json"],
                       capture_output=True, text=True)
    check(p.returncode == 1 and "--shard" not in p.stderr and "inventory" in p.stderr,
          f"nearmiss scan accepts --shard {s} (fails only on the missing inventory)")
p = subprocess.run([binary, "scan", "--shard", f"{shards + 1}/{shards}", "-i", "/nonexistent"],
                   capture_output=True, text=True)
check(p.returncode == 1 and "--shard" in p.stderr, "and refuses an index past the count")
print(f"1..{n}")
sys.exit(1 if failed else 0)
