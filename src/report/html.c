/*
 * The HTML report: one self-contained file (inline CSS and JS, no network),
 * readable without JavaScript, in print, at phone width and at 2 000 hosts.
 *
 * Everything is built with libxml2's HTML tree and serialiser, so every
 * string from a host is escaped by the serialiser and never by hand.  Host
 * data never reaches the <script> or <style> text, which libxml2 writes raw:
 * the script reads what it needs from data-* attributes (escaped like any
 * attribute), and both constant texts are checked for "</" by the tests.
 * The output is ASCII (libxml2 writes other characters as references), so
 * no mail client or file:// viewer can guess its encoding wrong.
 *
 * Scale: each host's findings sit in a closed <details> (browsers skip the
 * layout of closed content), host rows use content-visibility:auto, and the
 * script uses one delegated listener per event type, never one per row.
 *
 * Page layout (docs/report.md): header; overview cards (fleet score, hosts,
 * findings by severity); charts (severity by category, score histogram) with
 * their numbers as tables; "fix first" (the ten findings worth the most
 * points); fleet-level findings; hosts not scanned; waivers; the host table.
 */
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/HTMLtree.h>
#include <libxml/tree.h>

#include "nearmiss/advisory.h"
#include "nearmiss/report_view.h"
#include "nearmiss/model.h"
#include "nearmiss/score.h"
#include "nearmiss/utf8.h"
#include "nearmiss/util.h"
#include "nearmiss/writers.h"
#include "report/write.h"

#define N_SEV        5 /* info..critical, indexed by enum nm_severity */
#define TOP_RISKS    10
#define EVIDENCE_CAP (32 * 1024) /* bytes of evidence shown per finding */
#define GENERIC_CAP  2000        /* bytes of an unknown field shown */

/* ---- constant style and script ------------------------------------------- */

/* Kept as arrays of short lines: ISO C limits the length of one literal. */
static const char *const css_lines[] = {
    ":root{color-scheme:light;--fg:#1f2328;--muted:#57606a;--bg:#f6f8fa;--card:#fff;",
    "--line:#d0d7de;--head:#0f2537;--accent:#0b5cad;--crit:#a11b1b;--high:#b8430a;",
    "--med:#8a5a00;--low:#1d4ed8;--info:#4b5563;--ok:#17692f}",
    "*{box-sizing:border-box}",
    "html{-webkit-text-size-adjust:100%}",
    "body{margin:0;font:15px/1.45 system-ui,-apple-system,\"Segoe UI\",Roboto,\"Helvetica Neue\",",
    "Arial,sans-serif;color:var(--fg);background:var(--bg)}",
    "a{color:var(--accent)}",
    "code,pre,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,\"Liberation Mono\",",
    "monospace;font-size:.86em}",
    "header.top{background:var(--head);color:#fff;padding:14px 24px}",
    "header.top .brand{font-weight:700;letter-spacing:.08em;text-transform:uppercase;",
    "font-size:.75rem;color:#c9d6e3}",
    "header.top h1{margin:2px 0 0;font-size:1.45rem}",
    "header.top .meta{margin:4px 0 0;color:#c9d6e3;font-size:.88rem}",
    "main{max-width:1280px;margin:0 auto;padding:8px 24px 48px}",
    "section{margin:26px 0}",
    "h2{font-size:1.15rem;margin:0 0 10px}",
    "h3{font-size:1rem;margin:16px 0 6px}",
    ".note{color:var(--muted);font-size:.88rem;margin:4px 0}",
    ".cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(230px,1fr));gap:12px}",
    ".card{background:var(--card);border:1px solid var(--line);border-radius:8px;",
    "padding:14px 16px}",
    ".card .label{color:var(--muted);font-size:.78rem;text-transform:uppercase;",
    "letter-spacing:.05em;font-weight:600}",
    ".big{font-size:2.7rem;font-weight:700;line-height:1.05;margin-top:4px}",
    ".big small{font-size:1rem;color:var(--muted);font-weight:400}",
    ".band{font-weight:600}",
    ".stats{list-style:none;margin:6px 0 0;padding:0}",
    ".stats li{display:flex;justify-content:space-between;gap:8px;padding:3px 0;",
    "border-bottom:1px dashed #e3e7eb}",
    ".stats li:last-child{border-bottom:0}",
    ".stats .n{font-weight:700;font-variant-numeric:tabular-nums}",
    ".bystatus{max-width:26rem;margin-bottom:8px}",
    ".sev{display:inline-block;min-width:4.6em;text-align:center;padding:1px 7px;",
    "border-radius:10px;color:#fff;font-size:.75rem;font-weight:700;line-height:1.5;",
    "white-space:nowrap;background:var(--info)}",
    ".sev-critical{background:var(--crit)}.sev-high{background:var(--high)}",
    ".sev-medium{background:var(--med)}.sev-low{background:var(--low)}",
    ".sev-info{background:var(--info)}",
    ".st{display:inline-block;padding:1px 7px;border-radius:4px;font-size:.8rem;",
    "font-weight:600;border:1px solid currentColor;white-space:nowrap}",
    ".st-ok{color:var(--ok)}.st-bad{color:var(--crit)}",
    ".badge{display:inline-block;padding:0 6px;border-radius:4px;font-size:.75rem;",
    "font-weight:600;border:1px solid var(--line);background:#f3f4f6;color:var(--fg)}",
    ".badge-waived{background:#e8f0fe;border-color:#9db7e8;color:#163e7a}",
    ".badge-expired{background:#fff4e5;border-color:#e0a458;color:#7a3e00}",
    ".badge-new{background:#fdecea;border-color:#e3a39c;color:#8a1c12}",
    ".badge-worse{background:#fff4e5;border-color:#e0a458;color:#7a3e00}",
    ".badge-age{background:#f3f4f6;border-color:#c9ced6;color:#374151}",
    ".luck{border-left:4px solid #a11b1b;padding:.4em .8em;background:#fdecea}",
    ".charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(420px,1fr));gap:12px}",
    "figure{margin:0;min-width:0}",
    ".scroll{overflow-x:auto;max-width:100%}",
    "figcaption{font-weight:600;margin-bottom:6px}",
    "svg.chart{width:100%;max-width:440px;height:auto;display:block}",
    "svg.chart text{font:13px system-ui,-apple-system,\"Segoe UI\",Roboto,Arial,sans-serif;",
    "fill:#1f2328}",
    "svg.chart .axis{stroke:#8c959f;stroke-width:1}",
    "table.grid{border-collapse:collapse;width:100%;font-size:.88rem;margin-top:8px}",
    "table.grid th,table.grid td{border-bottom:1px solid var(--line);padding:4px 8px;",
    "text-align:left;vertical-align:top}",
    "table.grid td{overflow-wrap:break-word}",
    "table.grid td:last-child{overflow-wrap:anywhere}",
    "table.grid th{background:#eef1f4;font-weight:600}",
    "table.grid td.num,table.grid th.num{text-align:right;font-variant-numeric:tabular-nums}",
    ".legend{display:flex;flex-wrap:wrap;gap:6px 12px;margin:6px 0 0;padding:0;list-style:none;",
    "font-size:.82rem}",
    ".legend .sw{display:inline-block;width:12px;height:12px;border-radius:2px;",
    "vertical-align:-1px;margin-right:4px}",
    ".risks{margin:0;padding:0;list-style:none;counter-reset:risk}",
    ".risks li{counter-increment:risk;display:grid;grid-template-columns:2rem 5.2rem 1fr auto;",
    "gap:4px 10px;align-items:baseline;background:var(--card);border:1px solid var(--line);",
    "border-radius:6px;padding:8px 10px;margin:0 0 6px}",
    ".risks li::before{content:counter(risk) \".\";font-weight:700;color:var(--muted)}",
    ".risks .what{min-width:0;overflow-wrap:anywhere}",
    ".risks .sev{justify-self:start}",
    ".risks .pts{font-variant-numeric:tabular-nums;color:var(--muted);white-space:nowrap}",
    ".list{margin:0;padding:0;list-style:none}",
    ".list>li{background:var(--card);border:1px solid var(--line);border-radius:6px;",
    "padding:8px 12px;margin:0 0 6px;overflow-wrap:anywhere}",
    ".filters{display:none;flex-wrap:wrap;gap:8px 14px;align-items:end;background:var(--card);",
    "border:1px solid var(--line);border-radius:8px;padding:10px 12px;margin-bottom:8px}",
    ".js .filters{display:flex}",
    ".js .nojs{display:none}",
    ".filters label{display:flex;flex-direction:column;font-size:.78rem;font-weight:600;",
    "color:var(--muted);gap:2px}",
    ".filters input,.filters select,.filters button{font:inherit;font-size:.92rem;",
    "color:var(--fg);padding:5px 8px;border:1px solid #8c959f;border-radius:6px;",
    "background:#fff;min-height:34px}",
    ".filters input{min-width:14rem}",
    ".filters .btns{display:flex;gap:6px}",
    ".filters button{cursor:pointer;background:#f3f4f6}",
    ".filters .count{font-size:.88rem;color:var(--muted);margin-left:auto;align-self:center}",
    "button:focus-visible,input:focus-visible,select:focus-visible,summary:focus-visible,",
    "a:focus-visible{outline:3px solid #1f6feb;outline-offset:1px}",
    ".hosttable{background:var(--card);border:1px solid var(--line);border-radius:8px}",
    ".thead,.host>summary{display:grid;grid-template-columns:1.1rem minmax(9rem,2fr) 10.5rem ",
    "6rem minmax(9rem,2.2fr) minmax(4rem,1fr) minmax(6rem,1.3fr);gap:0 12px;",
    "align-items:center;padding:8px 12px}",
    ".thead{font-weight:600;font-size:.85rem;background:#eef1f4;border-bottom:1px solid ",
    "var(--line);border-radius:8px 8px 0 0;position:sticky;top:0;z-index:2}",
    ".thead button{font:inherit;background:none;border:0;padding:0;color:var(--accent);",
    "cursor:pointer;text-decoration:underline;text-align:left}",
    ".thead button[data-dir=desc]::after{content:\" \\25BC\";text-decoration:none}",
    ".thead button[data-dir=asc]::after{content:\" \\25B2\"}",
    ".host{border-bottom:1px solid var(--line);content-visibility:auto;",
    "contain-intrinsic-size:auto 46px}",
    "#hostrows{display:flex;flex-direction:column}",
    ".host[hidden]{display:none}",
    ".host>summary{cursor:pointer;list-style:none}",
    ".host>summary::-webkit-details-marker{display:none}",
    ".host>summary::before{content:\"\\25B6\";font-size:.7rem;color:var(--muted);",
    "transition:transform .12s}",
    ".host[open]>summary::before{transform:rotate(90deg)}",
    ".host>summary:hover{background:#f6f8fa}",
    ".host[open]>summary{background:#eef4fb}",
    ".c-name{min-width:0;overflow-wrap:anywhere}",
    ".host-name{font-weight:600}",
    ".addr{display:block;color:var(--muted);font-size:.8rem}",
    ".c-find{display:flex;flex-wrap:wrap;gap:4px}",
    ".c-roles,.c-os{font-size:.86rem;overflow-wrap:anywhere}",
    ".none{color:var(--muted);font-size:.86rem}",
    ".lbl{display:none;color:var(--muted);font-size:.78rem;margin-right:4px}",
    ".score{font-weight:700;font-variant-numeric:tabular-nums;display:inline-block;",
    "min-width:2.2em}",
    ".meter{display:inline-block;width:3rem;height:6px;background:#e3e7eb;border-radius:3px;",
    "vertical-align:middle;overflow:hidden}",
    ".meter span{display:block;height:100%;background:var(--crit)}",
    ".hostbody{padding:4px 16px 16px 36px;border-top:1px solid #e3e7eb}",
    ".facts{display:grid;grid-template-columns:repeat(auto-fill,minmax(16rem,1fr));",
    "gap:6px 18px;margin:10px 0;font-size:.88rem}",
    ".facts dt{color:var(--muted);font-weight:600;font-size:.76rem;text-transform:uppercase;",
    "letter-spacing:.04em}",
    ".facts dd{margin:0;overflow-wrap:anywhere}",
    ".err{border-left:4px solid var(--crit);background:#fdf0f0;padding:6px 10px;",
    "overflow-wrap:anywhere}",
    ".findings{list-style:none;margin:0;padding:0}",
    ".finding{border:1px solid var(--line);border-left:5px solid var(--info);border-radius:4px;",
    "padding:8px 12px;margin:8px 0;background:#fbfcfd}",
    ".finding[data-sev=critical]{border-left-color:var(--crit)}",
    ".finding[data-sev=high]{border-left-color:var(--high)}",
    ".finding[data-sev=medium]{border-left-color:var(--med)}",
    ".finding[data-sev=low]{border-left-color:var(--low)}",
    ".finding.waived{opacity:.85;border-style:dashed}",
    ".fhead{display:flex;flex-wrap:wrap;gap:6px;align-items:center}",
    ".fhead code{overflow-wrap:anywhere;background:#eef1f4;padding:0 4px;border-radius:3px}",
    ".fhead .pts{margin-left:auto;color:var(--muted);font-size:.82rem;white-space:nowrap}",
    ".msg{margin:6px 0 4px;font-weight:600;overflow-wrap:anywhere}",
    ".fix{margin:4px 0;overflow-wrap:anywhere}",
    ".waiver{margin:4px 0;font-size:.86rem;overflow-wrap:anywhere}",
    "details.more>summary{cursor:pointer;color:var(--accent);font-size:.86rem}",
    "pre{white-space:pre-wrap;overflow-wrap:anywhere;background:#f3f4f6;",
    "border:1px solid #e3e7eb;padding:8px;border-radius:4px;max-height:24em;overflow:auto;",
    "margin:6px 0}",
    "pre.kv{background:#fff;color:#3b434b}",
    ".empty{padding:14px;color:var(--muted)}",
    /* Severity filter, applied to the findings inside open hosts by CSS
     * alone (the script only sets data-fsev / data-fcat on the list). */
    "#hostlist[data-fsev=\"4\"] .finding:not([data-sevn=\"4\"]),",
    "#hostlist[data-fsev=\"3\"] .finding:not([data-sevn=\"4\"]):not([data-sevn=\"3\"]),",
    "#hostlist[data-fsev=\"2\"] .finding:is([data-sevn=\"1\"],[data-sevn=\"0\"],[data-sevn=\"\"]),",
    "#hostlist[data-fsev=\"1\"] .finding:is([data-sevn=\"0\"],[data-sevn=\"\"]),",
    "#hostlist[data-fcat=patch] .finding:not([data-cat=patch]),",
    "#hostlist[data-fcat=reboot] .finding:not([data-cat=reboot]),",
    "#hostlist[data-fcat=cert] .finding:not([data-cat=cert]),",
    "#hostlist[data-fcat=disk] .finding:not([data-cat=disk]),",
    "#hostlist[data-fcat=smart] .finding:not([data-cat=smart]),",
    "#hostlist[data-fcat=spof] .finding:not([data-cat=spof]),",
    "#hostlist[data-fcat=health] .finding:not([data-cat=health]){display:none}",
    /* The verdict and the fix-first list come first: above the fold. */
    "#verdict{margin:14px 0 0}",
    ".verdict{font-size:1.12rem;line-height:1.4;margin:0 0 8px;overflow-wrap:anywhere}",
    ".sevcounts{display:flex;flex-wrap:wrap;gap:6px 14px;list-style:none;margin:0;padding:0;",
    "font-size:.9rem}",
    ".sevcounts li{display:flex;align-items:center;gap:5px}",
    ".sevcounts .n{font-weight:700;font-variant-numeric:tabular-nums}",
    "#top-risks{margin:16px 0 22px}",
    "#top-risks .note{margin:0 0 6px}",
    ".fix code,.msg code{background:#eef1f4;padding:0 3px;border-radius:3px;",
    "overflow-wrap:anywhere}",
    ".links{margin:4px 0;font-size:.86rem;overflow-wrap:anywhere}",
    "@media (max-width:900px){",
    "main{padding:4px 12px 32px}header.top{padding:12px}",
    ".charts{grid-template-columns:1fr}",
    ".thead{display:none}",
    ".host>summary{grid-template-columns:1rem 1fr auto;grid-template-areas:",
    "\"m n sc\" \"m st st\" \"m f f\" \"m r r\" \"m o o\";gap:4px 8px}",
    ".host>summary::before{grid-area:m;align-self:start;margin-top:4px}",
    ".c-name{grid-area:n}.c-status{grid-area:st}.c-score{grid-area:sc}.c-find{grid-area:f}",
    ".c-roles{grid-area:r}.c-os{grid-area:o}",
    ".lbl{display:inline}",
    ".meter{display:none}",
    ".hostbody{padding:4px 10px 12px}",
    "table.grid th,table.grid td{padding:3px 3px;font-size:.76rem}",
    "table.stack thead{display:none}",
    "table.stack,table.stack tbody,table.stack tr,table.stack td{display:block;width:100%}",
    "table.stack tr{border-bottom:1px solid var(--line);padding:6px 0}",
    "table.stack td{border:0;padding:1px 0}",
    "table.stack td:first-child{font-weight:600;font-size:.9rem}",
    ".filters input{min-width:0;width:100%}",
    ".filters label{flex:1 1 40%;min-width:0}",
    ".filters label:first-child{flex-basis:100%}",
    ".filters select{width:100%}",
    ".facts{grid-template-columns:repeat(auto-fill,minmax(9.5rem,1fr))}",
    ".filters .count{margin-left:0}",
    ".risks li{grid-template-columns:1.6rem 1fr;}",
    ".risks li .pts,.risks li .what{grid-column:2}",
    ".verdict{font-size:1rem}",
    "}",
    /* Dark: the same page with the palette turned; severity colours keep
     * their white text, which holds its contrast on both. */
    "@media (prefers-color-scheme:dark){",
    ":root{color-scheme:dark;--fg:#e6edf3;--muted:#a3adb8;--bg:#0d1117;--card:#161b22;",
    "--line:#3d444d;--head:#010409;--accent:#6cb6ff;--ok:#56d364}",
    ".stats li{border-bottom-color:#30363d}",
    ".st-bad{color:#ff8e86}",
    ".badge{background:#21262d;color:var(--fg)}",
    ".badge-waived{background:#132a4d;border-color:#3b5f99;color:#c6dbff}",
    ".badge-expired,.badge-worse{background:#3d2a0b;border-color:#8a6318;color:#ffd79a}",
    ".badge-new{background:#4a1717;border-color:#9c4040;color:#ffc9c3}",
    ".badge-age{background:#21262d;border-color:#3d444d;color:#c9d1d9}",
    ".luck{background:#3a1616}",
    "svg.chart text{fill:#e6edf3}",
    "table.grid th,.thead{background:#1c2129}",
    ".filters input,.filters select,.filters button{background:#0d1117;border-color:#6e7681}",
    ".filters button{background:#21262d}",
    ".host>summary:hover{background:#1c2129}",
    ".host[open]>summary{background:#172232}",
    ".meter{background:#30363d}",
    ".hostbody{border-top-color:#30363d}",
    ".err{background:#3a1616}",
    ".finding{background:#11161d}",
    ".fhead code,.fix code,.msg code{background:#262c36}",
    "pre{background:#161b22;border-color:#30363d}",
    "pre.kv{background:#0d1117;color:#c9d1d9}",
    "}",
    "@media print{",
    "body{background:#fff;font-size:11pt}",
    "header.top{background:#fff;color:#000;border-bottom:2px solid #000;padding:0 0 6px}",
    "header.top .brand,header.top .meta{color:#333}",
    "main{max-width:none;padding:0}",
    ".filters,.nojs,.thead button::after{display:none!important}",
    ".thead{position:static}",
    ".host[hidden]{display:block!important}",
    ".host{content-visibility:visible;break-inside:avoid-page}",
    /* Hidden, not removed: the chevron holds the first grid cell. A
     * portrait page is narrower than 900 px, so rows print as cards. */
    ".host>summary::before{visibility:hidden}",
    ".meter{display:none}",
    "pre{max-height:none;overflow:visible}",
    ".card,.finding,.risks li,.list>li{break-inside:avoid}",
    "*{-webkit-print-color-adjust:exact;print-color-adjust:exact}",
    /* Paper: the verdict and the fix-first list on the first page, the
     * charts left out (their numbers are in the JSON), every host as its
     * findings' one-line summaries; facts, checks, evidence and the score
     * breakdown stay in the file. */
    ":root{color-scheme:light;--fg:#000;--muted:#333;--bg:#fff;--card:#fff;--line:#999}",
    "body{font-size:9.5pt;line-height:1.3}",
    "section{margin:10px 0}",
    "#charts,#overview .note,.hostbody>:not(.findings):not(.err),.finding details.more,",
    ".finding .fix,.finding .waiver,.finding .links,.finding .pts,.fhead .badge-age{display:none!important}",
    ".risks li{padding:2px 6px;margin:0 0 2px;border-radius:0}",
    ".cards{grid-template-columns:repeat(3,1fr);gap:6px}",
    ".card{padding:6px 8px}.big{font-size:1.5rem}",
    ".host{break-inside:auto;border-bottom:1px solid #999}",
    ".host>summary{display:flex;flex-wrap:wrap;align-items:baseline;padding:2px 4px;gap:0 10px}",
    ".host>summary::before{display:none}",
    ".host>summary .lbl,.c-status .st-ok{display:none}",
    ".c-name .addr{display:inline;margin-left:6px}",
    ".c-roles,.c-os{font-size:.8rem;color:var(--muted)}",
    ".fhead>.badge,.fhead>code.subject{display:none!important}",
    ".finding .sev{min-width:0;font-size:.65rem;padding:0 4px}",
    ".hostbody{padding:0 4px 4px 20px;border:0}",
    ".findings{margin:0}",
    ".finding{margin:1px 0;padding:1px 6px;border-width:0 0 0 3px;border-radius:0;break-inside:avoid}",
    ".finding .fhead{display:inline-flex;margin-right:6px}",
    ".finding .msg{display:inline;margin:0;font-weight:400}",
    ".list>li{padding:3px 8px;margin:0 0 3px}",
    "h2{font-size:1.05rem;margin:0 0 4px}h3{margin:6px 0 2px}",
    "#hosts{break-before:page}",
    "}",
    NULL,
};

