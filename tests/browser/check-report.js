#!/usr/bin/env node
// Drives a real headless Chromium over a nearmiss HTML report.
//
//   node check-report.js REPORT.html REPORT.json SHOTDIR   the checks below
//   node check-report.js --perf REPORT.html                 load/sort/filter timings (JSON)
//
// Checks: every host row is there; sort by name and by score gives the right
// order (DOM and on screen); filters by severity, category, role and text show
// exactly the hosts they should; a host expands to its findings and evidence;
// in-page links open their target; no network request is made; nothing from
// the report runs as script (alert/confirm/prompt trapped before load, dialog
// events watched, page errors fail the test); print media shows everything
// without controls; without JavaScript every host is listed; no horizontal
// overflow at 390 px; text contrast meets WCAG AA. Screenshots at 1280 and
// 390 px go to SHOTDIR.
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

async function visibleNames(page) {
  return page.$$eval('#hostrows > details.host', (rows) => rows
    .filter((r) => !r.hidden && r.getBoundingClientRect().height > 0)
    .map((r) => r.getAttribute('data-name')));
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

  // Rows: one per host, names as text exactly.
  const rows = await page.$$eval('#hostrows > details.host', (r) => r.map((x) => ({
    name: x.getAttribute('data-name'), shown: x.querySelector('.host-name').textContent })));
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
    const id = await page.$$eval('#hostrows > details.host', (r, n) => r.find((x) => x.getAttribute('data-name') === n).id, clean(critHost.name));
    await page.click(`#${id} > summary`);
    const vis = await page.$$eval(`#${id} li.finding`, (l) => l.filter((x) => x.getBoundingClientRect().height > 0).map((x) => x.getAttribute('data-sev')));
    check(vis.length > 0 && vis.every((s) => s === 'critical'), `only critical findings shown in open host: ${vis}`);
    await page.click(`#${id} > summary`);
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
    const texts = await page.$$eval('#hostrows > details.host',
      (r) => r.map((x) => [!x.hidden, x.getAttribute('data-text').toLowerCase()]));
    const term = clean(target.name).toLowerCase().split(/\s+/).filter(Boolean);
    check(texts.every(([shown, t]) => shown === term.every((w) => t.includes(w))),
      'text filter shows exactly the matching rows');
  }
  await page.fill('#f-q', 'zz-no-such-host-zz');
  await nextFrame(page);
  await expectShown([], 'text with no match');
  await page.click('[data-act=reset]');
  await expectShown(hosts, 'after reset');

  step('expand');
  // Expand a host with findings: findings shown, evidence closed until asked.
  const withFindings = await page.$('#hostrows > details.host:has(li.finding)');
  if (withFindings) {
    await withFindings.scrollIntoViewIfNeeded();
    await withFindings.$eval('summary', (s) => s.click());
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
  check(await page.$$eval('script', (s) => s.length) === 1, 'one script element');
  check(await page.$$eval('img,iframe,object,embed', (s) => s.length) === 0, 'no injected elements');

  step('contrast');
  // Contrast at 1280 with a host open (badges, notes, tables).
  await page.$$eval('#hostrows > details.host', (d) => { if (d[0]) d[0].open = true; });
  const low = await contrastProblems(page);
  check(low.length === 0, 'WCAG AA contrast: ' + low.join(' | '));
  await page.$$eval('#hostrows > details.host', (d) => { if (d[0]) d[0].open = false; });

  step('print');
  // Print: controls gone, closed hosts' content laid out.
  await page.emulateMedia({ media: 'print' });
  check(await page.$eval('#filters', (e) => getComputedStyle(e).display) === 'none', 'print: no filter controls');
  if (hosts.length) {
    const printed = await page.$eval('#hostrows > details.host:not([open]) .hostbody',
      (e) => e.getBoundingClientRect().height > 0);
    check(printed, 'print: closed hosts are expanded');
  }
  // A PDF of every finding of a large fleet runs to thousands of pages.
  if (hosts.length <= 100) await page.pdf({ path: path.join(shotDir, 'report-print.pdf') });
  await page.emulateMedia({ media: 'screen' });

  step('screenshots');
  // Screenshots. Full-page captures do not paint rows that
  // content-visibility:auto skips off screen, so turn it off for them.
  await page.addStyleTag({ content: '.host{content-visibility:visible!important}' });
  await page.screenshot({ path: path.join(shotDir, 'report-1280.png'), fullPage: true });
  await page.setViewportSize({ width: 390, height: 844 });
  await nextFrame(page);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth);
  check(overflow <= 390, `no horizontal scrolling at 390 px (page is ${overflow} px wide)`);
  check(await page.$eval('.thead', (e) => getComputedStyle(e).display) === 'none', '390 px: rows are cards');
  await page.screenshot({ path: path.join(shotDir, 'report-390.png'), fullPage: true });
  await page.$eval('#hosts', (e) => e.scrollIntoView());
  await page.$$eval('#hostrows > details.host', (d) => { if (d[0]) d[0].open = true; });
  await page.screenshot({ path: path.join(shotDir, 'report-390-hosts.png') });
  const low390 = await contrastProblems(page);
  check(low390.length === 0, 'WCAG AA contrast at 390 px: ' + low390.join(' | '));
  await close(b);

  step('nojs');
  // Without JavaScript: everything listed, controls hidden, details still open.
  const nojs = await launch({ viewport: { width: 1280, height: 900 }, javaScriptEnabled: false });
  const p2 = nojs.ctx.pages()[0] || await nojs.ctx.newPage();
  await p2.goto(fileUrl, { waitUntil: 'load' });
  check(await p2.$$eval('#hostrows > details.host', (r) => r.filter((x) => !x.hidden).length) === hosts.length, 'no JS: all hosts listed');
  check(await p2.$eval('#filters', (e) => getComputedStyle(e).display) === 'none', 'no JS: no dead controls');
  check(await p2.$eval('.nojs', (e) => getComputedStyle(e).display) !== 'none', 'no JS: the note says why');
  const first = await p2.$('#hostrows > details.host');
  if (first) {
    await first.$eval('summary', (s) => s.click());
    check(await first.evaluate((d) => d.open), 'no JS: a host still opens');
  }
  await close(nojs);

  console.log(`screenshots: ${shotDir}/report-1280.png report-1280-host.png report-390.png report-390-hosts.png`);
  console.log(`${checks} browser checks, ${failures} failed`);
  return failures ? 1 : 0;
}

