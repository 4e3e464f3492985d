#!/usr/bin/env node
// Writes a synthetic nearmiss.report/1 JSON for scale tests of the writers:
//   node gen-big-report.js OUT.json [HOSTS=2000] [FINDINGS=20000]
// Deterministic (fixed seed), shaped like real scans: 5 % of hosts not
// scanned, findings from every category with evidence and remediation, the
// score and breakdown computed as src/rules/score.c does, a few fleet findings.
'use strict';
const fs = require('fs');

const [out, hostsArg, findingsArg] = process.argv.slice(2);
if (!out) {
  console.error('usage: gen-big-report.js OUT.json [HOSTS] [FINDINGS]');
  process.exit(1);
}
const N = Number(hostsArg || 2000);
const F = Number(findingsArg || 20000);

let seed = 42;
function rnd() { // xorshift32: the same report on every run
  seed ^= seed << 13; seed >>>= 0;
  seed ^= seed >>> 17;
  seed ^= seed << 5; seed >>>= 0;
  return seed / 4294967296;
}
const pick = (a) => a[Math.floor(rnd() * a.length)];

// docs/scoring.md: base likelihood of an outage within 30 days per severity,
// criticality stretches the hazard; none of these findings has a value and
// threshold, so urgency is 1.
const LIKELIHOOD = { critical: 0.2, high: 0.025, medium: 0.003, low: 0.0003, info: 0 };
const FACTOR = { low: 0.5, medium: 1, high: 1.5, critical: 2 };
const hazard = (sev, crit) => -Math.log1p(-LIKELIHOOD[sev]) * FACTOR[crit];
const shown = (hz) => (hz > 0 ? Math.min(99.9, Math.max(0.1, Math.round(-Math.expm1(-hz) * 1000) / 10)) : 0);
const round1 = (x) => Math.round(x * 10) / 10;
const roles = ['web', 'db', 'cache', 'queue', 'lb', 'batch', 'mail', 'dns'];
const zones = ['a', 'b', 'c'];
const oses = [
  { id: 'debian', version_id: '12', pretty_name: 'Debian GNU/Linux 12 (bookworm)' },
  { id: 'ubuntu', version_id: '22.04', pretty_name: 'Ubuntu 22.04.3 LTS' },
  { id: 'rocky', version_id: '9.3', pretty_name: 'Rocky Linux 9.3 (Blue Onyx)' },
  { id: 'alpine', version_id: '3.19.1', pretty_name: 'Alpine Linux v3.19' },
];
const badStatus = [
  ['unreachable', 'cannot connect to 10.0.0.1 port 22: Connection refused'],
  ['timeout', 'host deadline reached during the probes (output incomplete)'],
  ['auth_failed', 'public key authentication as ops refused'],
  ['hostkey_unknown', 'host key is not in known_hosts; not scanned'],
  ['hostkey_mismatch', 'HOST KEY CHANGED: not scanned'],
];
const pkgs = ['openssl', 'libc6', 'openssh-server', 'curl', 'linux-image-amd64', 'sudo', 'bind9',
  'nginx', 'postgresql-15', 'libxml2', 'zlib1g', 'systemd', 'python3.11', 'git', 'tzdata'];
const mounts = ['/', '/var', '/srv', '/home', '/var/lib/postgresql', '/data', '/opt', '/tmp'];

function finding(host, k) {
  const kind = pick(['patch', 'patch', 'patch', 'disk', 'cert', 'smart', 'health', 'reboot']);
  const sev = pick(['critical', 'high', 'high', 'medium', 'medium', 'medium', 'low', 'low', 'info']);
  let f;
  if (kind === 'patch') {
    const p = pick(pkgs) + (k > pkgs.length ? '-' + k : '');
    f = { check: 'security-updates', category: 'patch', subject: p,
      message: `security update pending for ${p} (DSA-${5000 + k})`,
      evidence: `Inst ${p} [1.2.${k}] (1.2.${k + 1} Debian-Security:12/stable-security [amd64])\n` +
        `Conf ${p} (1.2.${k + 1} Debian-Security:12/stable-security [amd64])`,
      remediation: 'Install the pending security updates (apt-get upgrade) in the next maintenance ' +
        'window, then restart the services that use the updated libraries.',
      item: { package: p, from: `1.2.${k}`, to: `1.2.${k + 1}`, advisory: `DSA-${5000 + k}` } };
  } else if (kind === 'disk') {
    const m = pick(mounts) + (k >= mounts.length ? '/v' + k : '');
    const pct = 85 + Math.floor(rnd() * 15);
    f = { check: 'disk-space', category: 'disk', subject: m,
      message: `filesystem ${m} is ${pct}% full (${Math.floor(rnd() * 9e6)} KiB free)`, value: pct, threshold: 85,
      evidence: `/dev/mapper/vg-${k} xfs 73364480 64235520 8765180 ${pct}% ${m}\n` +
        `/dev/mapper/vg-${k} xfs 36700160 412093 36288067 2% ${m}`,
      remediation: `Free space or grow the filesystem before it fills: find what grew (du -xh --max-depth=2 ${m} | sort -h | tail), rotate or ship logs, prune old packages, images and backups.`,
      item: { subject: m, mount: m, fstype: 'xfs', use_pct: pct, iuse_pct: 2 } };
  } else if (kind === 'cert') {
    const cn = `svc${k}.${host}.example.org`;
    const days = Math.floor(rnd() * 28);
    f = { check: 'cert-expiry', category: 'cert', subject: `/etc/ssl/${cn}.pem`,
      message: `certificate for ${cn} expires in ${days} days`, value: days, threshold: 28,
      evidence: `subject=CN=${cn}\nissuer=CN=R3,O=Let's Encrypt\nnotAfter=...`,
      remediation: 'Renew the certificate (certbot renew) and reload the services using it.',
      item: { cn, not_after_unix: 1795514417 + days * 86400, days_left: days } };
  } else if (kind === 'smart') {
    f = { check: 'smart-health', category: 'smart', subject: `/dev/sd${String.fromCharCode(97 + (k % 26))}${k}`,
      message: `drive reports ${1 + Math.floor(rnd() * 40)} pending sectors (ATA 197)`,
      evidence: '197 Current_Pending_Sector 0x0012 100 100 000 Old_age Always - 8',
      remediation: 'Replace the drive: pending sectors grow into read errors.', item: {} };
  } else if (kind === 'health') {
    f = { check: 'failed-units', category: 'health', subject: `unit${k}.service`,
      message: `systemd unit unit${k}.service has failed`,
      evidence: `unit${k}.service loaded failed failed Example unit ${k}`,
      remediation: 'Look at journalctl -u for the reason; fix or disable the unit.', item: {} };
  } else {
    f = { check: 'reboot-required-debian', category: 'reboot', subject: `reboot#${k}`,
      message: 'reboot required to finish updates of: linux-image-amd64',
      evidence: 'reboot-required: yes\nlinux-image-amd64\n',
      remediation: 'Schedule a reboot in the next maintenance window.', item: {} };
  }
  f.severity = sev;
  f.fingerprint = (host + '/' + f.check + '/' + f.subject).split('').reduce(
    (h, c) => ((h * 31 + c.charCodeAt(0)) >>> 0), 7).toString(16).padStart(8, '0').repeat(8);
  f.ticket_summary = `${host}: ${f.subject} (${sev})`;
  return f;
}

