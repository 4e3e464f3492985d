#!/usr/bin/env node
// Drives a real headless Chromium over a nearmiss HTML report.
//
//   node check-report.js REPORT.html REPORT.json SHOTDIR   the checks below
//   node check-report.js --perf REPORT.html                 load/sort/filter timings (JSON)
//   node check-report.js --big REPORT.html REPORT.json      a large fleet (see big())
//
// The page shows the host table a page of rows at a time and builds a host's
// details when it is opened, from data blocks; the checks walk every page.
//
// Checks: every host row is there; sort by name and by score gives the right
// order (DOM and on screen); filters by severity, category, role and text show
// exactly the hosts they should; a host opens to all its findings and evidence;
// in-page links open their target; no network request is made; nothing from
// the report runs as script (alert/confirm/prompt trapped before load, dialog
// events watched, page errors fail the test); print media shows the open
// page of hosts, every one open, without controls; without JavaScript the
// summary, the fix-first list and the riskiest hosts with their worst
// findings are there, with a note that the rest needs JavaScript; no horizontal
// overflow at 390 px; text contrast meets WCAG AA, in light and dark
// (prefers-color-scheme); the verdict, the counts by severity and the
// fix-first list are above the fold at 1280 and 390 px; the printed PDF's
// page count (at most NM_PRINT_MAX_PAGES when set). Screenshots at 1280 and
// 390 px, light and dark, go to SHOTDIR.
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { chromium } = require('playwright-core');

const CHROMIUM = process.env.NM_CHROMIUM || '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

let failures = 0, checks = 0;
const T0 = Date.now();
// NM_BROWSER_DEBUG=1: say which step runs, and when.
const step = (what) => { if (process.env.NM_BROWSER_DEBUG) console.error(`[${Date.now() - T0} ms] ${what}`); };
function check(cond, what) {
  checks++;
  if (!cond) {
    failures++;
    console.error('FAIL: ' + what);
  }
}

// What the writers do to a string: NUL becomes U+FFFD (the rest of the
// cleaning only touches bytes JSON cannot carry).
const clean = (s) => String(s).replace(/\u0000/g, '\ufffd').replace(/\r\n/g, '\n');
const SEV = { info: 0, low: 1, medium: 2, high: 3, critical: 4 };

async function launch(opts) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nm-chromium-'));
  const ctx = await chromium.launchPersistentContext(dir, {
    executablePath: CHROMIUM, headless: true, args: ARGS, ...opts });
  return { ctx, dir };
}

async function close({ ctx, dir }) {
  await ctx.close();
  fs.rmSync(dir, { recursive: true, force: true });
}

// Every request but the report itself is a failure: the page is self-contained.
async function guard(ctx, fileUrl, requests) {
  await ctx.route('**/*', (route) => {
    const u = route.request().url();
    if (u === fileUrl || u.startsWith('data:')) return route.continue();
    requests.push(u);
    return route.abort();
  });
  await ctx.addInitScript(() => {
    window.__xss = [];
    for (const f of ['alert', 'confirm', 'prompt', 'print']) {
      window[f] = function (...a) { window.__xss.push([f, ...a.map(String)]); };
    }
  });
}

async function pageNames(page) {
  return page.$$eval('#hostrows > details.host', (rows) => rows
    .filter((r) => !r.hidden && r.getBoundingClientRect().height > 0)
    .map((r) => r.getAttribute('data-name')));
}

// The names on every page of the table, in order, from the first page on;
// leaves the first page shown.
async function visibleNames(page) {
  const pages = Number(await page.$eval('#hostlist', (b) => b.getAttribute('data-pages')));
  let names = [];
  for (let k = 0; k < pages; k++) {
    if (k) await page.click('[data-act=next]');
    names = names.concat(await pageNames(page));
  }
  for (let k = 1; k < pages; k++) await page.click('[data-act=prev]');
  return names;
}

// Shows the page holding the named host and opens it; its details are built
// then. Returns the row's id.
async function openHost(page, name) {
  const pages = Number(await page.$eval('#hostlist', (b) => b.getAttribute('data-pages')));
  for (let k = 0; k < pages; k++) {
    if (k) await page.click('[data-act=next]');
    const id = await page.$$eval('#hostrows > details.host', (r, n) => {
      const x = r.find((e) => e.getAttribute('data-name') === n);
      return x ? x.id : null;
    }, name);
    if (id) {
      await page.$eval('#' + id, (e) => e.scrollIntoView());
      await page.click(`#${id} > summary`);
      await page.waitForFunction((i) => document.querySelector(`#${i} > .hostbody[data-filled]`), id);
      return id;
    }
  }
  return null;
}

// Opens the first row shown and waits for its details.
async function openFirst(page) {
  const id = await page.$$eval('#hostrows > details.host', (d) => d[0] ? d[0].id : null);
  if (!id) return;
  await page.$eval('#' + id, (e) => { e.open = true; });
  await page.waitForFunction((i) => document.querySelector(`#${i} > .hostbody[data-filled]`), id);
}