/* Printing opens every <details>; also where the script does not run. */
static const char *const css_print_details[] = {
    "@media print{details::details-content{content-visibility:visible!important;",
    "display:block!important}}",
    NULL,
};

/*
 * The script: sorting, filtering, opening the target of in-page links, and
 * opening everything for print.  It must never contain the two characters
 * that end a script element, and reads host data only from data-* attributes.
 */
static const char *const js_lines[] = {
    "(function () {",
    "\"use strict\";",
    "var d = document;",
    "d.documentElement.classList.add(\"js\");",
    "var box = d.getElementById(\"hostlist\"), list = d.getElementById(\"hostrows\");",
    "var SEV = {info: 0, low: 1, medium: 2, high: 3, critical: 4};",
    "function sevOf(s) { return Object.prototype.hasOwnProperty.call(SEV, s) ? SEV[s] : -1; }",
    "var rows = list ? Array.prototype.slice.call(list.children) : [];",
    "var coll = new Intl.Collator(undefined, {numeric: true, sensitivity: \"base\"});",
    "rows.forEach(function (r) {",
    "  var s = r.getAttribute(\"data-score\");",
    "  r.nmScore = s === null || s === \"\" ? -1 : Number(s);",
    "  r.nmName = r.getAttribute(\"data-name\") || \"\";",
    "  r.nmStatus = r.getAttribute(\"data-status\") || \"\";",
    "  r.nmText = (r.getAttribute(\"data-text\") || \"\").toLowerCase();",
    "  r.nmRoles = (r.getAttribute(\"data-roles\") || \"\").split(\"\\n\");",
    "  r.nmPairs = (r.getAttribute(\"data-sc\") || \"\").split(\"\\n\").filter(Boolean)",
    "    .map(function (p) {",
    "      var t = p.split(\"\\t\");",
    "      return {s: sevOf(t[0]), c: t[1] || \"\"};",
    "    });",
    "});",
    "var q = d.getElementById(\"f-q\"), fsev = d.getElementById(\"f-sev\");",
    "var fcat = d.getElementById(\"f-cat\"), frole = d.getElementById(\"f-role\");",
    "var fsort = d.getElementById(\"f-sort\"), count = d.getElementById(\"f-count\");",
    "var empty = d.getElementById(\"f-empty\");",
    "var key = \"score\", dir = -1;",
    "function cmp(a, b) {",
    "  var c = 0;",
    "  if (key === \"score\") {",
    /* Unscanned hosts (no score) stay last both ways: unknown is not safe. */
    "    if ((a.nmScore < 0) !== (b.nmScore < 0)) return a.nmScore < 0 ? 1 : -1;",
    "    c = a.nmScore - b.nmScore;",
    "  }",
    "  else if (key === \"status\") c = ((a.nmStatus === \"ok\") - (b.nmStatus === \"ok\")) ||",
    "    coll.compare(a.nmStatus, b.nmStatus);",
    "  else c = coll.compare(a.nmName, b.nmName);",
    "  return c * dir || coll.compare(a.nmName, b.nmName);",
    "}",
    "function mark() {",
    "  var bs = d.querySelectorAll(\"[data-sort]\");",
    "  for (var i = 0; i < bs.length; i++) {",
    "    var on = bs[i].getAttribute(\"data-sort\") === key;",
    "    var word = dir < 0 ? \"descending\" : \"ascending\";",
    "    bs[i].parentNode.setAttribute(\"aria-sort\", on ? word : \"none\");",
    "    bs[i].setAttribute(\"data-dir\", on ? (dir < 0 ? \"desc\" : \"asc\") : \"\");",
    "  }",
    "  if (fsort) fsort.value = key + \":\" + (dir < 0 ? \"desc\" : \"asc\");",
    "}",
    /* Moving 2 000 large rows at once blocks the page for seconds; CSS order
     * shows the new order at once, and the DOM follows in small steps so
     * keyboard and screen-reader order catch up (data-sort-state says when). */
    "var gen = 0;",
    "function sortBy(k, dr) {",
    "  key = k; dir = dr;",
    "  var sorted = rows.slice().sort(cmp), my = ++gen, at = 0;",
    "  for (var i = 0; i < sorted.length; i++) sorted[i].style.order = i;",
    "  mark();",
    "  box.setAttribute(\"data-sort-state\", \"moving\");",
    "  function step() {",
    "    if (my !== gen) return;",
    "    var end = Math.min(at + 20, sorted.length);",
    "    for (; at < end; at++) list.appendChild(sorted[at]);",
    "    if (at < sorted.length) setTimeout(step, 0);",
    "    else box.setAttribute(\"data-sort-state\", \"done\");",
    "  }",
    "  setTimeout(step, 0);",
    "}",
    "function apply() {",
    "  if (!q) return;",
    "  var terms = q.value.toLowerCase().split(/\\s+/).filter(Boolean);",
    "  var ms = sevOf(fsev.value), c = fcat.value, ro = frole.value, shown = 0;",
    "  for (var i = 0; i < rows.length; i++) {",
    "    var r = rows[i], ok = true, j;",
    "    for (j = 0; ok && j < terms.length; j++) ok = r.nmText.indexOf(terms[j]) >= 0;",
    "    if (ok && (ms >= 0 || c)) {",
    "      ok = false;",
    "      for (j = 0; !ok && j < r.nmPairs.length; j++)",
    "        ok = r.nmPairs[j].s >= ms && (!c || r.nmPairs[j].c === c);",
    "    }",
    "    if (ok && ro) ok = r.nmRoles.indexOf(ro) >= 0;",
    "    if (r.hidden === ok) r.hidden = !ok;",
    "    if (ok) shown++;",
    "  }",
    "  box.setAttribute(\"data-fsev\", ms >= 0 ? String(ms) : \"\");",
    "  box.setAttribute(\"data-fcat\", c);",
    "  count.textContent = shown === rows.length ? \"all \" + rows.length + \" hosts shown\" :",
    "    shown + \" of \" + rows.length + \" hosts shown\";",
    "  empty.hidden = shown !== 0;",
    "}",
    "function reset() {",
    "  if (!q) return;",
    "  q.value = \"\"; fsev.value = \"\"; fcat.value = \"\"; frole.value = \"\"; apply();",
    "}",
    "function reveal(id) {",
    "  var el = d.getElementById(id);",
    "  if (!el) return null;",
    "  var host = el.closest(\"details.host\");",
    "  if (host && host.hidden) reset();",
    "  for (var p = el; p; p = p.parentElement) if (p.tagName === \"DETAILS\") p.open = true;",
    /* A host far off screen is skipped (content-visibility:auto): its
     * content has no layout, so the browser's scroll to a fragment and
     * scrollIntoView both see the target at 0,0 and stay where they are. */
    "  if (host) host.style.contentVisibility = \"visible\";",
    "  return el;",
    "}",
    "var pending = 0;",
    "function schedule() {",
    "  if (!pending) pending = requestAnimationFrame(function () { pending = 0; apply(); });",
    "}",
    "d.addEventListener(\"input\", function (e) { if (e.target === q) schedule(); });",
    "d.addEventListener(\"change\", function (e) {",
    "  var t = e.target;",
    "  if (t === fsort) { var v = t.value.split(\":\"); sortBy(v[0], v[1] === \"asc\" ? 1 : -1); }",
    "  else if (t === fsev || t === fcat || t === frole) apply();",
    "});",
    "d.addEventListener(\"click\", function (e) {",
    "  var t = e.target;",
    "  if (!t || !t.closest) return;",
    "  var b = t.closest(\"[data-sort]\");",
    "  if (b) {",
    "    var k = b.getAttribute(\"data-sort\");",
    "    sortBy(k, k === key ? -dir : (k === \"score\" ? -1 : 1));",
    "    return;",
    "  }",
    "  var act = t.closest(\"[data-act]\");",
    "  if (act) {",
    "    var a = act.getAttribute(\"data-act\");",
    "    rows.forEach(function (r) {",
    "      if (a === \"expand\" && !r.hidden) r.open = true;",
    "      if (a === \"collapse\") r.open = false;",
    "    });",
    "    if (a === \"reset\") reset();",
    "    return;",
    "  }",
    "  var l = t.closest(\"a[href]\");",
    "  var h = l ? l.getAttribute(\"href\") : \"\";",
    "  var el = h.charAt(0) === \"#\" ? reveal(h.slice(1)) : null;",
    /* Scroll here, after reveal() made the target's host laid out, rather
     * than leave it to the browser's fragment scroll. */
    "  if (el) {",
    "    e.preventDefault();",
    "    if (location.hash !== h) history.pushState(null, \"\", h);",
    "    el.scrollIntoView();",
    "  }",
    "});",
    "var reopened = [];",
    "window.addEventListener(\"beforeprint\", function () {",
    "  var all = d.querySelectorAll(\"details:not([open])\");",
    "  for (var i = 0; i < all.length; i++) { all[i].open = true; reopened.push(all[i]); }",
    "});",
    "window.addEventListener(\"afterprint\", function () {",
    "  reopened.forEach(function (x) { x.open = false; });",
    "  reopened = [];",
    "});",
    "mark();",
    "apply();",
    "if (location.hash.length > 1) {",
    "  var target = null;",
    "  try { target = reveal(decodeURIComponent(location.hash.slice(1))); } catch (err) {}",
    "  if (target) target.scrollIntoView();",
    "}",
    "})();",
    NULL,
};

static char *join_lines(const char *const *lines, const char *sep)
{
    struct nm_buf b;
    nm_buf_init(&b, SIZE_MAX);
    for (size_t i = 0; lines[i]; i++) {
        nm_buf_appends(&b, lines[i]);
        nm_buf_appends(&b, sep);
    }
    return nm_buf_steal(&b, NULL);
}

/* ---- the report, digested ------------------------------------------------ */

struct hinfo {
    const json_t *h;
    char *name; /* cleaned */
    bool ok;    /* status "ok" */
    bool has_score;
    double score;
    int crit_rank;     /* 0 low, 1 medium (default), 2 high, 3 critical */
    int counts[N_SEV]; /* findings not waived, per severity */
    size_t n_findings, n_waived;
    double *points; /* per finding, from score_breakdown */
};

struct catinfo {
    char *name; /* cleaned */
    int counts[N_SEV];
};

/* A "fix first" candidate: a host finding, or a fleet finding (host -1). */
struct risk {
    long host;
    size_t finding;
    double points;
    int sev, crit;
    char *key; /* one fix: check, then advisory or subject */
};

#define FIX_HOSTS_SHOWN 3

/* One entry of the "fix first" list: the same fix on every host it is on. */
struct fix {
    struct risk first; /* the one worth most */
    size_t n_hosts;
    long hosts[FIX_HOSTS_SHOWN];
    size_t findings[FIX_HOSTS_SHOWN];
};