const hosts = [];
let left = F;
for (let i = 0; i < N; i++) {
  const name = `host-${String(i).padStart(4, '0')}.${pick(zones)}.example.net`;
  const crit = pick(['low', 'medium', 'medium', 'high', 'critical']);
  const h = { name, address: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, port: 22,
    roles: [pick(roles)], labels: { zone: pick(zones), rack: 'r' + (i % 40) }, criticality: crit };
  const bad = rnd() < 0.05;
  if (bad) {
    const [st, err] = pick(badStatus);
    Object.assign(h, { status: st, error: err, os: null, score: null, findings: [], checks: [],
      scan: { duration_ms: Math.floor(rnd() * 9000), connect_ms: 0, bytes: 0 }, score_breakdown: [] });
  } else {
    const want = i === N - 1 ? left : Math.min(left, Math.floor(rnd() * (2 * F / N) + 0.5));
    left -= want;
    const findings = [];
    for (let k = 0; k < want; k++) findings.push(finding(name, k));
    const hz = findings.map((f) => hazard(f.severity, crit));
    const total = hz.reduce((a, x) => a + x, 0);
    const score = shown(total);
    const breakdown = [];
    findings.forEach((f, k) => {
      if (hz[k] <= 0) return;
      breakdown.push({ fingerprint: f.fingerprint, check: f.check, severity: f.severity,
        base_likelihood: LIKELIHOOD[f.severity], urgency: 1, criticality: FACTOR[crit],
        likelihood: Math.round(-Math.expm1(-hz[k]) * 1000) / 1000,
        worth: Math.max(0, round1(score - shown(hz.reduce((a, x, m) => (m === k ? a : a + x), 0)))) });
    });
    const checks = ['security-updates', 'disk-space', 'cert-expiry', 'smart-health', 'failed-units',
      'reboot-required-debian'].map((id) => {
      const n = findings.filter((f) => f.check === id).length;
      return n ? { id, result: 'fail', items: n + 3, findings: n } : { id, result: 'pass', items: 3, findings: 0 };
    });
    Object.assign(h, { status: 'ok', error: null, os: pick(oses), score,
      findings, checks, scan: { duration_ms: 150 + Math.floor(rnd() * 2000), connect_ms: 60, bytes: 20000 },
      kernel: '6.1.0-18-amd64', arch: 'x86_64', uptime_seconds: Math.floor(rnd() * 9e6),
      score_breakdown: breakdown });
  }
  hosts.push(h);
}

const counts = { critical: 0, high: 0, medium: 0, low: 0, info: 0 };
let scanned = 0, fleetHazard = 0;
for (const h of hosts) {
  if (h.status === 'ok') { scanned++; fleetHazard += h.score > 0 ? -Math.log1p(-Math.min(h.score, 99.95) / 100) : 0; }
  for (const f of h.findings) counts[f.severity]++;
}
const fleet = roles.slice(0, 3).map((r, i) => ({ check: 'role-redundancy', category: 'spof',
  severity: i ? 'medium' : 'high', subject: `role ${r}`,
  hosts: hosts.filter((h) => h.roles[0] === r).slice(0, 2).map((h) => h.name),
  message: `role ${r}: all healthy hosts are in zone a`, fingerprint: 'f'.repeat(63) + i }));
for (const f of fleet) {
  counts[f.severity]++;
  const crit = Math.max(1, ...f.hosts.map((n) => FACTOR[hosts.find((h) => h.name === n).criticality]));
  fleetHazard += -Math.log1p(-LIKELIHOOD[f.severity]) * crit;
}
const report = { schema: 'nearmiss.report/1', tool: 'nearmiss (synthetic)',
  started_at: '2026-11-24T02:00:00Z', finished_at: '2026-11-24T02:03:10Z',
  summary: { hosts: N, scanned, failed: N - scanned, findings: counts,
    fleet_score: scanned ? shown(fleetHazard) : null },
  hosts, fleet_findings: fleet };
fs.writeFileSync(out, JSON.stringify(report, null, 1));
console.log(`${out}: ${N} hosts, ${F - left} findings, ${fs.statSync(out).size} bytes`);