// The text the host filter searches, as the report writer builds it.
function searchText(h) {
  const parts = [];
  const s = (v) => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : v == null ? '' : JSON.stringify(v));
  for (const k of ['name', 'address', 'status', 'criticality', 'hostname'])
    if (typeof h[k] === 'string') parts.push(h[k]);
  if (h.os && typeof h.os.pretty_name === 'string') parts.push(h.os.pretty_name);
  for (const r of h.roles || []) parts.push(s(r));
  for (const [k, v] of Object.entries(h.labels || {})) parts.push(k + '=' + s(v));
  for (const f of h.findings || []) parts.push(s(f.check), s(f.subject), s(f.message));
  return clean(parts.join(' ')).toLowerCase();
}

// Resolves after the page's next animation frame has run: a frame callback
// the page registered before this call (the filter's apply) has run by then,
// in any load, since frame callbacks run in the order they were registered.
async function nextFrame(page) {
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => r())));
}

async function waitSorted(page) {
  await page.waitForFunction(() => document.getElementById('hostlist').getAttribute('data-sort-state') === 'done');
}

async function select(page, id, value) {
  await page.selectOption('#' + id, value);
}

// Contrast of every element with its own text against its effective
// background: >= 4.5, or 3 for large text (WCAG 2 AA).
async function contrastProblems(page) {
  return page.evaluate(() => {
    function rgb(s) {
      const m = s.match(/rgba?\(([^)]+)\)/);
      if (!m) return null;
      const p = m[1].split(',').map((x) => parseFloat(x));
      return { r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1 };
    }
    function lum(c) {
      const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
      return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b);
    }
    function bg(el) {
      for (let e = el; e; e = e.parentElement) {
        const c = rgb(getComputedStyle(e).backgroundColor);
        if (c && c.a > 0.5) return c;
      }
      return { r: 255, g: 255, b: 255, a: 1 };
    }
    // Inside a closed <details> but not in its summary: not shown.
    function folded(el) {
      for (let e = el, prev = null; e; prev = e, e = e.parentElement)
        if (e.tagName === 'DETAILS' && !e.open && !(prev && prev.tagName === 'SUMMARY' && prev.parentElement === e))
          return true;
      return false;
    }
    const bad = [];
    // The page's sections and the first rows: on a 2 000-host page, touching
    // every element would force the layout that content-visibility skips.
    const all = document.querySelectorAll(['header', 'section:not(#hosts)', '#filters', '.thead',
      '#hostrows > details.host:nth-child(-n+20)'].map((s) => s + ' *:not(svg *):not(script):not(style)').join(','));
    let n = 0;
    for (const el of all) {
      if (n > 3000) break;
      const own = Array.from(el.childNodes).some((c) => c.nodeType === 3 && c.data.trim());
      if (!own || folded(el)) continue;
      const r = el.getBoundingClientRect();
      if (r.width === 0 || r.height === 0) continue;
      n++;
      const st = getComputedStyle(el);
      const fg = rgb(st.color);
      if (!fg) continue;
      const b = bg(el);
      const L1 = lum(fg), L2 = lum(b);
      const ratio = (Math.max(L1, L2) + 0.05) / (Math.min(L1, L2) + 0.05);
      const size = parseFloat(st.fontSize), bold = parseInt(st.fontWeight, 10) >= 700;
      const need = size >= 24 || (bold && size >= 18.66) ? 3 : 4.5;
      if (ratio < need && parseFloat(st.opacity) > 0.5)
        bad.push(`${el.tagName}.${el.className} "${el.textContent.trim().slice(0, 30)}" ${ratio.toFixed(2)} < ${need}`);
    }
    return bad.slice(0, 10);
  });
}

// Where the page's first screen ends: the verdict, the counts by severity
// and the start of the fix-first list must be on it, at scroll 0.
async function aboveTheFold(page, width) {
  const pos = await page.evaluate(() => {
    const top = (sel) => { const e = document.querySelector(sel); return e ? e.getBoundingClientRect().top + scrollY : null; };
    const bottom = (sel) => { const e = document.querySelector(sel); return e ? e.getBoundingClientRect().bottom + scrollY : null; };
    return { vh: innerHeight, verdict: top('#verdict .verdict'), counts: bottom('#verdict .sevcounts'),
      fix: top('#top-risks'), first: top('#top-risks ol.risks > li, #top-risks .note'),
      firstBottom: bottom('#top-risks ol.risks > li, #top-risks .note'),
      changes: top('#changes'), overview: top('#overview') };
  });
  check(pos.verdict !== null && pos.verdict < pos.vh, `${width} px: the verdict is above the fold (${pos.verdict} < ${pos.vh})`);
  check(pos.counts !== null && pos.counts < pos.vh, `${width} px: the counts by severity are above the fold (${pos.counts} < ${pos.vh})`);
  check(pos.fix !== null && pos.fix < pos.vh, `${width} px: "Fix first" starts above the fold (${pos.fix} < ${pos.vh})`);
  check(pos.firstBottom !== null && pos.firstBottom < pos.vh, `${width} px: its first entry is whole above the fold (${pos.firstBottom} < ${pos.vh})`);
  check(pos.changes === null || pos.changes > pos.fix, `${width} px: "What changed" follows "Fix first"`);
  check(pos.overview > pos.fix, `${width} px: the overview cards follow "Fix first"`);
  console.log(`above the fold at ${width} px: verdict ${Math.round(pos.verdict)}, fix first ${Math.round(pos.fix)}, first entry ends ${Math.round(pos.firstBottom)} (viewport ${pos.vh})`);
  return pos;
}