async function perf(htmlPath) {
  const b = await launch({ viewport: { width: 1280, height: 900 } });
  const page = b.ctx.pages()[0] || await b.ctx.newPage();
  const t0 = Date.now();
  await page.goto('file://' + path.resolve(htmlPath), { waitUntil: 'load', timeout: 180000 });
  const wall = Date.now() - t0;
  const nav = await page.evaluate(() => {
    const n = performance.getEntriesByType('navigation')[0];
    return { domContentLoadedMs: Math.round(n.domContentLoadedEventEnd), loadMs: Math.round(n.loadEventEnd) };
  });
  // Time from the action to the next painted frame.
  const timed = async (fn, arg) => {
    const s = Date.now();
    await page.evaluate(fn, arg);
    await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
    return Date.now() - s;
  };
  const out = { bytes: fs.statSync(htmlPath).size, wallLoadMs: wall, ...nav };
  out.hosts = await page.$$eval('#hostrows > details.host', (r) => r.length);
  out.findings = await page.$$eval('li.finding', (r) => r.length);
  out.domElements = await page.evaluate(() => document.getElementsByTagName('*').length);
  out.sortByNameMs = await timed(() => document.querySelector('.thead [data-sort=name]').click());
  const s1 = Date.now();
  await waitSorted(page);
  out.sortDomSettledMs = out.sortByNameMs + (Date.now() - s1);
  out.sortByScoreMs = await timed(() => document.querySelector('.thead [data-sort=score]').click());
  await waitSorted(page);
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
  out.shownAfterFilters = (await visibleNames(page)).length;
  out.expandHostMs = await timed(() => { document.querySelector('#hostrows > details.host:not([hidden])').open = true; });
  await close(b);
  console.log(JSON.stringify(out));
  return 0;
}

const argv = process.argv.slice(2);
const run = argv[0] === '--perf' ? perf(argv[1]) : main(argv[0], argv[1], argv[2] || os.tmpdir());
run.then((rc) => process.exit(rc), (e) => { console.error(e); process.exit(1); });