struct ctx {
    const json_t *report;
    struct hinfo *hosts;
    size_t n_hosts;
    size_t *order; /* host indices: score descending, unknown last, then name */
    struct catinfo *cats;
    size_t n_cats;
    char **roles;
    size_t n_roles;
    struct risk *risks; /* every candidate */
    size_t n_risks;
    struct fix top[TOP_RISKS];
    size_t n_top;
    int sev_total[N_SEV];
    size_t n_waived, n_scanned;
};

static const char *const known_cats[] = {"patch", "reboot", "cert",  "disk",
                                         "smart", "spof",   "health"};
#define N_KNOWN_CATS (sizeof known_cats / sizeof known_cats[0])

static const char *str(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

static const char *sev_title(int s)
{
    static const char *const t[N_SEV] = {"Info", "Low", "Medium", "High", "Critical"};
    return s >= 0 && s < N_SEV ? t[s] : "Unknown";
}

static const char *cat_title(const char *c)
{
    static const char *const t[N_KNOWN_CATS] = {
        "Patches",        "Pending reboot",           "Certificates", "Filesystems",
        "Drives (SMART)", "Single points of failure", "Health"};
    for (size_t i = 0; c && i < N_KNOWN_CATS; i++)
        if (strcmp(c, known_cats[i]) == 0)
            return t[i];
    return c ? c : "(none)";
}

static const char *status_title(const char *s)
{
    static const char *const names[][2] = {
        {"ok", "scanned"},
        {"unreachable", "unreachable"},
        {"timeout", "timed out"},
        {"auth_failed", "authentication failed"},
        {"hostkey_unknown", "unknown host key"},
        {"hostkey_mismatch", "host key changed"},
        {"error", "error"},
    };
    for (size_t i = 0; s && i < sizeof names / sizeof names[0]; i++)
        if (strcmp(s, names[i][0]) == 0)
            return names[i][1];
    return s ? s : "unknown";
}

static int crit_rank(const char *c)
{
    if (!c)
        return 1;
    if (strcmp(c, "low") == 0)
        return 0;
    if (strcmp(c, "high") == 0)
        return 2;
    if (strcmp(c, "critical") == 0)
        return 3;
    return 1;
}

/* Bands of docs/scoring.md: one critical finding on an ordinary host is
 * 20, several highs reach 5..20. */
static const char *band_title(bool known, double score)
{
    if (!known)
        return "unknown";
    if (score <= 0)
        return "no known risk";
    if (score < 5)
        return "low";
    if (score < 20)
        return "elevated";
    if (score < 50)
        return "high";
    return "critical";
}

static size_t cat_index(struct ctx *c, const json_t *v)
{
    char *name = nm_utf8_clean_json(v);
    if (!name)
        name = nm_xstrdup("(none)");
    for (size_t i = 0; i < c->n_cats; i++) {
        if (strcmp(c->cats[i].name, name) == 0) {
            free(name);
            return i;
        }
    }
    c->cats = nm_xreallocarray(c->cats, c->n_cats + 1, sizeof *c->cats);
    c->cats[c->n_cats] = (struct catinfo){.name = name};
    return c->n_cats++;
}

static void add_role(struct ctx *c, const json_t *v)
{
    char *name = nm_utf8_clean_json(v);
    if (!name)
        return;
    for (size_t i = 0; i < c->n_roles; i++) {
        if (strcmp(c->roles[i], name) == 0) {
            free(name);
            return;
        }
    }
    c->roles = nm_xreallocarray(c->roles, c->n_roles + 1, sizeof *c->roles);
    c->roles[c->n_roles++] = name;
}

struct bd {
    const char *fp;
    double points;
};

static int cmp_bd(const void *a, const void *b)
{
    return strcmp(((const struct bd *)a)->fp, ((const struct bd *)b)->fp);
}

/* Points per finding, matched through the fingerprint. */
static void host_points(struct hinfo *hi)
{
    const json_t *bdj = json_object_get(hi->h, "score_breakdown");
    size_t n = 0, i;
    const json_t *e;
    struct bd *bd = nm_xcalloc(json_array_size(bdj) + 1, sizeof *bd);
    json_array_foreach (bdj, i, e) {
        const char *fp = str(e, "fingerprint");
        /* "worth" (the drop in the host's score); reports written before
         * it existed carry "points". */
        const json_t *w = json_object_get(e, "worth");
        if (!json_is_number(w))
            w = json_object_get(e, "points");
        if (fp && json_is_number(w))
            bd[n++] = (struct bd){fp, json_number_value(w)};
    }
    if (n > 1)
        qsort(bd, n, sizeof *bd, cmp_bd);
    hi->points = nm_xcalloc(hi->n_findings + 1, sizeof *hi->points);
    json_array_foreach (json_object_get(hi->h, "findings"), i, e) {
        const char *fp = str(e, "fingerprint");
        if (!fp || n == 0)
            continue;
        struct bd key = {fp, 0};
        const struct bd *m = bsearch(&key, bd, n, sizeof *bd, cmp_bd);
        if (m)
            hi->points[i] = m->points;
    }
    free(bd);
}

/* Orders risks: most points, then severity, then host criticality; a
 * fleet finding before a host's on a tie. */
static int cmp_risk(const void *pa, const void *pb)
{
    const struct risk *a = pa, *b = pb;
    if (a->points != b->points)
        return a->points > b->points ? -1 : 1;
    if (a->sev != b->sev)
        return a->sev > b->sev ? -1 : 1;
    if (a->crit != b->crit)
        return a->crit > b->crit ? -1 : 1;
    if (a->host != b->host)
        return a->host < b->host ? -1 : 1;
    return a->finding < b->finding ? -1 : a->finding > b->finding;
}

/* The fix a finding asks for: one advisory on many hosts (or for many
 * packages, in reports written before findings were grouped) is one fix. */
static char *risk_key(const json_t *f, bool fleet)
{
    const json_t *item = json_object_get(f, "item");
    const char *adv = str(item, "advisory");
    const char *what = adv ? adv : str(f, "subject");
    return nm_xasprintf("%s\n%s\n%s", fleet ? "fleet" : "host",
                        str(f, "check") ? str(f, "check") : "", what ? what : "");
}

static void add_risk(struct ctx *c, struct risk r)
{
    c->risks = nm_xreallocarray(c->risks, c->n_risks + 1, sizeof *c->risks);
    c->risks[c->n_risks++] = r;
}

/* The ten fixes worth most, each with the hosts it is on. */
static void pick_top(struct ctx *c)
{
    if (c->n_risks == 0)
        return; /* qsort must not see the NULL of an empty list */
    qsort(c->risks, c->n_risks, sizeof *c->risks, cmp_risk);
    for (size_t i = 0; i < c->n_risks; i++) {
        const struct risk *r = &c->risks[i];
        struct fix *fx = NULL;
        for (size_t k = 0; k < c->n_top && !fx; k++)
            if (strcmp(c->top[k].first.key, r->key) == 0)
                fx = &c->top[k];
        if (!fx) {
            if (c->n_top == TOP_RISKS)
                continue;
            fx = &c->top[c->n_top++];
            *fx = (struct fix){.first = *r};
        }
        if (fx->n_hosts < FIX_HOSTS_SHOWN) {
            /* The same host twice (two packages of one advisory): once. */
            bool have = false;
            for (size_t k = 0; k < fx->n_hosts && k < FIX_HOSTS_SHOWN; k++)
                have = have || fx->hosts[k] == r->host;
            if (have)
                continue;
            fx->hosts[fx->n_hosts] = r->host;
            fx->findings[fx->n_hosts] = r->finding;
        } else {
            bool have = false;
            for (size_t k = 0; k < FIX_HOSTS_SHOWN; k++)
                have = have || fx->hosts[k] == r->host;
            if (have)
                continue;
        }
        fx->n_hosts++;
    }
}

/* Sort keys carry what the comparison needs: qsort has no context pointer
 * in C17, and the writer keeps no global state. */
struct order_key {
    size_t index;
    bool has_score;
    double score;
    const char *name;
};

static int cmp_order(const void *a, const void *b)
{
    const struct order_key *x = a, *y = b;
    if (x->has_score != y->has_score)
        return x->has_score ? -1 : 1;
    if (x->has_score && x->score != y->score)
        return x->score > y->score ? -1 : 1;
    int n = strcmp(x->name, y->name);
    return n ? n : (x->index < y->index ? -1 : x->index > y->index);
}

/* What fixing a fleet finding is worth, in the points a host finding's
 * worth is given in: its own chance of an outage (summary.
 * fleet_score_breakdown), since the fleet's score, the chance that anything
 * in the fleet strikes, is near 100 in any sizeable fleet and barely moves
 * for one fix. */
static double fleet_points(const json_t *report, const json_t *f)
{
    const char *fp = str(f, "fingerprint");
    size_t i;
    const json_t *e;
    json_array_foreach (
        json_object_get(json_object_get(report, "summary"), "fleet_score_breakdown"), i, e) {
        const char *efp = str(e, "fingerprint");
        if (!fp || !efp || strcmp(fp, efp) != 0)
            continue;
        const json_t *l = json_object_get(e, "likelihood");
        if (json_is_number(l))
            return round(1000 * json_number_value(l)) / 10;
        if (json_is_number(json_object_get(e, "worth")))
            return json_number_value(json_object_get(e, "worth"));
    }
    return 0;
}

static void ctx_init(struct ctx *c, const json_t *report)
{
    memset(c, 0, sizeof *c);
    c->report = report;
    for (size_t i = 0; i < N_KNOWN_CATS; i++) {
        json_t *k = json_string(known_cats[i]);
        cat_index(c, k);
        json_decref(k);
    }
    const json_t *hosts = json_object_get(report, "hosts");
    c->n_hosts = json_array_size(hosts);
    c->hosts = nm_xcalloc(c->n_hosts + 1, sizeof *c->hosts);
    c->order = nm_xcalloc(c->n_hosts + 1, sizeof *c->order);
    size_t i, j;
    const json_t *h, *f;
    json_array_foreach (hosts, i, h) {
        struct hinfo *hi = &c->hosts[i];
        hi->h = h;
        hi->name = nm_utf8_clean_json(json_object_get(h, "name"));
        if (!hi->name)
            hi->name = nm_xasprintf("(host %zu)", i + 1);
        hi->ok = nm_view_host_ok(h);
        c->n_scanned += hi->ok;
        const json_t *sc = json_object_get(h, "score");
        hi->has_score = json_is_number(sc);
        hi->score = hi->has_score ? json_number_value(sc) : 0;
        hi->crit_rank = crit_rank(str(h, "criticality"));
        hi->n_findings = json_array_size(json_object_get(h, "findings"));
        host_points(hi);
        json_array_foreach (json_object_get(h, "roles"), j, f)
            add_role(c, f);
        json_array_foreach (json_object_get(h, "findings"), j, f) {
            int s = nm_view_severity(f);
            if (!nm_view_active(f)) {
                hi->n_waived++;
                c->n_waived++;
                continue;
            }
            size_t ci = cat_index(c, json_object_get(f, "category"));
            if (s >= 0) {
                hi->counts[s]++;
                c->sev_total[s]++;
                c->cats[ci].counts[s]++;
            }
            if (s >= NM_SEV_LOW || hi->points[j] > 0)
                add_risk(c, (struct risk){(long)i, j, hi->points[j], s, hi->crit_rank,
                                          risk_key(f, false)});
        }
    }
    json_array_foreach (json_object_get(report, "fleet_findings"), i, f) {
        int s = nm_view_severity(f);
        size_t ci = cat_index(c, json_object_get(f, "category"));
        if (s >= 0) {
            c->sev_total[s]++;
            c->cats[ci].counts[s]++;
        }
        if (s >= NM_SEV_LOW && nm_view_active(f))
            add_risk(c, (struct risk){-1, i, fleet_points(report, f), s, 4, risk_key(f, true)});
    }
    pick_top(c);
    struct order_key *keys = nm_xcalloc(c->n_hosts + 1, sizeof *keys);
    for (i = 0; i < c->n_hosts; i++)
        keys[i] = (struct order_key){i, c->hosts[i].has_score, c->hosts[i].score, c->hosts[i].name};
    qsort(keys, c->n_hosts, sizeof *keys, cmp_order);
    for (i = 0; i < c->n_hosts; i++)
        c->order[i] = keys[i].index;
    free(keys);
}

static void ctx_finish(struct ctx *c)
{
    for (size_t i = 0; i < c->n_hosts; i++) {
        free(c->hosts[i].name);
        free(c->hosts[i].points);
    }
    free(c->hosts);
    free(c->order);
    for (size_t i = 0; i < c->n_cats; i++)
        free(c->cats[i].name);
    free(c->cats);
    for (size_t i = 0; i < c->n_roles; i++)
        free(c->roles[i]);
    free(c->roles);
    for (size_t i = 0; i < c->n_risks; i++)
        free(c->risks[i].key);
    free(c->risks);
}

/* ---- tree helpers: every text and attribute goes through the cleaner ---- */

static xmlNodePtr el(xmlNodePtr parent, const char *tag, const char *cls)
{
    xmlNodePtr n = xmlNewChild(parent, NULL, BAD_CAST tag, NULL);
    if (cls)
        xmlNewProp(n, BAD_CAST "class", BAD_CAST cls);
    return n;
}

static void text_n(xmlNodePtr n, const char *s, size_t len)
{
    char *c = nm_utf8_clean(s, len);
    xmlAddChild(n, xmlNewText(BAD_CAST c));
    free(c);
}

static void text(xmlNodePtr n, const char *s)
{
    if (s)
        text_n(n, s, strlen(s));
}

static void textf(xmlNodePtr n, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void textf(xmlNodePtr n, const char *fmt, ...)
{
    va_list ap;
    char small[256];
    va_start(ap, fmt);
    int len = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (len < 0)
        return;
    if ((size_t)len < sizeof small) {
        text_n(n, small, (size_t)len);
        return;
    }
    char *big = nm_xmalloc((size_t)len + 1);
    va_start(ap, fmt);
    vsnprintf(big, (size_t)len + 1, fmt, ap);
    va_end(ap);
    text_n(n, big, (size_t)len);
    free(big);
}

static xmlNodePtr el_text(xmlNodePtr parent, const char *tag, const char *cls, const char *s)
{
    xmlNodePtr n = el(parent, tag, cls);
    text(n, s);
    return n;
}

static void attr(xmlNodePtr n, const char *name, const char *value)
{
    char *c = nm_utf8_clean(value ? value : "", value ? strlen(value) : 0);
    xmlSetProp(n, BAD_CAST name, BAD_CAST c);
    free(c);
}

static void attr_n(xmlNodePtr n, const char *name, const char *value, size_t len)
{
    char *c = nm_utf8_clean(value, len);
    xmlSetProp(n, BAD_CAST name, BAD_CAST c);
    free(c);
}

static void attrf(xmlNodePtr n, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void attrf(xmlNodePtr n, const char *name, const char *fmt, ...)
{
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    attr(n, name, buf);
}

/* Appends a JSON value as text: strings as they are (up to cap bytes, cut on
 * a character boundary), numbers plainly, anything else as compact JSON. */
static void buf_value(struct nm_buf *b, const json_t *v, size_t cap)
{
    if (json_is_string(v)) {
        size_t len = json_string_length(v);
        const char *s = json_string_value(v);
        if (len > cap) {
            len = cap;
            while (len > 0 && ((unsigned char)s[len] & 0xc0) == 0x80)
                len--;
        }
        nm_buf_append(b, s, len);
        if (len < json_string_length(v))
            nm_buf_appendf(b, "\n[... %zu more bytes in the JSON report]",
                           json_string_length(v) - len);
        return;
    }
    if (json_is_integer(v)) {
        nm_buf_appendf(b, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return;
    }
    if (json_is_real(v)) {
        nm_buf_appendf(b, "%g", json_real_value(v));
        return;
    }
    char *t = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    if (t) {
        size_t len = strlen(t);
        nm_buf_append(b, t, len > cap ? cap : len);
        if (len > cap)
            nm_buf_appends(b, " ...");
        free(t);
    }
}

static void text_value(xmlNodePtr n, const json_t *v, size_t cap)
{
    struct nm_buf b;
    nm_buf_init(&b, SIZE_MAX);
    buf_value(&b, v, cap);
    text_n(n, b.data ? b.data : "", b.len);
    nm_buf_finish(&b);
}

/* Remediation text as Markdown writes code: `...` spans become <code>
 * elements (nodes, so their text is escaped like any other); an unpaired
 * backtick stays a backtick. Nothing else of Markdown is read. */
static void text_md(xmlNodePtr n, const json_t *v, size_t cap)
{
    if (!json_is_string(v)) {
        text_value(n, v, cap);
        return;
    }
    struct nm_buf b;
    nm_buf_init(&b, SIZE_MAX);
    buf_value(&b, v, cap);
    const char *p = b.data ? b.data : "", *end = p + b.len;
    while (p < end) {
        const char *open = memchr(p, '`', (size_t)(end - p));
        const char *close = open ? memchr(open + 1, '`', (size_t)(end - open - 1)) : NULL;
        if (!open || !close) {
            text_n(n, p, (size_t)(end - p));
            break;
        }
        if (open > p)
            text_n(n, p, (size_t)(open - p));
        if (close > open + 1)
            text_n(el(n, "code", NULL), open + 1, (size_t)(close - open - 1));
        p = close + 1;
    }
    nm_buf_finish(&b);
}

/* https only, and only characters a URL needs: a report is input too, and
 * a link into it must not become script (javascript:) or leave its quote. */
static bool url_safe(const char *u)
{
    if (!u || strncmp(u, "https://", 8) != 0 || strlen(u) > 512)
        return false;
    for (const char *p = u; *p; p++)
        if (!strchr(
                "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~:/?#@!$&+,;=%",
                *p))
            return false;
    return true;
}

/* The finding's advisories and CVEs (their URL rebuilt from the id here,
 * never taken from the report) and its check's documentation. */
static void finding_links(xmlNodePtr parent, const json_t *f)
{
    const json_t *links = json_object_get(f, "links");
    xmlNodePtr p = NULL;
    size_t i, n = 0;
    const json_t *l;
    json_array_foreach (links, i, l) {
        const char *rel = str(l, "rel"), *id = str(l, "id"), *u = str(l, "url");
        char url[256];
        const char *href = NULL;
        if (rel && strcmp(rel, "check") == 0)
            href = url_safe(u) ? u : NULL;
        else if (id && nm_advisory_url(id, url, sizeof url))
            href = url;
        if (!href || n == 12)
            continue;
        if (!p) {
            p = el(parent, "p", "links");
            el_text(p, "strong", NULL, "See: ");
        } else {
            text(p, " \xc2\xb7 ");
        }
        xmlNodePtr a = el(p, "a", NULL);
        attr(a, "href", href);
        attr(a, "rel", "noreferrer");
        if (rel && strcmp(rel, "check") == 0)
            textf(a, "about %s", id ? id : "this check");
        else
            text(a, id);
        n++;
    }
}

/* A table in a box that scrolls sideways: a wide table never widens the page. */
static xmlNodePtr grid_table(xmlNodePtr parent)
{
    return el(el(parent, "div", "scroll"), "table", "grid");
}

/* A table of long texts whose rows become blocks on a phone. */
static xmlNodePtr stack_table(xmlNodePtr parent)
{
    return el(el(parent, "div", "scroll"), "table", "grid stack");
}

static xmlNodePtr sev_badge(xmlNodePtr parent, int s)
{
    char cls[32];
    snprintf(cls, sizeof cls, "sev sev-%s", s >= 0 ? nm_severity_name(s) : "unknown");
    return el_text(parent, "span", cls, sev_title(s));
}

static void status_badge(xmlNodePtr parent, const char *status)
{
    bool ok = nm_host_status_from_name(status) == NM_HOST_OK;
    el_text(parent, "span", ok ? "st st-ok" : "st st-bad", status_title(status));
}

static void host_link(xmlNodePtr parent, const struct ctx *c, size_t host, long finding)
{
    xmlNodePtr a = el(parent, "a", NULL);
    if (finding >= 0)
        attrf(a, "href", "#h-%zu-f-%ld", host, finding);
    else
        attrf(a, "href", "#h-%zu", host);
    text(a, c->hosts[host].name);
}

static long find_host(const struct ctx *c, const json_t *name)
{
    const char *s = json_string_value(name);
    if (!s)
        return -1;
    for (size_t i = 0; i < c->n_hosts; i++) {
        const char *n = str(c->hosts[i].h, "name");
        if (n && strcmp(n, s) == 0)
            return (long)i;
    }
    return -1;
}

static void format_points(char *out, size_t size, double p)
{
    /* Points are multiples of 0.5 in practice; %g drops a trailing ".0". */
    snprintf(out, size, "%.6g", round(p * 10) / 10);
}

/* ---- sections -------------------------------------------------------------- */

static void build_head(xmlNodePtr html, const struct ctx *c)
{
    xmlNodePtr head = el(html, "head", NULL);
    xmlNodePtr m = el(head, "meta", NULL);
    attr(m, "charset", "utf-8");
    m = el(head, "meta", NULL);
    attr(m, "name", "viewport");
    attr(m, "content", "width=device-width, initial-scale=1");
    m = el(head, "meta", NULL);
    attr(m, "name", "color-scheme");
    attr(m, "content", "light dark");
    m = el(head, "meta", NULL);
    attr(m, "name", "generator");
    attr(m, "content", str(c->report, "tool") ? str(c->report, "tool") : "nearmiss");
    xmlNodePtr t = el(head, "title", NULL);
    textf(t, "nearmiss report %s",
          str(c->report, "started_at") ? str(c->report, "started_at") : "");
    /* Style text is ours and constant: libxml2 writes it raw. */
    char *css = join_lines(css_lines, "\n");
    char *css2 = join_lines(css_print_details, "\n");
    xmlNodePtr st = el(head, "style", NULL);
    xmlAddChild(st, xmlNewText(BAD_CAST css));
    st = el(head, "style", NULL);
    xmlAddChild(st, xmlNewText(BAD_CAST css2));
    free(css);
    free(css2);
}

static void build_header(xmlNodePtr body, const struct ctx *c)
{
    xmlNodePtr h = el(body, "header", "top");
    el_text(h, "div", "brand", "nearmiss");
    el_text(h, "h1", NULL, "Fleet maintenance report");
    xmlNodePtr p = el(h, "p", "meta");
    const char *s = str(c->report, "started_at"), *f = str(c->report, "finished_at");
    char when[64];
    int64_t t0, t1;
    /* "2026-11-24T02:00:00Z" reads better as "2026-11-24 02:00:00 UTC". */
    if (nm_utc_parse(s, &t0) == 0) {
        snprintf(when, sizeof when, "%.10s %.8s UTC", s, s + 11);
        textf(p, "Scan of %s", when);
        if (nm_utc_parse(f, &t1) == 0 && t1 >= t0)
            textf(p, ", took %lld min %02lld s", (long long)((t1 - t0) / 60),
                  (long long)((t1 - t0) % 60));
    } else {
        textf(p, "Scan started %s", s ? s : "(unknown time)");
    }
    textf(p, " \xc2\xb7 %zu hosts", c->n_hosts);
    if (str(c->report, "tool"))
        textf(p, " \xc2\xb7 %s", str(c->report, "tool"));
    if (str(c->report, "schema"))
        textf(p, " \xc2\xb7 schema %s", str(c->report, "schema"));
}

static void build_overview(xmlNodePtr main, const struct ctx *c)
{
    xmlNodePtr sec = el(main, "section", "cards");
    attr(sec, "id", "overview");
    attr(sec, "aria-label", "Overview");

    const json_t *fs = json_object_get(json_object_get(c->report, "summary"), "fleet_score");
    bool known = json_is_number(fs);
    double score = known ? json_number_value(fs) : 0;
    xmlNodePtr card = el(sec, "div", "card");
    attr(card, "id", "fleet-score");
    el_text(card, "div", "label", "Fleet risk score");
    xmlNodePtr big = el(card, "div", "big");
    if (known) {
        textf(big, "%.1f", score);
        el_text(big, "small", NULL, " / 100");
    } else {
        text(big, "unknown");
    }
    xmlNodePtr band = el(card, "div", "band");
    textf(band, "Risk: %s", band_title(known, score));
    el_text(card, "p", "note",
            "The chance, in percent, that something in the fleet causes an outage within 30 "
            "days: every scanned host and fleet-level finding counts; 0 = nothing found.");

    card = el(sec, "div", "card");
    el_text(card, "div", "label", "Hosts");
    big = el(card, "div", "big");
    textf(big, "%zu", c->n_hosts);
    xmlNodePtr ul = el(card, "ul", "stats");
    xmlNodePtr li = el(ul, "li", NULL);
    el_text(li, "span", NULL, "scanned");
    el_text(li, "span", "n", NULL);
    textf(li->last, "%zu", c->n_scanned);
    li = el(ul, "li", NULL);
    xmlNodePtr a = el_text(li, "a", NULL, "could not be scanned");
    attr(a, "href", "#unscanned");
    el_text(li, "span", "n", NULL);
    textf(li->last, "%zu", c->n_hosts - c->n_scanned);
    if (c->n_waived) {
        li = el(ul, "li", NULL);
        el_text(li, "span", NULL, "waived findings");
        el_text(li, "span", "n", NULL);
        textf(li->last, "%zu", c->n_waived);
    }

    card = el(sec, "div", "card");
    attr(card, "id", "severity-counts");
    el_text(card, "div", "label", "Findings by severity");
    ul = el(card, "ul", "stats");
    for (int s = NM_SEV_CRITICAL; s >= NM_SEV_INFO; s--) {
        li = el(ul, "li", NULL);
        attr(li, "data-sev", nm_severity_name(s));
        sev_badge(li, s);
        el_text(li, "span", "n", NULL);
        textf(li->last, "%d", c->sev_total[s]);
    }
}

static const char *const sev_fill[N_SEV] = {"#4b5563", "#1d4ed8", "#8a5a00", "#b8430a", "#a11b1b"};

static xmlNodePtr svg_el(xmlNodePtr parent, const char *tag)
{
    return xmlNewChild(parent, NULL, BAD_CAST tag, NULL);
}

static xmlNodePtr svg_rect(xmlNodePtr parent, double x, double y, double w, double h,
                           const char *fill)
{
    xmlNodePtr r = svg_el(parent, "rect");
    attrf(r, "x", "%.1f", x);
    attrf(r, "y", "%.1f", y);
    attrf(r, "width", "%.1f", w);
    attrf(r, "height", "%.1f", h);
    attr(r, "fill", fill);
    return r;
}

static xmlNodePtr svg_text(xmlNodePtr parent, double x, double y, const char *anchor, const char *s)
{
    xmlNodePtr t = svg_el(parent, "text");
    attrf(t, "x", "%.1f", x);
    attrf(t, "y", "%.1f", y);
    if (anchor)
        attr(t, "text-anchor", anchor);
    text(t, s);
    return t;
}

static void legend(xmlNodePtr parent)
{
    xmlNodePtr ul = el(parent, "ul", "legend");
    attr(ul, "aria-hidden", "true");
    for (int s = NM_SEV_CRITICAL; s >= NM_SEV_INFO; s--) {
        xmlNodePtr li = el(ul, "li", NULL);
        xmlNodePtr sw = el(li, "span", "sw");
        attrf(sw, "style", "background:%s", sev_fill[s]);
        text(li, sev_title(s));
    }
}

/* Stacked bars: one row per category (its name above the bar, so the chart
 * stays legible when a phone scales it down), one segment per severity,
 * the total beside each bar and every number in the table under it (never
 * colour alone). */
static void chart_categories(xmlNodePtr parent, const struct ctx *c)
{
    xmlNodePtr fig = el(parent, "figure", "card");
    attr(fig, "id", "chart-categories");
    el_text(fig, "figcaption", NULL, "Findings by category and severity");
    const double bar_w = 340, row_h = 40, top = 4;
    double width = bar_w + 50, height = top + row_h * (double)c->n_cats;
    int max = 1;
    for (size_t i = 0; i < c->n_cats; i++) {
        int t = 0;
        for (int s = 0; s < N_SEV; s++)
            t += c->cats[i].counts[s];
        max = t > max ? t : max;
    }
    xmlNodePtr svg = svg_el(fig, "svg");
    attr(svg, "class", "chart");
    attr(svg, "xmlns", "http://www.w3.org/2000/svg");
    attrf(svg, "viewBox", "0 0 %.0f %.0f", width, height);
    attr(svg, "role", "img");
    attr(svg, "aria-label",
         "Stacked bar chart of findings per category, split by severity; "
         "the same numbers are in the table below.");
    for (size_t i = 0; i < c->n_cats; i++) {
        double y = top + row_h * (double)i;
        svg_text(svg, 0, y + 13, NULL, cat_title(c->cats[i].name));
        svg_rect(svg, 0, y + 18, bar_w, 14, "#eef1f4");
        double x = 0;
        int total = 0;
        for (int s = NM_SEV_CRITICAL; s >= NM_SEV_INFO; s--) {
            int n = c->cats[i].counts[s];
            if (n <= 0)
                continue;
            double w = bar_w * n / max;
            if (w < 2)
                w = 2;
            xmlNodePtr r = svg_rect(svg, x, y + 18, w, 14, sev_fill[s]);
            xmlNodePtr tt = svg_el(r, "title");
            textf(tt, "%s: %d %s", cat_title(c->cats[i].name), n, sev_title(s));
            x += w;
            total += n;
        }
        char n[32];
        snprintf(n, sizeof n, "%d", total);
        svg_text(svg, bar_w + 8, y + 30, NULL, n);
    }
    legend(fig);

    xmlNodePtr tbl = grid_table(fig);
    attr(tbl, "id", "category-counts");
    xmlNodePtr tr = el(el(tbl, "thead", NULL), "tr", NULL);
    el_text(tr, "th", NULL, "Category");
    for (int s = NM_SEV_CRITICAL; s >= NM_SEV_INFO; s--)
        el_text(tr, "th", "num", sev_title(s));
    el_text(tr, "th", "num", "Total");
    xmlNodePtr tb = el(tbl, "tbody", NULL);
    for (size_t i = 0; i < c->n_cats; i++) {
        tr = el(tb, "tr", NULL);
        attr(tr, "data-cat", c->cats[i].name);
        el_text(tr, "th", NULL, cat_title(c->cats[i].name));
        int t = 0;
        for (int s = NM_SEV_CRITICAL; s >= NM_SEV_INFO; s--) {
            xmlNodePtr td = el(tr, "td", "num");
            textf(td, "%d", c->cats[i].counts[s]);
            t += c->cats[i].counts[s];
        }
        textf(el(tr, "td", "num"), "%d", t);
    }
}

/* Histogram of host scores in bands of ten, and the unscanned hosts as
 * "unknown" (a host that could not be looked at is not a host at 0). */
static void chart_scores(xmlNodePtr parent, const struct ctx *c)
{
    static const char *const band_fill[10] = {"#1a7f37", "#4b8a17", "#6f8c00", "#8a7f00",
                                              "#9c6b00", "#b05a00", "#b8430a", "#b3301a",
                                              "#a11b1b", "#7d1414"};
    size_t bands[11] = {0};
    for (size_t i = 0; i < c->n_hosts; i++) {
        const struct hinfo *h = &c->hosts[i];
        if (!h->has_score) {
            bands[10]++;
            continue;
        }
        long s = h->score < 0 ? 0 : (long)h->score;
        bands[s >= 90 ? 9 : s / 10]++;
    }
    size_t max = 1;
    for (int i = 0; i < 11; i++)
        max = bands[i] > max ? bands[i] : max;

    xmlNodePtr fig = el(parent, "figure", "card");
    attr(fig, "id", "chart-scores");
    el_text(fig, "figcaption", NULL, "Hosts by risk score");
    const double left = 12, slot = 34, bar = 28, top = 20, plot_h = 140;
    double width = left + slot * 10 + 90, height = top + plot_h + 40;
    xmlNodePtr svg = svg_el(fig, "svg");
    attr(svg, "class", "chart");
    attr(svg, "xmlns", "http://www.w3.org/2000/svg");
    attrf(svg, "viewBox", "0 0 %.0f %.0f", width, height);
    attr(svg, "role", "img");
    attr(svg, "aria-label",
         "Histogram of host risk scores in bands of ten, with hosts that "
         "could not be scanned as unknown; the numbers are in the table below.");
    xmlNodePtr defs = svg_el(svg, "defs");
    xmlNodePtr pat = svg_el(defs, "pattern");
    attr(pat, "id", "hatch");
    attr(pat, "width", "6");
    attr(pat, "height", "6");
    attr(pat, "patternUnits", "userSpaceOnUse");
    attr(pat, "patternTransform", "rotate(45)");
    svg_rect(pat, 0, 0, 6, 6, "#d0d7de");
    svg_rect(pat, 0, 0, 2, 6, "#6e7781");
    for (int i = 0; i < 11; i++) {
        /* The "unknown" bar stands apart, after a gap, with a wider label. */
        double x = i == 10 ? left + slot * 10 + 52 - bar / 2 : left + slot * i + (slot - bar) / 2;
        double h = plot_h * (double)bands[i] / (double)max;
        if (bands[i] > 0 && h < 2)
            h = 2;
        double y = top + plot_h - h;
        char label[32], n[32];
        if (i == 10)
            snprintf(label, sizeof label, "unknown");
        else if (i == 9)
            snprintf(label, sizeof label,
                     "90\xe2\x80\x93"
                     "100");
        else
            snprintf(label, sizeof label, "%d\xe2\x80\x93%d", i * 10, i * 10 + 9);
        snprintf(n, sizeof n, "%zu", bands[i]);
        xmlNodePtr r = svg_rect(svg, x, y, bar, h, i == 10 ? "url(#hatch)" : band_fill[i]);
        xmlNodePtr tt = svg_el(r, "title");
        textf(tt, "score %s: %zu host%s", label, bands[i], bands[i] == 1 ? "" : "s");
        svg_text(svg, x + bar / 2, y - 5, "middle", n);
        if (i == 10)
            svg_text(svg, x + bar / 2, top + plot_h + 16, "middle", "unknown");
    }
    /* Band boundaries as ticks (0, 10 ... 100): short labels that fit. */
    for (int i = 0; i <= 10; i++) {
        char tick[8];
        snprintf(tick, sizeof tick, "%d", i * 10);
        svg_text(svg, left + slot * i, top + plot_h + 16, "middle", tick);
    }
    xmlNodePtr ax = svg_el(svg, "line");
    attr(ax, "class", "axis");
    attrf(ax, "x1", "%.0f", left);
    attrf(ax, "x2", "%.0f", left + slot * 10);
    attrf(ax, "y1", "%.0f", top + plot_h);
    attrf(ax, "y2", "%.0f", top + plot_h);
    svg_text(svg, left + slot * 5, height - 4, "middle", "risk score, in bands of ten");

    xmlNodePtr tbl = grid_table(fig);
    attr(tbl, "id", "score-bands");
    xmlNodePtr tr = el(el(tbl, "thead", NULL), "tr", NULL);
    el_text(tr, "th", NULL, "Score");
    el_text(tr, "th", "num", "Hosts");
    xmlNodePtr tb = el(tbl, "tbody", NULL);
    /* The table lists only bands with hosts, highest first: short to read. */
    for (int i = 10; i >= 0; i--) {
        if (bands[i] == 0)
            continue;
        tr = el(tb, "tr", NULL);
        if (i == 10)
            el_text(tr, "td", NULL, "unknown (not scanned)");
        else if (i == 9)
            textf(el(tr, "td", NULL), "90\xe2\x80\x93"
                                      "100");
        else
            textf(el(tr, "td", NULL), "%d\xe2\x80\x93%d", i * 10, i * 10 + 9);
        textf(el(tr, "td", "num"), "%zu", bands[i]);
    }
}

#define TIMELINE_HOSTS 10

static json_int_t start_of(const struct ctx *c, size_t host)
{
    return json_integer_value(
        json_object_get(json_object_get(c->hosts[host].h, "scan"), "start_ms"));
}

/* When the slowest hosts were scanned, on one time axis from the scan's
 * start: the concurrency the fleet saw (--jobs, --max-per).  Absent when no
 * host carries scan.start_ms/end_ms (reports of older versions). */
static void chart_timeline(xmlNodePtr parent, const struct ctx *c)
{
    size_t pick[TIMELINE_HOSTS];
    double dur[TIMELINE_HOSTS];
    size_t n = 0;
    double max_end = 1;
    for (size_t i = 0; i < c->n_hosts; i++) {
        const json_t *sc = json_object_get(c->hosts[i].h, "scan");
        const json_t *st = json_object_get(sc, "start_ms"), *en = json_object_get(sc, "end_ms");
        if (!json_is_integer(st) || !json_is_integer(en) || json_integer_value(st) < 0 ||
            json_integer_value(en) < json_integer_value(st))
            continue;
        double d = (double)(json_integer_value(en) - json_integer_value(st));
        if ((double)json_integer_value(en) > max_end)
            max_end = (double)json_integer_value(en);
        /* Keep the slowest, longest first; ties in inventory order. */
        size_t k = n < TIMELINE_HOSTS ? n++ : TIMELINE_HOSTS;
        while (k > 0 && dur[k - 1] < d) {
            if (k < TIMELINE_HOSTS) {
                pick[k] = pick[k - 1];
                dur[k] = dur[k - 1];
            }
            k--;
        }
        if (k < TIMELINE_HOSTS) {
            pick[k] = i;
            dur[k] = d;
        }
    }
    if (n == 0)
        return;
    /* Drawn in the order they started, as a timeline reads. */
    for (size_t i = 1; i < n; i++)
        for (size_t k = i; k > 0 && start_of(c, pick[k]) < start_of(c, pick[k - 1]); k--) {
            size_t tp = pick[k];
            double td = dur[k];
            pick[k] = pick[k - 1];
            dur[k] = dur[k - 1];
            pick[k - 1] = tp;
            dur[k - 1] = td;
        }
    xmlNodePtr fig = el(parent, "figure", "card");
    attr(fig, "id", "timeline");
    char cap[96];
    snprintf(cap, sizeof cap, "Scan timeline: the %zu slowest host%s", n, n == 1 ? "" : "s");
    el_text(fig, "figcaption", NULL, cap);
    const double label_w = 130, bar_w = 260, row_h = 20, top = 4;
    xmlNodePtr svg = svg_el(fig, "svg");
    attr(svg, "class", "chart");
    attr(svg, "xmlns", "http://www.w3.org/2000/svg");
    attrf(svg, "viewBox", "0 0 %.0f %.0f", label_w + bar_w + 10, top + row_h * (double)n + 20);
    attr(svg, "role", "img");
    attr(svg, "aria-label",
         "When each of the slowest hosts was scanned, from the scan's start; each host's "
         "start and end are in its details (Scan).");
    for (size_t r = 0; r < n; r++) {
        const struct hinfo *hi = &c->hosts[pick[r]];
        const json_t *sc = json_object_get(hi->h, "scan");
        double st = (double)json_integer_value(json_object_get(sc, "start_ms"));
        double y = top + row_h * (double)r;
        char name[40];
        snprintf(name, sizeof name, "%.28s%s", hi->name,
                 strlen(hi->name) > 28 ? "\xe2\x80\xa6" : "");
        svg_text(svg, 0, y + 13, NULL, name);
        double w = bar_w * dur[r] / max_end;
        xmlNodePtr bar =
            svg_rect(svg, label_w + bar_w * st / max_end, y + 3, w < 2 ? 2 : w, 12, "#1d4ed8");
        attr(bar, "class", "tl-bar");
        textf(svg_el(bar, "title"), "%s: from +%.1f s to +%.1f s (%.1f s)", hi->name, st / 1000,
              (st + dur[r]) / 1000, dur[r] / 1000);
    }
    double y = top + row_h * (double)n;
    xmlNodePtr axis = svg_el(svg, "line");
    attr(axis, "class", "axis");
    attrf(axis, "x1", "%.1f", label_w);
    attrf(axis, "x2", "%.1f", label_w + bar_w);
    attrf(axis, "y1", "%.1f", y + 2);
    attrf(axis, "y2", "%.1f", y + 2);
    svg_text(svg, label_w, y + 16, NULL, "0 s");
    char end[400];
    snprintf(end, sizeof end, "%.1f s", max_end / 1000);
    svg_text(svg, label_w + bar_w, y + 16, "end", end);
}

static void build_charts(xmlNodePtr main, const struct ctx *c)
{
    xmlNodePtr sec = el(main, "section", "charts");
    attr(sec, "id", "charts");
    attr(sec, "aria-label", "Charts");
    chart_categories(sec, c);
    chart_scores(sec, c);
    chart_timeline(sec, c);
}

/* Above the fold: the fleet in one sentence, its findings by severity. */
static void build_verdict(xmlNodePtr main, const struct ctx *c)
{
    xmlNodePtr sec = el(main, "section", NULL);
    attr(sec, "id", "verdict");
    attr(sec, "aria-label", "Verdict");
    const json_t *fs = json_object_get(json_object_get(c->report, "summary"), "fleet_score");
    bool known = json_is_number(fs);
    double score = known ? json_number_value(fs) : 0;
    xmlNodePtr p = el(sec, "p", "verdict");
    size_t failed = c->n_hosts - c->n_scanned;
    if (!known) {
        textf(p, "Fleet risk unknown: none of the %zu hosts could be scanned.", c->n_hosts);
    } else {
        int worst = -1;
        for (int s = NM_SEV_CRITICAL; s >= NM_SEV_LOW && worst < 0; s--)
            if (c->sev_total[s])
                worst = s;
        el_text(p, "span", "band", NULL);
        textf(p->last, "Fleet risk %.1f / 100 (%s)", score, band_title(true, score));
        if (worst < 0)
            textf(p, ": nothing to fix on the %zu scanned hosts", c->n_scanned);
        else if (worst >= NM_SEV_HIGH && c->sev_total[NM_SEV_CRITICAL] && c->sev_total[NM_SEV_HIGH])
            textf(p, ": %d critical and %d high findings on %zu scanned hosts",
                  c->sev_total[NM_SEV_CRITICAL], c->sev_total[NM_SEV_HIGH], c->n_scanned);
        else
            textf(p, ": %d %s finding%s at worst on %zu scanned hosts", c->sev_total[worst],
                  nm_severity_name(worst), c->sev_total[worst] == 1 ? "" : "s", c->n_scanned);
        if (failed)
            textf(p, "; %zu of %zu hosts could not be scanned", failed, c->n_hosts);
        if (c->n_top)
            text(p, "; fix the list below first.");
        else
            text(p, ".");
    }
    xmlNodePtr ul = el(sec, "ul", "sevcounts");
    attr(ul, "aria-label", "Findings by severity");
    for (int s = NM_SEV_CRITICAL; s >= NM_SEV_INFO; s--) {
        xmlNodePtr li = el(ul, "li", NULL);
        attr(li, "data-sev", nm_severity_name(s));
        sev_badge(li, s);
        textf(el(li, "span", "n"), "%d", c->sev_total[s]);
    }
    if (failed) {
        xmlNodePtr li = el(ul, "li", NULL);
        xmlNodePtr a = el(li, "a", NULL);
        attr(a, "href", "#unscanned");
        textf(a, "%zu not scanned", failed);
    }
}

static void build_top_risks(xmlNodePtr main, const struct ctx *c)
{
    xmlNodePtr sec = el(main, "section", NULL);
    attr(sec, "id", "top-risks");
    el_text(sec, "h2", NULL, "Fix first");
    if (c->n_top == 0) {
        el_text(sec, "p", "note", "Nothing to fix: no finding of low severity or above.");
        return;
    }
    el_text(sec, "p", "note",
            "The fixes that lower risk the most: for a host's finding the drop in its host's "
            "score, for a fleet-wide finding its own chance of an outage; one fix on several "
            "hosts is one line.");
    xmlNodePtr ol = el(sec, "ol", "risks");
    const json_t *ff = json_object_get(c->report, "fleet_findings");
    for (size_t i = 0; i < c->n_top; i++) {
        const struct fix *fx = &c->top[i];
        const struct risk *r = &fx->first;
        bool fleet = r->host < 0;
        const json_t *f =
            fleet ? json_array_get(ff, r->finding)
                  : json_array_get(json_object_get(c->hosts[r->host].h, "findings"), r->finding);
        xmlNodePtr li = el(ol, "li", NULL);
        if (!fleet)
            attr(li, "data-host", c->hosts[r->host].name);
        else
            attr(li, "data-fleet", "");
        sev_badge(li, r->sev);
        xmlNodePtr what = el(li, "span", "what");
        if (fleet) {
            xmlNodePtr a = el_text(what, "a", NULL, "fleet");
            attrf(a, "href", "#fleet-%zu", r->finding);
        } else {
            for (size_t k = 0; k < fx->n_hosts && k < FIX_HOSTS_SHOWN; k++) {
                if (k)
                    text(what, ", ");
                host_link(what, c, (size_t)fx->hosts[k], (long)fx->findings[k]);
            }
            if (fx->n_hosts > FIX_HOSTS_SHOWN)
                textf(what, " and %zu more hosts", fx->n_hosts - FIX_HOSTS_SHOWN);
        }
        text(what, ": ");
        text_value(what, json_object_get(f, "message"), GENERIC_CAP);
        char pts[32];
        format_points(pts, sizeof pts, r->points);
        xmlNodePtr p = el(li, "span", "pts");
        textf(p, "\xe2\x88\x92%s \xc2\xb7 %s", pts, cat_title(str(f, "category")));
    }
}

/* ---- history: what changed, and the ledger ------------------------------ */

#define CHANGE_CAP 50 /* items per list before "and N more" */

static void change_item(xmlNodePtr ul, const struct ctx *c, const char *host, const json_t *f,
                        const char *note)
{
    xmlNodePtr li = el(ul, "li", NULL);
    sev_badge(li, nm_view_severity(f));
    xmlNodePtr what = el(li, "span", "what");
    long hi = host ? find_host(c, json_object_get(f, "_host")) : -1;
    if (host && hi >= 0)
        host_link(what, c, (size_t)hi, -1);
    else
        text(what, host ? host : "fleet");
    text(what, ": ");
    const json_t *msg = json_object_get(f, "message");
    text_value(what, json_is_string(msg) ? msg : json_object_get(f, "subject"), GENERIC_CAP);
    if (note)
        el_text(li, "span", "pts", note);
}

static void change_list(xmlNodePtr sec, const char *title, const char *id, json_t *items,
                        const struct ctx *c)
{
    xmlNodePtr h3 = el(sec, "h3", NULL);
    textf(h3, "%s (%zu)", title, json_array_size(items));
    if (json_array_size(items) == 0) {
        el_text(sec, "p", "note", "None.");
        return;
    }
    xmlNodePtr ul = el(sec, "ul", "risks");
    attr(ul, "id", id);
    size_t i;
    json_t *f;
    json_array_foreach (items, i, f) {
        if (i == CHANGE_CAP) {
            textf(el(ul, "li", "note"), "and %zu more (the JSON report lists them all)",
                  json_array_size(items) - CHANGE_CAP);
            break;
        }
        change_item(ul, c, str(f, "_host"), f, str(f, "_note"));
    }
}

static int cmp_sev_desc(const void *a, const void *b)
{
    return nm_view_severity(*(json_t *const *)b) - nm_view_severity(*(json_t *const *)a);
}

static void sort_by_sev(json_t *arr)
{
    size_t n = json_array_size(arr);
    if (n < 2)
        return;
    json_t **v = nm_xcalloc(n, sizeof *v);
    for (size_t i = 0; i < n; i++)
        v[i] = json_incref(json_array_get(arr, i));
    qsort(v, n, sizeof *v, cmp_sev_desc);
    json_array_clear(arr);
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, v[i]);
    free(v);
}

/* Near the top: what a reader of yesterday's report needs to see first. */
static void build_changes(xmlNodePtr main, const struct ctx *c)
{
    const json_t *hist = json_object_get(c->report, "history");
    if (!json_is_object(hist))
        return; /* a report from a run without history */
    xmlNodePtr sec = el(main, "section", NULL);
    attr(sec, "id", "changes");
    const char *prev = str(hist, "previous_run");
    if (!prev) {
        el_text(sec, "h2", NULL, "What changed");
        el_text(sec, "p", "note",
                "First run in this report directory: every finding is new. The next run "
                "shows what changed since this one.");
        return;
    }
    textf(el(sec, "h2", NULL), "What changed since %s", prev);
    json_t *news = json_array(), *worse = json_array(), *gone = json_array();
    size_t i, j;
    json_t *h, *f;
    json_array_foreach (json_object_get(c->report, "hosts"), i, h) {
        json_array_foreach (json_object_get(h, "findings"), j, f) {
            const char *ch = str(f, "change"), *ps = str(f, "previous_severity");
            if (!ch || nm_view_severity(f) < NM_SEV_LOW)
                continue;
            json_t *g =
                json_pack("{s:O, s:O, s:O, s:O}", "severity", json_object_get(f, "severity"),
                          "message", json_object_get(f, "message"), "subject",
                          json_object_get(f, "subject"), "_host", json_object_get(h, "name"));
            if (strcmp(ch, "new") == 0) {
                json_array_append_new(news, g);
            } else if (ps && nm_severity_from_name(ps) < nm_view_severity(f)) {
                json_object_set_new(g, "_note", json_sprintf("was %s", ps));
                json_array_append_new(worse, g);
            } else {
                json_decref(g);
            }
        }
    }
    json_array_foreach (json_object_get(c->report, "fleet_findings"), j, f) {
        const char *ch = str(f, "change");
        if (ch && strcmp(ch, "new") == 0)
            json_array_append(news, f);
    }
    json_array_foreach (json_object_get(c->report, "resolved"), j, f) {
        json_t *g = json_deep_copy(f);
        json_object_set(g, "_host", json_object_get(f, "host"));
        json_object_set_new(g, "message",
                            json_sprintf("%s %s", str(f, "check") ? str(f, "check") : "",
                                         str(f, "subject") ? str(f, "subject") : ""));
        if (str(f, "first_seen"))
            json_object_set_new(g, "_note", json_sprintf("open since %.10s", str(f, "first_seen")));
        json_array_append_new(gone, g);
    }
    sort_by_sev(news);
    sort_by_sev(worse);
    sort_by_sev(gone);
    xmlNodePtr p = el(sec, "p", "note");
    textf(p, "%zu new, %zu worse, %zu resolved since the previous run.", json_array_size(news),
          json_array_size(worse), json_array_size(gone));
    change_list(sec, "New", "changes-new", news, c);
    change_list(sec, "Worse", "changes-worse", worse, c);
    change_list(sec, "Resolved", "changes-resolved", gone, c);
    json_decref(news);
    json_decref(worse);
    json_decref(gone);
}

/* Margins in bins (≤ 0 is a miss or past it), one bar per bin and unit. */
static void chart_margins(xmlNodePtr parent, const json_t *entries)
{
    static const double edges[] = {0, 3, 7, 14};
    static const char *const labels[] = {"\xe2\x89\xa4 0",
                                         "1\xe2\x80\x93"
                                         "3",
                                         "4\xe2\x80\x93"
                                         "7",
                                         "8\xe2\x80\x93"
                                         "14",
                                         "> 14"};
    enum { N_BINS = 5, MAX_UNITS = 6 };
    const char *units[MAX_UNITS];
    int counts[MAX_UNITS][N_BINS] = {{0}};
    size_t n_units = 0, i;
    int max = 1;
    json_t *e;
    json_array_foreach ((json_t *)entries, i, e) {
        const json_t *m = json_object_get(e, "margin");
        const char *u = str(m, "unit");
        const json_t *v = json_object_get(m, "value");
        if (!u || !json_is_number(v))
            continue;
        size_t k;
        for (k = 0; k < n_units && strcmp(units[k], u) != 0; k++)
            ;
        if (k == n_units) {
            if (n_units == MAX_UNITS)
                continue;
            units[n_units++] = u;
        }
        double x = json_number_value(v);
        int b = 0;
        while (b < 4 && x > edges[b])
            b++;
        counts[k][b]++;
        max = counts[k][b] > max ? counts[k][b] : max;
    }
    if (n_units == 0)
        return;
    xmlNodePtr fig = el(parent, "figure", "card");
    attr(fig, "id", "chart-margins");
    el_text(fig, "figcaption", NULL, "How close they came: margins at the worst moment");
    const double col_w = 36, chart_h = 60, unit_w = N_BINS * col_w + 24;
    xmlNodePtr svg = svg_el(fig, "svg");
    attr(svg, "class", "chart");
    attr(svg, "xmlns", "http://www.w3.org/2000/svg");
    attrf(svg, "viewBox", "0 0 %.0f %.0f", unit_w * (double)n_units, chart_h + 40);
    attr(svg, "role", "img");
    attr(svg, "aria-label", "Bar chart of near-miss margins by unit; the table below lists each.");
    for (size_t k = 0; k < n_units; k++) {
        double x0 = unit_w * (double)k;
        svg_text(svg, x0, chart_h + 36, NULL, units[k]);
        for (int b = 0; b < N_BINS; b++) {
            double hgt = chart_h * counts[k][b] / max;
            double x = x0 + col_w * b;
            xmlNodePtr r = svg_rect(svg, x, chart_h - hgt, col_w - 6, hgt < 1 ? 1 : hgt,
                                    b == 0 ? sev_fill[NM_SEV_CRITICAL] : sev_fill[NM_SEV_HIGH]);
            textf(svg_el(r, "title"), "%s %s: %d", labels[b], units[k], counts[k][b]);
            svg_text(svg, x, chart_h + 14, NULL, labels[b]);
        }
    }
}

static void fmt_num(char *out, size_t n, const json_t *v)
{
    if (json_is_integer(v))
        snprintf(out, n, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    else if (json_is_number(v))
        snprintf(out, n, "%.6g", json_number_value(v));
    else
        snprintf(out, n, "\xe2\x80\x93");
}

static void build_ledger(xmlNodePtr main, const struct ctx *c)
{
    const json_t *l = json_object_get(json_object_get(c->report, "history"), "ledger");
    if (!json_is_object(l))
        return;
    const json_t *entries = json_object_get(l, "entries");
    xmlNodePtr sec = el(main, "section", NULL);
    attr(sec, "id", "ledger");
    textf(el(sec, "h2", NULL), "Near misses and misses (last %" JSON_INTEGER_FORMAT " days)",
          json_integer_value(json_object_get(l, "days")));
    size_t i;
    json_t *e;
    json_array_foreach (json_object_get(l, "running_on_luck"), i, e) {
        char now[32], before[32];
        fmt_num(now, sizeof now, json_object_get(e, "median"));
        fmt_num(before, sizeof before, json_object_get(e, "median_before"));
        xmlNodePtr p = el(sec, "p", "luck");
        el_text(p, "strong", NULL, "Running on luck: ");
        textf(p, "the median margin shrank from %s to %s %s compared with the 30 days before.",
              before, now, str(e, "unit") ? str(e, "unit") : "");
    }
    if (json_array_size(entries) == 0) {
        el_text(sec, "p", "note",
                "No finding at high or above cleared or reached its failure point in this "
                "period. `nearmiss ledger -o DIR` lists all of them.");
        return;
    }
    el_text(sec, "p", "note",
            "Findings that reached high or critical and then cleared (near miss) or reached "
            "their failure point (miss), with how close they came. The full ledger: "
            "`nearmiss ledger -o DIR --format md`.");
    chart_margins(sec, entries);
    xmlNodePtr tbl = stack_table(sec);
    attr(tbl, "id", "ledger-entries");
    xmlNodePtr tr = el(el(tbl, "thead", NULL), "tr", NULL);
    static const char *const heads[] = {"Outcome", "Host",   "Check",       "Subject",
                                        "Worst",   "Margin", "Hours to fix"};
    for (size_t k = 0; k < sizeof heads / sizeof heads[0]; k++)
        el_text(tr, "th", k >= 5 ? "num" : NULL, heads[k]);
    xmlNodePtr tb = el(tbl, "tbody", NULL);
    json_array_foreach ((json_t *)entries, i, e) {
        tr = el(tb, "tr", NULL);
        const char *o = str(e, "outcome");
        el_text(tr, "td", NULL, o && strcmp(o, "miss") == 0 ? "miss" : "near miss");
        text_value(el(tr, "td", NULL),
                   json_is_string(json_object_get(e, "host")) ? json_object_get(e, "host") : NULL,
                   GENERIC_CAP);
        text_value(el(tr, "td", NULL), json_object_get(e, "check"), GENERIC_CAP);
        text_value(el(tr, "td", NULL), json_object_get(e, "subject"), GENERIC_CAP);
        sev_badge(el(tr, "td", NULL), nm_severity_from_name(str(e, "worst_severity")));
        char m[48];
        const json_t *mg = json_object_get(e, "margin");
        fmt_num(m, sizeof m, json_object_get(mg, "value"));
        xmlNodePtr td = el(tr, "td", "num");
        textf(td, "%s%s%s", m, str(mg, "unit") ? " " : "", str(mg, "unit") ? str(mg, "unit") : "");
        fmt_num(m, sizeof m, json_object_get(e, "hours_to_fix"));
        text(el(tr, "td", "num"), m);
    }
    const json_t *fix = json_object_get(l, "median_hours_to_fix");
    if (json_object_size(fix)) {
        el_text(sec, "h3", NULL, "Median time to fix by category");
        xmlNodePtr t2 = grid_table(sec);
        attr(t2, "id", "ledger-fix");
        xmlNodePtr r2 = el(el(t2, "thead", NULL), "tr", NULL);
        el_text(r2, "th", NULL, "Category");
        el_text(r2, "th", "num", "Median hours");
        xmlNodePtr b2 = el(t2, "tbody", NULL);
        const char *k;
        const json_t *v;
        json_object_foreach ((json_t *)fix, k, v) {
            r2 = el(b2, "tr", NULL);
            el_text(r2, "th", NULL, cat_title(k));
            char m[48];
            fmt_num(m, sizeof m, v);
            text(el(r2, "td", "num"), m);
        }
    }
}

static void build_fleet(xmlNodePtr main, const struct ctx *c)
{
    const json_t *ff = json_object_get(c->report, "fleet_findings");
    xmlNodePtr sec = el(main, "section", NULL);
    attr(sec, "id", "fleet");
    el_text(sec, "h2", NULL, "Fleet-wide findings (single points of failure)");
    if (json_array_size(ff) == 0) {
        el_text(sec, "p", "note",
                "None: no role below its minimum of healthy hosts or confined "
                "to one failure domain.");
        return;
    }
    xmlNodePtr ul = el(sec, "ul", "list");
    size_t i;
    const json_t *f;
    json_array_foreach (ff, i, f) {
        xmlNodePtr li = el(ul, "li", "fleet-finding");
        attrf(li, "id", "fleet-%zu", i);
        attr(li, "data-sev", str(f, "severity") ? str(f, "severity") : "");
        xmlNodePtr head = el(li, "div", "fhead");
        sev_badge(head, nm_view_severity(f));
        el_text(head, "span", "badge", cat_title(str(f, "category")));
        if (json_object_get(f, "subject"))
            text_value(el(head, "code", NULL), json_object_get(f, "subject"), GENERIC_CAP);
        text_value(el(li, "p", "msg"), json_object_get(f, "message"), GENERIC_CAP);
        xmlNodePtr hp = el(li, "p", "fix");
        el_text(hp, "strong", NULL, "Hosts: ");
        size_t k;
        const json_t *hn;
        json_array_foreach (json_object_get(f, "hosts"), k, hn) {
            if (k)
                text(hp, ", ");
            long hi = find_host(c, hn);
            if (hi >= 0)
                host_link(hp, c, (size_t)hi, -1);
            else
                text_value(hp, hn, GENERIC_CAP);
        }
        if (json_is_string(json_object_get(f, "remediation"))) {
            xmlNodePtr fx = el(li, "p", "fix");
            el_text(fx, "strong", NULL, "Fix: ");
            text_md(fx, json_object_get(f, "remediation"), GENERIC_CAP * 4);
        }
        finding_links(li, f);
    }
}

static void build_unscanned(xmlNodePtr main, const struct ctx *c)
{
    xmlNodePtr sec = el(main, "section", NULL);
    attr(sec, "id", "unscanned");
    size_t failed = c->n_hosts - c->n_scanned, partial = 0;
    for (size_t i = 0; i < c->n_hosts; i++)
        if (c->hosts[i].ok && json_is_string(json_object_get(c->hosts[i].h, "error")))
            partial++;
    xmlNodePtr h2 = el(sec, "h2", NULL);
    textf(h2, "Hosts that could not be scanned (%zu)", failed);
    if (c->n_hosts == 0) {
        el_text(sec, "p", "note", "This report lists no hosts.");
    } else if (failed == 0) {
        textf(el(sec, "p", "note"), "All %zu hosts were scanned.", c->n_hosts);
    } else {
        el_text(sec, "p", "note",
                "Their risk is unknown: they have no score and count as "
                "\"unknown\" in the chart above.");
        /* How many per status, then the list: open when short, one click
         * away when a hundred hosts are down (print opens it). */
        xmlNodePtr by = el(sec, "ul", "stats bystatus");
        const char *seen[64];
        size_t n_seen = 0;
        for (size_t k = 0; k < c->n_hosts && n_seen < 64; k++) {
            const char *st = str(c->hosts[c->order[k]].h, "status");
            if (c->hosts[c->order[k]].ok || !st)
                continue;
            bool dup = false;
            for (size_t q = 0; q < n_seen && !dup; q++)
                dup = strcmp(seen[q], st) == 0;
            if (dup)
                continue;
            seen[n_seen++] = st;
            size_t n = 0;
            for (size_t q = 0; q < c->n_hosts; q++) {
                const char *s2 = str(c->hosts[q].h, "status");
                n += !c->hosts[q].ok && s2 && strcmp(s2, st) == 0;
            }
            xmlNodePtr li = el(by, "li", NULL);
            status_badge(li, st);
            textf(el(li, "span", "n"), "%zu", n);
        }
        xmlNodePtr box = el(sec, "details", "more");
        if (failed <= 20)
            xmlNewProp(box, BAD_CAST "open", NULL);
        textf(el(box, "summary", NULL), "The %zu hosts, and why", failed);
        xmlNodePtr tbl = stack_table(box);
        xmlNodePtr tr = el(el(tbl, "thead", NULL), "tr", NULL);
        el_text(tr, "th", NULL, "Host");
        el_text(tr, "th", NULL, "Status");
        el_text(tr, "th", NULL, "Why, and what to do");
        xmlNodePtr tb = el(tbl, "tbody", NULL);
        for (size_t k = 0; k < c->n_hosts; k++) {
            size_t i = c->order[k];
            if (c->hosts[i].ok)
                continue;
            tr = el(tb, "tr", NULL);
            attr(tr, "data-host", c->hosts[i].name);
            host_link(el(tr, "td", NULL), c, i, -1);
            status_badge(el(tr, "td", NULL), str(c->hosts[i].h, "status"));
            text_value(el(tr, "td", NULL), json_object_get(c->hosts[i].h, "error"),
                       GENERIC_CAP * 2);
        }
    }
    if (partial) {
        el_text(sec, "h3", NULL, "Scanned, but incompletely");
        xmlNodePtr tbl = stack_table(sec);
        xmlNodePtr tr = el(el(tbl, "thead", NULL), "tr", NULL);
        el_text(tr, "th", NULL, "Host");
        el_text(tr, "th", NULL, "What is missing");
        xmlNodePtr tb = el(tbl, "tbody", NULL);
        for (size_t k = 0; k < c->n_hosts; k++) {
            size_t i = c->order[k];
            if (!c->hosts[i].ok || !json_is_string(json_object_get(c->hosts[i].h, "error")))
                continue;
            tr = el(tb, "tr", NULL);
            host_link(el(tr, "td", NULL), c, i, -1);
            text_value(el(tr, "td", NULL), json_object_get(c->hosts[i].h, "error"),
                       GENERIC_CAP * 2);
        }
    }
}

static void build_waivers(xmlNodePtr main, const struct ctx *c)
{
    const json_t *ws = json_object_get(c->report, "waivers");
    if (json_array_size(ws) == 0)
        return;
    xmlNodePtr sec = el(main, "section", NULL);
    attr(sec, "id", "waivers");
    el_text(sec, "h2", NULL, "Accepted risks (waivers)");
    xmlNodePtr tbl = stack_table(sec);
    xmlNodePtr tr = el(el(tbl, "thead", NULL), "tr", NULL);
    static const char *const cols[][2] = {{"check", "Check"},
                                          {"hosts", "Hosts"},
                                          {"subject", "Subject"},
                                          {"justification", "Why"},
                                          {"approved_by", "Approved by"},
                                          {"expires", "Expires"},
                                          {"status", "Status"}};
    for (size_t k = 0; k < sizeof cols / sizeof cols[0]; k++)
        el_text(tr, "th", NULL, cols[k][1]);
    xmlNodePtr tb = el(tbl, "tbody", NULL);
    size_t i;
    const json_t *w;
    json_array_foreach (ws, i, w) {
        tr = el(tb, "tr", NULL);
        for (size_t k = 0; k < sizeof cols / sizeof cols[0]; k++) {
            const json_t *v = json_object_get(w, cols[k][0]);
            xmlNodePtr td = el(tr, "td", NULL);
            if (v && !json_is_null(v))
                text_value(td, v, GENERIC_CAP);
            else
                text(td, k == 2 ? "any" : "\xe2\x80\x94");
        }
    }
}

/* Free text the host filter searches: names, address, os, roles, labels,
 * and each finding's check, subject and message. */
static void search_text(struct nm_buf *b, const json_t *h)
{
    static const char *const keys[] = {"name", "address", "status", "criticality", "hostname"};
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
        const json_t *v = json_object_get(h, keys[k]);
        if (json_is_string(v)) {
            buf_value(b, v, 512);
            nm_buf_appends(b, " ");
        }
    }
    const json_t *os = json_object_get(h, "os");
    if (json_is_string(json_object_get(os, "pretty_name"))) {
        buf_value(b, json_object_get(os, "pretty_name"), 256);
        nm_buf_appends(b, " ");
    }
    size_t i;
    const char *key;
    const json_t *v;
    json_array_foreach (json_object_get(h, "roles"), i, v) {
        buf_value(b, v, 256);
        nm_buf_appends(b, " ");
    }
    json_object_foreach ((json_t *)json_object_get(h, "labels"), key, v) {
        nm_buf_appendf(b, "%s=", key);
        buf_value(b, v, 256);
        nm_buf_appends(b, " ");
    }
    json_array_foreach (json_object_get(h, "findings"), i, v) {
        buf_value(b, json_object_get(v, "check"), 128);
        nm_buf_appends(b, " ");
        buf_value(b, json_object_get(v, "subject"), 256);
        nm_buf_appends(b, " ");
        buf_value(b, json_object_get(v, "message"), 512);
        nm_buf_appends(b, " ");
    }
}

/* A value for a "\n"- or "\t"-separated data attribute: no separators in it. */
static void buf_token(struct nm_buf *b, const json_t *v)
{
    size_t start = b->len;
    buf_value(b, v, 256);
    for (size_t i = start; i < b->len; i++)
        if (b->data[i] == '\n' || b->data[i] == '\t')
            b->data[i] = ' ';
}

/* <div><dt><dd></div>: HTML allows the div, and it makes each pair one cell
 * of the facts grid. */
static void dl_row(xmlNodePtr dl, const char *term, const json_t *v)
{
    if (!v || json_is_null(v))
        return;
    xmlNodePtr div = el(dl, "div", NULL);
    el_text(div, "dt", NULL, term);
    text_value(el(div, "dd", NULL), v, GENERIC_CAP);
}

/* Buffers can hold NULs from the report: pass the length, never strlen. */
static void dl_row_buf(xmlNodePtr dl, const char *term, const struct nm_buf *b)
{
    xmlNodePtr div = el(dl, "div", NULL);
    el_text(div, "dt", NULL, term);
    text_n(el(div, "dd", NULL), b->data ? b->data : "", b->len);
}

static bool is_known_host_key(const char *k)
{
    static const char *const known[] = {
        "name",
        "address",
        "port",
        "roles",
        "labels",
        "criticality",
        "status",
        "error",
        "os",
        "score",
        "score_breakdown",
        "findings",
        "checks",
        "scan",
        "kernel",
        "arch",
        "hostname",
        "uptime_seconds",
        "user",
        "tls",
        "uid",
        "metrics",
        "score_capped_from",
    };
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (strcmp(k, known[i]) == 0)
            return true;
    return false;
}

static void host_facts(xmlNodePtr body, const struct hinfo *hi)
{
    const json_t *h = hi->h;
    xmlNodePtr dl = el(body, "dl", "facts");
    struct nm_buf b;
    nm_buf_init(&b, SIZE_MAX);
    buf_value(&b, json_object_get(h, "address"), 512);
    if (json_is_integer(json_object_get(h, "port")))
        nm_buf_appendf(&b, " port %" JSON_INTEGER_FORMAT,
                       json_integer_value(json_object_get(h, "port")));
    if (b.len)
        dl_row_buf(dl, "Address", &b);
    nm_buf_reset(&b);
    dl_row(dl, "Criticality", json_object_get(h, "criticality"));
    size_t i;
    const char *key;
    const json_t *v;
    json_array_foreach (json_object_get(h, "roles"), i, v) {
        if (i)
            nm_buf_appends(&b, ", ");
        buf_value(&b, v, 256);
    }
    if (b.len)
        dl_row_buf(dl, "Roles", &b);
    nm_buf_reset(&b);
    json_object_foreach ((json_t *)json_object_get(h, "labels"), key, v) {
        if (b.len)
            nm_buf_appends(&b, ", ");
        nm_buf_appendf(&b, "%s=", key);
        buf_value(&b, v, 256);
    }
    if (b.len)
        dl_row_buf(dl, "Labels", &b);
    nm_buf_reset(&b);
    const json_t *os = json_object_get(h, "os");
    if (json_is_object(os))
        dl_row(dl, "OS",
               json_object_get(os, "pretty_name") ? json_object_get(os, "pretty_name")
                                                  : json_object_get(os, "id"));
    dl_row(dl, "Kernel", json_object_get(h, "kernel"));
    dl_row(dl, "Architecture", json_object_get(h, "arch"));
    const json_t *up = json_object_get(h, "uptime_seconds");
    if (json_is_number(up)) {
        double sec = json_number_value(up);
        if (sec < 3600)
            nm_buf_appendf(&b, "%.0f minutes", sec / 60);
        else if (sec < 2 * 86400)
            nm_buf_appendf(&b, "%.1f hours", sec / 3600);
        else
            nm_buf_appendf(&b, "%.0f days", sec / 86400);
        dl_row_buf(dl, "Uptime", &b);
        nm_buf_reset(&b);
    }
    const json_t *scan = json_object_get(h, "scan");
    if (json_is_number(json_object_get(scan, "duration_ms"))) {
        nm_buf_appendf(&b, "%.2f s",
                       json_number_value(json_object_get(scan, "duration_ms")) / 1000);
        if (json_is_number(json_object_get(scan, "bytes")))
            nm_buf_appendf(&b, ", %.0f bytes of output",
                           json_number_value(json_object_get(scan, "bytes")));
        dl_row_buf(dl, "Scan", &b);
        nm_buf_reset(&b);
    }
    const json_t *hk = json_object_get(scan, "hostkey");
    if (json_is_object(hk)) {
        buf_value(&b, json_object_get(hk, "type"), 64);
        nm_buf_appends(&b, " ");
        buf_value(&b, json_object_get(hk, "fingerprint"), 128);
        if (json_is_true(json_object_get(hk, "added")))
            nm_buf_appends(&b, " (added to known_hosts by this scan)");
        dl_row_buf(dl, "Host key", &b);
        nm_buf_reset(&b);
    }
    if (json_is_string(json_object_get(scan, "truncated")))
        dl_row(dl, "Output", json_object_get(scan, "truncated"));
    /* Fields added by later versions or other stages, shown as they are. */
    json_object_foreach ((json_t *)h, key, v) {
        if (is_known_host_key(key) || json_is_null(v))
            continue;
        dl_row(dl, key, v);
    }
    nm_buf_finish(&b);
}

static void waiver_note(xmlNodePtr parent, const json_t *w, bool expired)
{
    xmlNodePtr p = el(parent, "p", "waiver");
    el_text(p, "span", expired ? "badge badge-expired" : "badge badge-waived",
            expired ? "waiver expired" : "waived");
    text(p, " ");
    text_value(p, json_object_get(w, "justification"), GENERIC_CAP);
    if (json_is_string(json_object_get(w, "approved_by"))) {
        text(p, " \xe2\x80\x94 approved by ");
        text_value(p, json_object_get(w, "approved_by"), 256);
    }
    if (json_is_string(json_object_get(w, "expires"))) {
        text(p, expired ? "; expired " : "; until ");
        text_value(p, json_object_get(w, "expires"), 64);
    }
}

static void kv_line(struct nm_buf *b, const char *key, const json_t *v)
{
    if (!v || json_is_null(v))
        return;
    nm_buf_appendf(b, "%-12s ", key);
    size_t start = b->len;
    buf_value(b, v, GENERIC_CAP);
    /* Keep one line per key: a multi-line value is indented under it. */
    for (size_t i = start; i < b->len; i++)
        if (b->data[i] == '\n')
            b->data[i] = ' ';
    nm_buf_appends(b, "\n");
}

static bool is_known_finding_key(const char *k)
{
    static const char *const known[] = {
        "check",          "category",  "severity",    "subject",  "message",
        "value",          "threshold", "fingerprint", "evidence", "remediation",
        "ticket_summary", "item",      "waived",      "waiver",   "waiver_expired",
        "links",
    };
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (strcmp(k, known[i]) == 0)
            return true;
    return false;
}

/* How long the finding has been open, from the history's first_seen. */
static void age_badge(xmlNodePtr head, const json_t *f, int64_t now)
{
    const char *ch = str(f, "change"), *ps = str(f, "previous_severity");
    int64_t first;
    if (!ch)
        return;
    if (strcmp(ch, "new") == 0) {
        el_text(head, "span", "badge badge-new", "new");
    } else if (now > 0 && nm_utc_parse(str(f, "first_seen"), &first) == 0) {
        xmlNodePtr b = el(head, "span", "badge badge-age");
        int64_t days = (now - first) / 86400;
        if (days < 1)
            text(b, "open < 1 day");
        else
            textf(b, "open %lld day%s", (long long)days, days == 1 ? "" : "s");
        attr(b, "title", str(f, "first_seen"));
    }
    if (ps && nm_severity_from_name(ps) < nm_view_severity(f))
        textf(el(head, "span", "badge badge-worse"), "worse (was %s)", ps);
}

static void finding_el(xmlNodePtr ol, const struct hinfo *hi, size_t host, size_t j,
                       const json_t *f, int64_t now)
{
    int s = nm_view_severity(f);
    bool waived = !nm_view_active(f);
    xmlNodePtr li = el(ol, "li", waived ? "finding waived" : "finding");
    attrf(li, "id", "h-%zu-f-%zu", host, j);
    attr(li, "data-sev", s >= 0 ? nm_severity_name(s) : "");
    if (s >= 0)
        attrf(li, "data-sevn", "%d", s);
    else
        attr(li, "data-sevn", "");
    {
        struct nm_buf b;
        nm_buf_init(&b, SIZE_MAX);
        buf_token(&b, json_object_get(f, "category"));
        attr_n(li, "data-cat", b.data ? b.data : "", b.len);
        nm_buf_finish(&b);
    }
    xmlNodePtr head = el(li, "div", "fhead");
    sev_badge(head, s);
    el_text(head, "span", "badge", cat_title(str(f, "category")));
    if (json_object_get(f, "subject") && !json_is_null(json_object_get(f, "subject")))
        text_value(el(head, "code", "subject"), json_object_get(f, "subject"), GENERIC_CAP);
    age_badge(head, f, now);
    if (waived)
        el_text(head, "span", "badge badge-waived", "waived");
    else if (json_is_object(json_object_get(f, "waiver_expired")))
        el_text(head, "span", "badge badge-expired", "waiver expired");
    xmlNodePtr pts = el(head, "span", "pts");
    if (waived) {
        text(pts, "counts 0 (waived)");
    } else {
        char p[32];
        format_points(p, sizeof p, hi->points[j]);
        textf(pts, "fixing it: \xe2\x88\x92%s", p);
    }
    text_value(el(li, "p", "msg"), json_object_get(f, "message"), GENERIC_CAP);
    if (json_object_get(f, "remediation") && !json_is_null(json_object_get(f, "remediation"))) {
        xmlNodePtr fx = el(li, "p", "fix");
        el_text(fx, "strong", NULL, "Fix: ");
        text_md(fx, json_object_get(f, "remediation"), GENERIC_CAP * 4);
    }
    finding_links(li, f);
    if (waived)
        waiver_note(li, json_object_get(f, "waiver"), false);
    else if (json_is_object(json_object_get(f, "waiver_expired")))
        waiver_note(li, json_object_get(f, "waiver_expired"), true);

    /* Evidence and details stay closed: long, and rarely needed first. */
    xmlNodePtr more = el(li, "details", "more");
    el_text(more, "summary", NULL, "Evidence and details");
    const json_t *ev = json_object_get(f, "evidence");
    if (ev && !json_is_null(ev))
        text_value(el(more, "pre", "evidence"), ev, EVIDENCE_CAP);
    /* One text block, not a list of elements: 20 000 findings times twenty
     * dt/dd pairs is what made a large page slow to load and to sort. */
    struct nm_buf kv;
    nm_buf_init(&kv, SIZE_MAX);
    kv_line(&kv, "check", json_object_get(f, "check"));
    kv_line(&kv, "value", json_object_get(f, "value"));
    kv_line(&kv, "threshold", json_object_get(f, "threshold"));
    kv_line(&kv, "ticket", json_object_get(f, "ticket_summary"));
    kv_line(&kv, "fingerprint", json_object_get(f, "fingerprint"));
    const char *key;
    const json_t *v;
    json_object_foreach ((json_t *)json_object_get(f, "item"), key, v) {
        char *term = nm_xasprintf("item.%s", key);
        kv_line(&kv, term, v);
        free(term);
    }
    json_object_foreach ((json_t *)f, key, v) {
        if (!is_known_finding_key(key))
            kv_line(&kv, key, v);
    }
    if (kv.len)
        text_n(el(more, "pre", "kv"), kv.data, kv.len);
    nm_buf_finish(&kv);
}

static void host_checks(xmlNodePtr body, const json_t *h)
{
    const json_t *checks = json_object_get(h, "checks");
    if (json_array_size(checks) == 0)
        return;
    el_text(body, "h3", NULL, "Checks");
    xmlNodePtr tbl = grid_table(body);
    xmlNodePtr tr = el(el(tbl, "thead", NULL), "tr", NULL);
    el_text(tr, "th", NULL, "Check");
    el_text(tr, "th", NULL, "Result");
    el_text(tr, "th", NULL, "Detail");
    xmlNodePtr tb = el(tbl, "tbody", NULL);
    size_t i;
    const json_t *k;
    json_array_foreach (checks, i, k) {
        tr = el(tb, "tr", NULL);
        text_value(el(tr, "td", "mono"), json_object_get(k, "id"), 256);
        const char *res = str(k, "result");
        xmlNodePtr td = el(tr, "td", NULL);
        el_text(td, "span",
                res && (strcmp(res, "fail") == 0 || strcmp(res, "error") == 0) ? "st st-bad"
                : res && strcmp(res, "pass") == 0                              ? "st st-ok"
                                                                               : "badge",
                res ? res : "unknown");
        td = el(tr, "td", NULL);
        if (json_is_string(json_object_get(k, "reason"))) {
            text_value(td, json_object_get(k, "reason"), GENERIC_CAP);
        } else if (json_is_integer(json_object_get(k, "items"))) {
            textf(td,
                  "%" JSON_INTEGER_FORMAT " item(s) looked at, %" JSON_INTEGER_FORMAT " finding(s)",
                  json_integer_value(json_object_get(k, "items")),
                  json_integer_value(json_object_get(k, "findings")));
        }
    }
}

/* What the checks measured, finding or not (metrics[CHECK][KEY]): one
 * closed block per check, one line per thing, as text (cheap to lay out). */
static void host_measurements(xmlNodePtr body, const json_t *h)
{
    const json_t *m = json_object_get(h, "metrics");
    if (json_object_size(m) == 0)
        return;
    el_text(body, "h3", NULL, "Measurements");
    const char *check, *key, *field;
    const json_t *recs, *rec, *v;
    json_object_foreach ((json_t *)m, check, recs) {
        xmlNodePtr box = el(body, "details", "more");
        xmlNodePtr sum = el(box, "summary", NULL);
        textf(sum, "%s: %zu recorded", check, json_is_object(recs) ? json_object_size(recs) : 0);
        struct nm_buf b;
        nm_buf_init(&b, SIZE_MAX);
        json_object_foreach ((json_t *)recs, key, rec) {
            nm_buf_appendf(&b, "%s\n", key);
            json_object_foreach ((json_t *)rec, field, v) {
                if (json_is_null(v))
                    continue;
                nm_buf_appendf(&b, "    %-16s ", field);
                size_t start = b.len;
                buf_value(&b, v, GENERIC_CAP);
                for (size_t i = start; i < b.len; i++)
                    if (b.data[i] == '\n')
                        b.data[i] = ' ';
                nm_buf_appends(&b, "\n");
            }
        }
        if (b.len)
            text_n(el(box, "pre", "kv"), b.data, b.len);
        nm_buf_finish(&b);
    }
}

static void host_breakdown(xmlNodePtr body, const struct hinfo *hi, size_t host)
{
    if (!hi->ok)
        return;
    el_text(body, "h3", NULL, "Score breakdown");
    const json_t *findings = json_object_get(hi->h, "findings");
    double factor = nm_score_criticality_factor(str(hi->h, "criticality"));
    xmlNodePtr p = el(body, "p", "note");
    textf(p,
          "Each finding is a chance of an outage within 30 days (critical %g %%, high %g %%, "
          "medium %g %%, low %g %%), stretched by its urgency and the host's criticality "
          "(\xc3\x97%g); the score is the chance that at least one strikes. The column says how "
          "much fixing each finding lowers the score. Waived findings count 0.",
          100 * nm_score_likelihood(NM_SEV_CRITICAL), 100 * nm_score_likelihood(NM_SEV_HIGH),
          100 * nm_score_likelihood(NM_SEV_MEDIUM), 100 * nm_score_likelihood(NM_SEV_LOW), factor);
    xmlNodePtr tbl = grid_table(body);
    attr(tbl, "data-role", "breakdown");
    xmlNodePtr tr = el(el(tbl, "thead", NULL), "tr", NULL);
    el_text(tr, "th", NULL, "Finding");
    el_text(tr, "th", NULL, "Severity");
    el_text(tr, "th", "num", "Fixing it");
    xmlNodePtr tb = el(tbl, "tbody", NULL);
    size_t j;
    const json_t *f;
    json_array_foreach (findings, j, f) {
        if (!nm_view_active(f) || nm_view_severity(f) < NM_SEV_LOW)
            continue;
        tr = el(tb, "tr", NULL);
        xmlNodePtr a = el(el(tr, "td", NULL), "a", NULL);
        attrf(a, "href", "#h-%zu-f-%zu", host, j);
        text_value(a, json_object_get(f, "check"), 128);
        text(a, " \xc2\xb7 ");
        text_value(a, json_object_get(f, "subject"), 256);
        text(el(tr, "td", NULL), sev_title(nm_view_severity(f)));
        char pts[32];
        format_points(pts, sizeof pts, hi->points[j]);
        el_text(tr, "td", "num", pts);
    }
    tr = el(tb, "tr", NULL);
    el_text(tr, "th", NULL, "Score");
    el(tr, "td", NULL);
    xmlNodePtr td = el(tr, "td", "num");
    if (hi->has_score)
        textf(td, "%.1f", hi->score);
}

static void host_row(xmlNodePtr rows, const struct ctx *c, size_t i)
{
    const struct hinfo *hi = &c->hosts[i];
    const json_t *h = hi->h;
    xmlNodePtr det = el(rows, "details", "host");
    attrf(det, "id", "h-%zu", i);
    attr(det, "data-name", hi->name);
    if (hi->has_score)
        attrf(det, "data-score", "%.1f", hi->score);
    else
        attr(det, "data-score", "");
    attr(det, "data-status", str(h, "status") ? str(h, "status") : "");

    struct nm_buf b;
    nm_buf_init(&b, SIZE_MAX);
    size_t j;
    const json_t *v;
    json_array_foreach (json_object_get(h, "roles"), j, v) {
        if (j)
            nm_buf_appends(&b, "\n");
        buf_token(&b, v);
    }
    attr_n(det, "data-roles", b.data ? b.data : "", b.len);
    nm_buf_reset(&b);
    json_array_foreach (json_object_get(h, "findings"), j, v) {
        if (!nm_view_active(v))
            continue;
        if (b.len)
            nm_buf_appends(&b, "\n");
        buf_token(&b, json_object_get(v, "severity"));
        nm_buf_appends(&b, "\t");
        buf_token(&b, json_object_get(v, "category"));
    }
    attr_n(det, "data-sc", b.data ? b.data : "", b.len);
    nm_buf_reset(&b);
    search_text(&b, h);
    attr_n(det, "data-text", b.data ? b.data : "", b.len);
    nm_buf_reset(&b);

    xmlNodePtr sum = el(det, "summary", NULL);
    xmlNodePtr cn = el(sum, "span", "c-name");
    el_text(cn, "span", "host-name", hi->name);
    buf_value(&b, json_object_get(h, "address"), 256);
    if (json_is_integer(json_object_get(h, "port")) &&
        json_integer_value(json_object_get(h, "port")) != 22)
        nm_buf_appendf(&b, ":%" JSON_INTEGER_FORMAT,
                       json_integer_value(json_object_get(h, "port")));
    if (b.len)
        text_n(el(cn, "span", "addr"), b.data, b.len);
    nm_buf_reset(&b);

    xmlNodePtr cs = el(sum, "span", "c-status");
    status_badge(cs, str(h, "status"));

    xmlNodePtr sc = el(sum, "span", "c-score");
    el_text(sc, "span", "lbl", "score");
    xmlNodePtr num = el(sc, "span", "score");
    if (hi->has_score) {
        textf(num, "%.1f", hi->score);
        xmlNodePtr meter = el(sc, "span", "meter");
        attr(meter, "aria-hidden", "true");
        xmlNodePtr fill = el(meter, "span", NULL);
        long w = hi->score < 0 ? 0 : hi->score > 100 ? 100 : lround(hi->score);
        attrf(fill, "style", "width:%ld%%", w);
    } else {
        text(num, "unknown");
    }

    xmlNodePtr cf = el(sum, "span", "c-find");
    bool any = false;
    for (int s = NM_SEV_CRITICAL; s >= NM_SEV_INFO; s--) {
        if (!hi->counts[s])
            continue;
        char cls[32];
        snprintf(cls, sizeof cls, "sev sev-%s", nm_severity_name(s));
        xmlNodePtr badge = el(cf, "span", cls);
        textf(badge, "%d %s", hi->counts[s], nm_severity_name(s));
        any = true;
    }
    if (hi->n_waived) {
        xmlNodePtr badge = el(cf, "span", "badge badge-waived");
        textf(badge, "%zu waived", hi->n_waived);
        any = true;
    }
    if (!any)
        el_text(cf, "span", "none", hi->ok ? "no findings" : "not scanned");

    xmlNodePtr cr = el(sum, "span", "c-roles");
    el_text(cr, "span", "lbl", "roles");
    json_array_foreach (json_object_get(h, "roles"), j, v) {
        if (j)
            text(cr, ", ");
        text_value(cr, v, 256);
    }
    if (json_array_size(json_object_get(h, "roles")) == 0)
        el_text(cr, "span", "none", "\xe2\x80\x94");
    xmlNodePtr co = el(sum, "span", "c-os");
    const json_t *os = json_object_get(h, "os");
    if (json_is_string(json_object_get(os, "pretty_name")))
        text_value(co, json_object_get(os, "pretty_name"), 256);
    else if (json_is_string(json_object_get(os, "id")))
        text_value(co, json_object_get(os, "id"), 256);
    else
        el_text(co, "span", "none", "\xe2\x80\x94");

    xmlNodePtr body = el(det, "div", "hostbody");
    if (!hi->ok) {
        xmlNodePtr p = el(body, "p", "err");
        el_text(p, "strong", NULL, status_title(str(h, "status")));
        text(p, ": ");
        text_value(p, json_object_get(h, "error"), GENERIC_CAP * 2);
    } else if (json_is_string(json_object_get(h, "error"))) {
        xmlNodePtr p = el(body, "p", "err");
        el_text(p, "strong", NULL, "Incomplete: ");
        text_value(p, json_object_get(h, "error"), GENERIC_CAP * 2);
    }
    host_facts(body, hi);

    const json_t *findings = json_object_get(h, "findings");
    xmlNodePtr h3 = el(body, "h3", NULL);
    textf(h3, "Findings (%zu)", json_array_size(findings));
    if (json_array_size(findings) == 0) {
        el_text(body, "p", "note", hi->ok ? "Nothing found." : "Not scanned: nothing known.");
    } else {
        /* Worst first, as in "fix first". */
        size_t n = json_array_size(findings);
        size_t *idx = nm_xcalloc(n, sizeof *idx);
        size_t m = 0;
        for (int s = NM_SEV_CRITICAL; s >= NM_SEV_NONE; s--) {
            for (int w = 0; w < 2; w++) {
                json_array_foreach (findings, j, v) {
                    bool waived = !nm_view_active(v);
                    if (nm_view_severity(v) == s && waived == (w == 1))
                        idx[m++] = j;
                }
            }
        }
        xmlNodePtr ol = el(body, "ol", "findings");
        int64_t now = 0;
        if (nm_utc_parse(str(c->report, "started_at"), &now) < 0)
            now = 0;
        for (size_t k = 0; k < m; k++)
            finding_el(ol, hi, i, idx[k], json_array_get(findings, idx[k]), now);
        free(idx);
    }
    host_checks(body, h);
    host_measurements(body, h);
    host_breakdown(body, hi, i);
    nm_buf_finish(&b);
}

/* An <option> whose value is `value` in the filter-token form the page's
 * script compares against the rows' data-* attributes. */
static void token_option(xmlNodePtr sel, const char *label, const char *value)
{
    xmlNodePtr o = el_text(sel, "option", NULL, label);
    struct nm_buf b;
    nm_buf_init(&b, SIZE_MAX);
    json_t *v = json_string(value);
    buf_token(&b, v);
    json_decref(v);
    attr_n(o, "value", b.data ? b.data : "", b.len);
    nm_buf_finish(&b);
}

static void build_hosts(xmlNodePtr main, const struct ctx *c)
{
    xmlNodePtr sec = el(main, "section", NULL);
    attr(sec, "id", "hosts");
    xmlNodePtr h2 = el(sec, "h2", NULL);
    textf(h2, "Hosts (%zu)", c->n_hosts);
    el_text(sec, "p", "note nojs",
            "Sorting and filtering need JavaScript; without it every host is listed, riskiest "
            "first. Open a host to see its findings.");

    xmlNodePtr fl = el(sec, "div", "filters");
    attr(fl, "id", "filters");
    attr(fl, "role", "search");
    xmlNodePtr lab = el(fl, "label", NULL);
    text(lab, "Search");
    xmlNodePtr in = el(lab, "input", NULL);
    attr(in, "type", "search");
    attr(in, "id", "f-q");
    attr(in, "placeholder", "host, role, label, package, mount...");
    attr(in, "autocomplete", "off");

    lab = el(fl, "label", NULL);
    text(lab, "Severity");
    xmlNodePtr sel = el(lab, "select", NULL);
    attr(sel, "id", "f-sev");
    attr(el_text(sel, "option", NULL, "any"), "value", "");
    for (int s = NM_SEV_CRITICAL; s >= NM_SEV_LOW; s--) {
        xmlNodePtr o = el(sel, "option", NULL);
        attr(o, "value", nm_severity_name(s));
        textf(o, s == NM_SEV_CRITICAL ? "%s" : "%s or worse", sev_title(s));
    }
    attr(el_text(sel, "option", NULL, "Info or worse"), "value", "info");

    lab = el(fl, "label", NULL);
    text(lab, "Category");
    sel = el(lab, "select", NULL);
    attr(sel, "id", "f-cat");
    attr(el_text(sel, "option", NULL, "any"), "value", "");
    for (size_t i = 0; i < c->n_cats; i++)
        token_option(sel, cat_title(c->cats[i].name), c->cats[i].name);

    lab = el(fl, "label", NULL);
    text(lab, "Role");
    sel = el(lab, "select", NULL);
    attr(sel, "id", "f-role");
    attr(el_text(sel, "option", NULL, "any"), "value", "");
    for (size_t i = 0; i < c->n_roles; i++)
        token_option(sel, c->roles[i], c->roles[i]);

    lab = el(fl, "label", NULL);
    text(lab, "Sort");
    sel = el(lab, "select", NULL);
    attr(sel, "id", "f-sort");
    static const char *const sorts[][2] = {{"score:desc", "riskiest first"},
                                           {"score:asc", "safest first"},
                                           {"name:asc", "name A\xe2\x80\x93Z"},
                                           {"name:desc", "name Z\xe2\x80\x93"
                                                         "A"},
                                           {"status:asc", "not scanned first"}};
    for (size_t i = 0; i < sizeof sorts / sizeof sorts[0]; i++)
        attr(el_text(sel, "option", NULL, sorts[i][1]), "value", sorts[i][0]);

    xmlNodePtr btns = el(fl, "div", "btns");
    xmlNodePtr btn = el_text(btns, "button", NULL, "Reset");
    attr(btn, "type", "button");
    attr(btn, "data-act", "reset");
    btn = el_text(btns, "button", NULL, "Expand shown");
    attr(btn, "type", "button");
    attr(btn, "data-act", "expand");
    btn = el_text(btns, "button", NULL, "Collapse all");
    attr(btn, "type", "button");
    attr(btn, "data-act", "collapse");
    xmlNodePtr out = el(fl, "output", "count");
    attr(out, "id", "f-count");
    attr(out, "aria-live", "polite");

    xmlNodePtr box = el(sec, "div", "hosttable");
    attr(box, "id", "hostlist");
    xmlNodePtr th = el(box, "div", "thead");
    attr(th, "aria-hidden", "false");
    el(th, "span", NULL);
    static const char *const cols[][2] = {{"name", "Host"},   {"status", "Status"},
                                          {"score", "Score"}, {NULL, "Findings"},
                                          {NULL, "Roles"},    {NULL, "OS"}};
    for (size_t i = 0; i < sizeof cols / sizeof cols[0]; i++) {
        xmlNodePtr cell = el(th, "span", NULL);
        if (cols[i][0]) {
            xmlNodePtr b = el_text(cell, "button", NULL, cols[i][1]);
            attr(b, "type", "button");
            attr(b, "data-sort", cols[i][0]);
            attrf(b, "title", "sort by %s", cols[i][1]);
        } else {
            text(cell, cols[i][1]);
        }
    }
    xmlNodePtr rows = el(box, "div", NULL);
    attr(rows, "id", "hostrows");
    for (size_t k = 0; k < c->n_hosts; k++)
        host_row(rows, c, c->order[k]);
    xmlNodePtr empty =
        el_text(box, "p", "empty",
                c->n_hosts ? "No host matches the filters." : "This report lists no hosts.");
    attr(empty, "id", "f-empty");
    xmlNewProp(empty, BAD_CAST "hidden", NULL);
}

int nm_report_render_html(const json_t *report, char **ret_data, size_t *ret_len, nm_diag *d)
{
    if (!json_is_object(report))
        return nm_diag_set(d, NM_ERR_INVAL, "the report is not a JSON object");
    struct ctx c;
    ctx_init(&c, report);

    htmlDocPtr doc = htmlNewDocNoDtD(NULL, NULL);
    xmlCreateIntSubset(doc, BAD_CAST "html", NULL, NULL);
    xmlNodePtr html = xmlNewNode(NULL, BAD_CAST "html");
    xmlDocSetRootElement(doc, html);
    attr(html, "lang", "en");
    build_head(html, &c);
    xmlNodePtr body = el(html, "body", NULL);
    build_header(body, &c);
    xmlNodePtr main = el(body, "main", NULL);
    /* Above the fold: what to do first; the detail follows. */
    build_verdict(main, &c);
    build_top_risks(main, &c);
    build_changes(main, &c);
    build_overview(main, &c);
    build_charts(main, &c);
    build_fleet(main, &c);
    build_unscanned(main, &c);
    build_waivers(main, &c);
    build_ledger(main, &c);
    build_hosts(main, &c);
    xmlNodePtr foot = el(body, "footer", NULL);
    el_text(foot, "p", "note",
            "Generated by nearmiss from the JSON report, which holds every detail shown here.");
    attr(foot, "style", "max-width:1280px;margin:0 auto;padding:0 24px 24px");

    char *js = join_lines(js_lines, "\n");
    xmlNodePtr script = el(body, "script", NULL);
    xmlAddChild(script, xmlNewText(BAD_CAST js));
    free(js);

    xmlChar *mem = NULL;
    int size = 0;
    htmlDocDumpMemoryFormat(doc, &mem, &size, 1);
    xmlFreeDoc(doc);
    ctx_finish(&c);
    return nm_report_take_xml(mem, size, "HTML report", ret_data, ret_len, d);
}

int nm_report_write_html(const json_t *report, const char *path, nm_diag *d)
{
    return nm_report_write_rendered(nm_report_render_html, report, path, d);
}