// Pages in a PDF Chromium wrote: one "/Type /Page" object per page.
function pdfPages(buf) {
  const m = buf.toString('latin1').match(/\/Type\s*\/Page(?![a-zA-Z])/g);
  return m ? m.length : 0;
}

async function main(htmlPath, jsonPath, shotDir) {
  const report = JSON.parse(fs.readFileSync(jsonPath, 'utf8'));
  const hosts = report.hosts;
  const fileUrl = 'file://' + path.resolve(htmlPath);
  fs.mkdirSync(shotDir, { recursive: true });

  const b = await launch({ viewport: { width: 1280, height: 900 } });
  const requests = [], dialogs = [], errors = [];
  await guard(b.ctx, fileUrl, requests);
  const page = b.ctx.pages()[0] || await b.ctx.newPage();
  page.on('dialog', (d) => { dialogs.push(d.type() + ': ' + d.message()); d.dismiss().catch(() => {}); });
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(fileUrl, { waitUntil: 'load' });
  await aboveTheFold(page, 1280);
  await page.screenshot({ path: path.join(shotDir, 'report-1280-fold.png') });
  // The fix-first list holds each fix once, fleet-wide findings included.
  const fixes = await page.$$eval('#top-risks ol.risks > li', (l) => l.map((x) => x.querySelector('.what').textContent));
  check(new Set(fixes).size === fixes.length, 'fix first: no entry twice');
  const worstFleet = (report.fleet_findings || []).filter((f) => f.severity === 'critical');
  if (worstFleet.length)
    check(await page.$$eval('#top-risks li[data-fleet]', (l) => l.length) >= 1, 'fix first: holds the critical fleet finding');
  // The static list for readers without JavaScript is gone from the page.
  check(await page.$$eval('#worst-hosts', (l) => l.length) === 0, 'the no-JS list is removed');

  // Rows: one per host over the pages, at most 100 on one, names as text exactly.
  const rows = [];
  const nPages = Number(await page.$eval('#hostlist', (b) => b.getAttribute('data-pages')));
  check(nPages === Math.max(1, Math.ceil(hosts.length / 100)), `${nPages} pages of 100 rows`);
  for (let k = 0; k < nPages; k++) {
    if (k) await page.click('[data-act=next]');
    const got = await page.$$eval('#hostrows > details.host', (r) => r.map((x) => ({
      name: x.getAttribute('data-name'), shown: x.querySelector('.host-name').textContent })));
    check(got.length <= 100, `page ${k + 1}: ${got.length} rows`);
    rows.push(...got);
  }
  for (let k = 1; k < nPages; k++) await page.click('[data-act=prev]');
  check(rows.length === hosts.length, `${rows.length} host rows, expected ${hosts.length}`);
  for (const h of hosts) {
    const n = clean(h.name);
    check(rows.some((r) => r.name === n && r.shown === n), `host row for ${JSON.stringify(n)}`);
  }
  check(await page.$eval('#f-count', (e) => e.textContent) === `all ${hosts.length} hosts shown`, 'count text');

  step('sort');
  // Sort by name (ascending), then by score (descending, then ascending).
  const coll = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' });
  await page.click('.thead [data-sort=name]');
  await waitSorted(page);
  let names = await visibleNames(page);
  const byName = hosts.map((h) => clean(h.name)).sort(coll.compare);
  check(JSON.stringify(names) === JSON.stringify(byName), 'sorted by name');
  const onScreen = await page.$$eval('#hostrows > details.host', (r) => r.map((x) => x.getBoundingClientRect().top));
  check(onScreen.length > 0 || hosts.length === 0, 'rows on screen');
  check(onScreen.every((t, i) => i === 0 || t >= onScreen[i - 1]), 'screen order follows DOM order');
  check(await page.$eval('[data-sort=name]', (e) => e.parentNode.getAttribute('aria-sort')) === 'ascending', 'aria-sort');

  const scoreOf = new Map(hosts.map((h) => [clean(h.name), typeof h.score === 'number' ? h.score : null]));
  for (const dir of ['desc', 'asc']) {
    await page.click('.thead [data-sort=score]');
    await waitSorted(page);
    names = await visibleNames(page);
    const sc = names.map((n) => scoreOf.get(n));
    const known = sc.filter((s) => s !== null);
    const firstUnknown = sc.indexOf(null);
    check(firstUnknown === -1 || sc.slice(firstUnknown).every((s) => s === null), `unknown scores last (${dir})`);
    check(known.every((s, i) => i === 0 || (dir === 'desc' ? s <= known[i - 1] : s >= known[i - 1])),
      `sorted by score ${dir}: ${known.slice(0, 12).join(',')}`);
  }
  await page.click('.thead [data-sort=score]'); // back to riskiest first
  await waitSorted(page);

  step('filters');
  // Filters. Expected sets come from the JSON, not from the page.
  const active = (h) => (h.findings || []).filter((f) => f.waived !== true);
  async function expectShown(expected, what) {
    const shown = (await visibleNames(page)).sort();
    const want = expected.map((h) => clean(h.name)).sort();
    check(JSON.stringify(shown) === JSON.stringify(want),
      `${what}: shown ${shown.length} [${shown.slice(0, 5)}], expected ${want.length} [${want.slice(0, 5)}]`);
    const empty = await page.$eval('#f-empty', (e) => !e.hidden);
    check(empty === (want.length === 0), `${what}: "no host matches" shown iff nothing matches`);
  }
  for (const sev of ['critical', 'high', 'medium']) {
    await select(page, 'f-sev', sev);
    await expectShown(hosts.filter((h) => active(h).some((f) => SEV[f.severity] >= SEV[sev])), `severity >= ${sev}`);
  }
  // Findings inside an open host follow the severity filter (CSS only).
  const critHost = hosts.find((h) => active(h).some((f) => f.severity === 'critical') &&
    active(h).some((f) => f.severity !== 'critical'));
  if (critHost) {
    await select(page, 'f-sev', 'critical');
    const id = await openHost(page, clean(critHost.name));
    check(id !== null, 'the host with a critical finding is listed');
    if (id) {
      const vis = await page.$$eval(`#${id} li.finding`, (l) => l.filter((x) => x.getBoundingClientRect().height > 0).map((x) => x.getAttribute('data-sev')));
      check(vis.length > 0 && vis.every((s) => s === 'critical'), `only critical findings shown in open host: ${vis}`);
      await page.click(`#${id} > summary`);
    }
  }
  await page.click('[data-act=reset]');
  const cats = [...new Set(hosts.flatMap((h) => active(h).map((f) => f.category)))].filter((c) => typeof c === 'string' && !c.includes('\n'));
  for (const cat of cats.slice(0, 3)) {
    await select(page, 'f-cat', clean(cat));
    await expectShown(hosts.filter((h) => active(h).some((f) => f.category === cat)), `category ${cat}`);
  }
  await page.click('[data-act=reset]');
  const roleOpts = await page.$$eval('#f-role option', (o) => o.map((x) => x.value).filter(Boolean));
  if (roleOpts.length) {
    const role = roleOpts[0];
    await select(page, 'f-role', role);
    await expectShown(hosts.filter((h) => (h.roles || []).some((r) => clean(r) === role)), `role ${role}`);
    await page.click('[data-act=reset]');
  }
  // Text: a host by its full name, then a term no host has.
  const target = hosts[hosts.length - 1];
  if (target) {
    await page.fill('#f-q', clean(target.name));
    await nextFrame(page);
    names = await visibleNames(page);
    check(names.includes(clean(target.name)), 'text filter finds the host by name');
    const term = clean(target.name).toLowerCase().split(/\s+/).filter(Boolean);
    await expectShown(hosts.filter((h) => term.every((w) => searchText(h).includes(w))),
      'text filter shows exactly the matching rows');
  }
  await page.fill('#f-q', 'zz-no-such-host-zz');
  await nextFrame(page);
  await expectShown([], 'text with no match');
  await page.click('[data-act=reset]');
  await expectShown(hosts, 'after reset');

  step('expand');
  // Open a host with findings: its details are built then, every finding
  // shown (worst first), evidence closed until asked.
  const hostF = hosts.find((h) => (h.findings || []).length > 0 && (h.findings || []).some((f) => f.evidence));
  const openedId = hostF ? await openHost(page, clean(hostF.name)) : null;
  check(!hostF || openedId !== null, 'the host with findings is listed');
  const withFindings = openedId ? await page.$('#' + openedId) : null;
  if (withFindings) {
    const shownF = await withFindings.$$eval('li.finding .msg', (l) => l.map((x) => x.textContent));
    const wantF = hostF.findings.map((f) => clean(typeof f.message === 'string' ? f.message : JSON.stringify(f.message)));
    check(shownF.length === wantF.length && wantF.every((m) => shownF.includes(m.slice(0, 2000))),
      `the open host shows its ${wantF.length} findings (${shownF.length})`);
    const ids = await withFindings.$$eval('li.finding', (l) => l.map((x) => x.id));
    check(ids.every((x) => /^h-\d+-f-\d+$/.test(x)), 'findings carry their link ids');
    // Remediation code spans are <code>, never literal backticks.
    const ticks = await withFindings.$$eval('.finding .fix', (l) => l.filter((x) => /`[^`]+`/.test(x.textContent)).length);
    check(ticks === 0, `no literal code spans in remediation (${ticks})`);
    check(await withFindings.evaluate((d) => d.open), 'host opens');
    // checkVisibility: closed <details> content keeps boxes in Chromium, but
    // under content-visibility:hidden, which this sees.
    const visible = (h) => h.evaluate((e) => e.checkVisibility());
    const f = await withFindings.$('li.finding');
    check(await visible(f), 'finding visible');
    const pre = await f.$('details.more pre');
    check(!pre || !(await visible(pre)), 'evidence closed at first');
    await f.$eval('details.more > summary', (s) => s.click());
    check(!pre || (await visible(pre)), 'evidence opens');
    await page.screenshot({ path: path.join(shotDir, 'report-1280-host.png') });
    await withFindings.$eval('summary', (s) => s.click());
    await page.click('[data-act=reset]');
  }
  step('link');
  // A "fix first" link opens the finding it points at.
  const risk = await page.$('#top-risks a[href^="#h-"]');
  if (risk) {
    const href = await risk.getAttribute('href');
    await risk.click();
    // Checked on every frame until it holds: a row off screen is laid out a
    // frame or more after it becomes relevant, later on a loaded machine.
    // The limit only keeps a broken page from hanging the run.
    const open = await page.waitForFunction((h) => {
      const el = document.querySelector(h);
      return el.closest('details.host').open && el.getBoundingClientRect().height > 0 &&
        el.getBoundingClientRect().top < innerHeight;
    }, href, { polling: 'raf', timeout: 120000 }).then(() => true, () => false);
    const where = open ? '' : ' ' + JSON.stringify(await page.evaluate((h) => {
      const el = document.querySelector(h), r = el.getBoundingClientRect();
      return { open: el.closest('details.host').open, top: r.top, height: r.height,
        innerHeight, scrollY, hash: location.hash };
    }, href));
    check(open, `link ${href} opens its host and shows the finding${where}`);
    await page.click('[data-act=collapse]');
  }

  step('xss');
  // Nothing from the report ran.
  const xss = await page.evaluate(() => window.__xss);
  check(xss.length === 0, 'no alert/confirm/prompt: ' + JSON.stringify(xss));
  check(dialogs.length === 0, 'no dialog: ' + dialogs.join('; '));
  check(errors.length === 0, 'no page error: ' + errors.join('; '));
  check(requests.length === 0, 'no network request: ' + requests.join(' '));
  check(await page.$$eval('script:not([type])', (s) => s.length) === 1, 'one script that runs');
  check(await page.$$eval('script[type]', (s) => s.every((x) => x.type === 'application/json')), 'the other scripts are data');
  check(await page.$$eval('img,iframe,object,embed', (s) => s.length) === 0, 'no injected elements');

  step('contrast');
  // Contrast at 1280 with a host open (badges, notes, tables).
  await openFirst(page);
  const low = await contrastProblems(page);
  check(low.length === 0, 'WCAG AA contrast: ' + low.join(' | '));
  await page.$$eval('#hostrows > details.host', (d) => { if (d[0]) d[0].open = false; });

  step('print');
  // Print: controls gone, every host of the page shown open with its
  // findings (the page's beforeprint builds them; dispatched here, since
  // emulated print media and page.pdf() do not).
  await page.emulateMedia({ media: 'print' });
  check(await page.$eval('#filters', (e) => getComputedStyle(e).display) === 'none', 'print: no filter controls');
  check(await page.$eval('#pager', (e) => getComputedStyle(e).display) === 'none', 'print: no pager');
  await page.evaluate(() => window.dispatchEvent(new Event('beforeprint')));
  if (hosts.length) {
    const printed = await page.$$eval('#hostrows > details.host', (r) => r.every((e) => e.open &&
      e.querySelector('.hostbody').getBoundingClientRect().height > 0));
    check(printed, 'print: the hosts of the page are expanded');
    const withF = hosts.filter((h) => (h.findings || []).length).length;
    const printedF = await page.$$eval('#hostrows > details.host', (r) => r.filter((e) => e.querySelector('li.finding')).length);
    check(printedF === Math.min(withF, 100) || hosts.length > 100, `print: findings of every host (${printedF} of ${withF})`);
  }
  // A PDF of every finding of a large fleet runs to thousands of pages.
  if (hosts.length <= 100) {
    const pdf = await page.pdf({ path: path.join(shotDir, 'report-print.pdf'), format: 'A4' });
    const pages = pdfPages(pdf);
    const max = parseInt(process.env.NM_PRINT_MAX_PAGES || '0', 10);
    console.log(`print: ${pages} A4 pages for ${hosts.length} hosts`);
    check(pages > 0, 'print: a PDF with pages');
    if (max) check(pages <= max, `print: at most ${max} pages (${pages})`);
    // The summary and the fix-first list on the first two pages: both
    // end before the host list, which starts a page of its own.
    const firstPage = await page.evaluate(() => {
      const r = document.querySelector('#top-risks').getBoundingClientRect();
      return r.bottom + scrollY;
    });
    check(firstPage > 0, 'print: the fix-first list is laid out');
  }
  await page.evaluate(() => window.dispatchEvent(new Event('afterprint')));
  await page.emulateMedia({ media: 'screen' });

  step('screenshots');
  // Screenshots. Full-page captures do not paint rows that
  // content-visibility:auto skips off screen, so turn it off for them.
  await page.addStyleTag({ content: '.host{content-visibility:visible!important}' });
  await page.screenshot({ path: path.join(shotDir, 'report-1280.png'), fullPage: true });
  await page.setViewportSize({ width: 390, height: 844 });
  await nextFrame(page);
  await page.evaluate(() => window.scrollTo(0, 0));
  await aboveTheFold(page, 390);
  await page.screenshot({ path: path.join(shotDir, 'report-390-fold.png') });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth);
  check(overflow <= 390, `no horizontal scrolling at 390 px (page is ${overflow} px wide)`);
  check(await page.$eval('.thead', (e) => getComputedStyle(e).display) === 'none', '390 px: rows are cards');
  await page.screenshot({ path: path.join(shotDir, 'report-390.png'), fullPage: true });
  await page.$eval('#hosts', (e) => e.scrollIntoView());
  await openFirst(page);
  await page.screenshot({ path: path.join(shotDir, 'report-390-hosts.png') });
  const low390 = await contrastProblems(page);
  check(low390.length === 0, 'WCAG AA contrast at 390 px: ' + low390.join(' | '));
  await close(b);

  step('dark');
  // prefers-color-scheme: dark: the palette turns, text keeps its contrast.
  for (const width of [1280, 390]) {
    const dark = await launch({ viewport: { width, height: width === 390 ? 844 : 900 }, colorScheme: 'dark' });
    const p3 = dark.ctx.pages()[0] || await dark.ctx.newPage();
    await p3.goto(fileUrl, { waitUntil: 'load' });
    const col = await p3.evaluate(() => ({
      body: getComputedStyle(document.body).backgroundColor,
      text: getComputedStyle(document.body).color,
      card: getComputedStyle(document.querySelector('#top-risks li, .card')).backgroundColor,
      scheme: matchMedia('(prefers-color-scheme: dark)').matches }));
    const lumOf = (s) => { const p = s.match(/\d+(\.\d+)?/g).map(Number); return (0.2126 * p[0] + 0.7152 * p[1] + 0.0722 * p[2]) / 255; };
    check(col.scheme, `dark ${width} px: the page sees prefers-color-scheme: dark`);
    check(lumOf(col.body) < 0.15 && lumOf(col.card) < 0.2, `dark ${width} px: dark backgrounds (${col.body}, ${col.card})`);
    check(lumOf(col.text) > 0.7, `dark ${width} px: light text (${col.text})`);
    await aboveTheFold(p3, width);
    await openFirst(p3);
    const lowDark = await contrastProblems(p3);
    check(lowDark.length === 0, `WCAG AA contrast in dark mode at ${width} px: ` + lowDark.join(' | '));
    await p3.$$eval('#hostrows > details.host', (d) => { if (d[0]) d[0].open = false; });
    if (width === 390) check(await p3.evaluate(() => document.documentElement.scrollWidth) <= 390, 'dark 390 px: no horizontal scrolling');
    await p3.screenshot({ path: path.join(shotDir, `report-${width}-dark.png`) });
    await close(dark);
  }

  step('nojs');
  check(await noJs(fileUrl, report, shotDir), 'without JavaScript');
  console.log(`screenshots: ${shotDir}/report-1280.png report-1280-fold.png report-1280-host.png report-1280-dark.png report-390.png report-390-fold.png report-390-hosts.png report-390-dark.png report-print.pdf`);
  console.log(`${checks} browser checks, ${failures} failed`);
  return failures ? 1 : 0;
}

// Without JavaScript: the summary, the fix-first list and the riskiest
// hosts with their worst findings, a note that the rest needs JavaScript, no
// dead controls, no empty table. Returns whether all held.
async function noJs(fileUrl, report, shotDir) {
  const before = failures;
  const hosts = report.hosts || [];
  const nojs = await launch({ viewport: { width: 1280, height: 900 }, javaScriptEnabled: false });
  const p2 = nojs.ctx.pages()[0] || await nojs.ctx.newPage();
  await p2.goto(fileUrl, { waitUntil: 'load', timeout: 180000 });
  const shown = (sel) => p2.$$eval(sel, (l) => l.filter((e) => e.getBoundingClientRect().height > 0).length);
  check(await shown('#verdict .verdict') === 1, 'no JS: the verdict');
  check(await shown('#overview .card') >= 3, 'no JS: the overview cards');
  check(await shown('#top-risks') === 1, 'no JS: the fix-first section');
  const risky = (f) => f.waived !== true && ['low', 'medium', 'high', 'critical'].includes(f.severity);
  const wantFix = hosts.some((h) => (h.findings || []).some(risky)) || (report.fleet_findings || []).some(risky);
  const nFix = await shown('#top-risks ol.risks > li');
  check(wantFix === (nFix > 0), `no JS: fix-first entries (${nFix})`);
  const n = Math.min(25, hosts.length);
  const listed = await p2.$$eval('#worst-hosts li.nojs-host', (l) => l.filter((e) => e.getBoundingClientRect().height > 0)
    .map((e) => ({ name: e.getAttribute('data-name'), shown: e.querySelector('.host-name').textContent,
      score: e.getAttribute('data-score'), findings: e.querySelectorAll('li.finding').length })));
  check(listed.length === n, `no JS: the ${n} riskiest hosts listed (${listed.length})`);
  // The riskiest: scanned hosts by score, highest first, then unscanned ones.
  const top = hosts.filter((h) => typeof h.score === 'number').map((h) => h.score).sort((a, b) => b - a).slice(0, n);
  const listedScores = listed.filter((x) => x.score !== '').map((x) => Number(x.score));
  check(listedScores.length === top.length && listedScores.every((s, k) => Math.abs(s - top[k]) < 0.051),
    'no JS: in score order, the riskiest first');
  check(listed.every((x) => x.name === x.shown), 'no JS: names as text');
  for (const x of listed) {
    const h = hosts.find((y) => clean(y.name) === x.name);
    const active = h && h.status === 'ok' ? (h.findings || []).filter((f) => f.waived !== true).length : 0;
    check(x.findings === Math.min(5, active), `no JS: ${x.name}: its worst ${Math.min(5, active)} findings (${x.findings})`);
  }
  check(await p2.$eval('#filters', (e) => getComputedStyle(e).display) === 'none', 'no JS: no dead controls');
  check(await p2.$eval('#hostlist', (e) => getComputedStyle(e).display) === 'none', 'no JS: no empty table');
  check(/JavaScript/.test(await p2.$eval('#hosts .nojs', (e) => e.textContent)) &&
    await p2.$eval('#hosts .nojs', (e) => getComputedStyle(e).display) !== 'none',
    'no JS: the note says the rest needs JavaScript');
  if (shotDir) await p2.screenshot({ path: path.join(shotDir, 'report-nojs.png') });
  await close(nojs);
  return failures === before;
}

// A large fleet (tests/browser/run-big-report-test.sh): few elements at first
// paint, sort and filters right over every host, a host's details built when
// it is opened, the no-JS fallback. Timings are printed, never judged.
async function big(htmlPath, jsonPath) {
  const report = JSON.parse(fs.readFileSync(jsonPath, 'utf8'));
  const hosts = report.hosts;
  const fileUrl = 'file://' + path.resolve(htmlPath);
  const b = await launch({ viewport: { width: 1280, height: 900 } });
  const requests = [], errors = [];
  await guard(b.ctx, fileUrl, requests);
  const page = b.ctx.pages()[0] || await b.ctx.newPage();
  page.on('pageerror', (e) => errors.push(String(e)));
  const t0 = Date.now();
  await page.goto(fileUrl, { waitUntil: 'load', timeout: 300000 });
  const loadMs = Date.now() - t0;
  // The script has run by the load event: the first page of rows is built.
  const els = await page.evaluate(() => document.getElementsByTagName('*').length);
  check(els <= 20000, `${els} elements at first paint (at most 20 000)`);
  check(await page.$eval('#f-count', (e) => e.textContent) === `all ${hosts.length} hosts shown`, 'count text');
  check((await pageNames(page)).length === Math.min(100, hosts.length), 'a page of rows');
  const timed = async (fn) => {
    const s = Date.now();
    await fn();
    await nextFrame(page);
    return Date.now() - s;
  };
  const times = { loadMs, elements: els };

  const coll = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' });
  const byName = hosts.map((h) => clean(h.name)).sort(coll.compare);
  times.sortByNameMs = await timed(() => page.click('.thead [data-sort=name]'));
  check(JSON.stringify(await pageNames(page)) === JSON.stringify(byName.slice(0, 100)), 'sorted by name: first page');
  const pages = Number(await page.$eval('#hostlist', (e) => e.getAttribute('data-pages')));
  await page.evaluate((n) => { for (let k = 1; k < n; k++) document.querySelector('[data-act=next]').click(); }, pages);
  check(JSON.stringify(await pageNames(page)) === JSON.stringify(byName.slice((pages - 1) * 100)), 'sorted by name: last page');
  times.sortByScoreMs = await timed(() => page.click('.thead [data-sort=score]'));
  const scores = hosts.filter((h) => typeof h.score === 'number').map((h) => h.score).sort((x, y) => y - x);
  const scoreOf = new Map(hosts.map((h) => [clean(h.name), h.score]));
  const first = (await pageNames(page)).map((n) => scoreOf.get(n));
  check(first.every((s, k) => Math.abs(s - scores[k]) < 0.051), 'sorted by score: the riskiest first');

  const active = (h) => (h.findings || []).filter((f) => f.waived !== true);
  const countShown = () => page.$eval('#f-count', (e) => e.textContent);
  const want = (list) => (list.length === hosts.length ? `all ${hosts.length} hosts shown` : `${list.length} of ${hosts.length} hosts shown`);
  times.filterSeverityMs = await timed(() => select(page, 'f-sev', 'critical'));
  const crit = hosts.filter((h) => active(h).some((f) => f.severity === 'critical'));
  check(await countShown() === want(crit), `severity critical: ${await countShown()}, expected ${crit.length}`);
  const firstCrit = await pageNames(page);
  check(firstCrit.every((n) => crit.some((h) => clean(h.name) === n)), 'severity critical: only those hosts');
  times.filterCategoryMs = await timed(() => select(page, 'f-cat', 'disk'));
  const critDisk = hosts.filter((h) => active(h).some((f) => f.severity === 'critical' && f.category === 'disk'));
  check(await countShown() === want(critDisk), `critical disk findings: ${await countShown()}, expected ${critDisk.length}`);
  await page.click('[data-act=reset]');
  const term = 'openssl';
  times.filterTextMs = await timed(async () => { await page.fill('#f-q', term); await nextFrame(page); });
  const withTerm = hosts.filter((h) => searchText(h).includes(term));
  check(await countShown() === want(withTerm), `text "${term}": ${await countShown()}, expected ${withTerm.length}`);
  await page.click('[data-act=reset]');
  check(await countShown() === want(hosts), 'after reset');

  // Open a host far down the list: its findings are built from its data.
  const target = hosts.filter((h) => active(h).length > 2)[Math.floor(hosts.length / 3) % 50] ||
    hosts.find((h) => active(h).length);
  if (target) {
    await page.fill('#f-q', clean(target.name));
    await nextFrame(page);
    const s = Date.now();
    const id = await openHost(page, clean(target.name));
    times.openHostMs = Date.now() - s;
    check(id !== null, 'the host is found by name');
    if (id) {
      const msgs = await page.$$eval(`#${id} li.finding .msg`, (l) => l.map((x) => x.textContent));
      const wantMsgs = target.findings.map((f) => clean(f.message));
      check(msgs.length === wantMsgs.length && wantMsgs.every((m) => msgs.includes(m)),
        `opening a host shows its ${wantMsgs.length} findings (${msgs.length})`);
      const ev = await page.$$eval(`#${id} li.finding pre.evidence`, (l) => l.length);
      check(ev === target.findings.filter((f) => f.evidence).length, 'with their evidence');
    }
    await page.click('[data-act=reset]');
  }
  // A fix-first link opens its host on whatever page it is.
  const risk = await page.$('#top-risks a[href^="#h-"]');
  if (risk) {
    const href = await risk.getAttribute('href');
    await risk.click();
    const open = await page.waitForFunction((h) => {
      const el = document.querySelector(h);
      return el && el.closest('details.host').open && el.getBoundingClientRect().height > 0;
    }, href, { polling: 'raf', timeout: 120000 }).then(() => true, () => false);
    check(open, `link ${href} opens its host and shows the finding`);
  }
  times.elementsAfter = await page.evaluate(() => document.getElementsByTagName('*').length);
  check(errors.length === 0, 'no page error: ' + errors.join('; '));
  check(requests.length === 0, 'no network request: ' + requests.join(' '));
  await close(b);
  check(await noJs(fileUrl, report, null), 'without JavaScript');
  console.log('timings ' + JSON.stringify(times));
  console.log(`${checks} browser checks, ${failures} failed`);
  return failures ? 1 : 0;
}

async function perf(htmlPath) {
  const b = await launch({ viewport: { width: 1280, height: 900 } });
  const page = b.ctx.pages()[0] || await b.ctx.newPage();
  const t0 = Date.now();
  await page.goto('file://' + path.resolve(htmlPath), { waitUntil: 'load', timeout: 300000 });
  const wall = Date.now() - t0;
  const nav = await page.evaluate(() => {
    const n = performance.getEntriesByType('navigation')[0];
    const fp = performance.getEntriesByType('paint').find((p) => p.name === 'first-contentful-paint');
    return { firstContentfulPaintMs: fp ? Math.round(fp.startTime) : null,
      domContentLoadedMs: Math.round(n.domContentLoadedEventEnd), loadMs: Math.round(n.loadEventEnd) };
  });
  // Time from the action to the next painted frame.
  const timed = async (fn, arg) => {
    const s = Date.now();
    await page.evaluate(fn, arg);
    await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
    return Date.now() - s;
  };
  const out = { bytes: fs.statSync(htmlPath).size, wallLoadMs: wall, ...nav };
  out.rowsShown = await page.$$eval('#hostrows > details.host', (r) => r.length);
  out.domElements = await page.evaluate(() => document.getElementsByTagName('*').length);
  out.sortByNameMs = await timed(() => document.querySelector('.thead [data-sort=name]').click());
  out.sortByScoreMs = await timed(() => document.querySelector('.thead [data-sort=score]').click());
  out.filterSeverityMs = await timed(() => {
    const s = document.getElementById('f-sev');
    s.value = 'critical';
    s.dispatchEvent(new Event('change', { bubbles: true }));
  });
  out.filterTextMs = await timed(() => {
    const q = document.getElementById('f-q');
    q.value = 'openssl';
    q.dispatchEvent(new Event('input', { bubbles: true }));
  });
  out.shownAfterFilters = await page.$eval('#f-count', (e) => e.textContent);
  const s = Date.now();
  await page.evaluate(() => { document.querySelector('#hostrows > details.host').open = true; });
  await page.waitForFunction(() => document.querySelector('#hostrows > details.host > .hostbody[data-filled]'));
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
  out.openHostMs = Date.now() - s;
  out.findingsShown = await page.$$eval('li.finding', (r) => r.length);
  out.domElementsAfterOpen = await page.evaluate(() => document.getElementsByTagName('*').length);
  await close(b);
  console.log(JSON.stringify(out));
  return 0;
}

const argv = process.argv.slice(2);
const run = argv[0] === '--perf' ? perf(argv[1]) : argv[0] === '--big' ? big(argv[1], argv[2]) :
  main(argv[0], argv[1], argv[2] || os.tmpdir());
run.then((rc) => process.exit(rc), (e) => { console.error(e); process.exit(1); });
