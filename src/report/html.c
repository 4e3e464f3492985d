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
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/HTMLtree.h>
#include <libxml/tree.h>

#include "nearmiss/advisory.h"
#include "nearmiss/hostiter.h"
#include "nearmiss/report_view.h"
#include "nearmiss/model.h"
#include "nearmiss/score.h"
#include "nearmiss/utf8.h"
#include "nearmiss/util.h"
#include "nearmiss/writers.h"
#include "report/write.h"

#define N_SEV         5 /* info..critical, indexed by enum nm_severity */
#define TOP_RISKS     10
#define EVIDENCE_CAP  (32 * 1024) /* bytes of evidence shown per finding */
#define GENERIC_CAP   2000        /* bytes of an unknown field shown */
#define CHANGE_CAP    50          /* items per list before "and N more" */
#define LIST_CAP      100         /* rows of a static list of hosts */
#define NOJS_HOSTS    25          /* hosts shown as static HTML (no script) */
#define HOST_CHUNK    250         /* hosts per data block: the script reads one at a time */
#define NOJS_FINDINGS 5           /* findings per host there */

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
    "#hostlist{display:none}.js #hostlist{display:block}",
    ".pager{display:none;flex-wrap:wrap;gap:8px 12px;align-items:center;padding:8px 12px;",
    "border-top:1px solid var(--line)}",
    ".js .pager{display:flex}",
    ".pager output{color:var(--muted);font-size:.88rem}",
    ".pager button{font:inherit;font-size:.92rem;color:var(--fg);padding:5px 10px;",
    "border:1px solid #8c959f;border-radius:6px;background:#f3f4f6;min-height:34px;cursor:pointer}",
    ".pager button:disabled{cursor:default;color:var(--muted)}",
    "#worst-hosts .fhead .host-name{overflow-wrap:anywhere}",
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
    ".filters button,.pager button{background:#21262d;border-color:#6e7681}",
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
    ".filters,.nojs,.pager,.thead button::after{display:none!important}",
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
    ".finding .fix,.finding .waiver,.finding .links,.finding .pts,.fhead "
    ".badge-age{display:none!important}",
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
    ".finding{margin:1px 0;padding:1px 6px;border-width:0 0 0 "
    "3px;border-radius:0;break-inside:avoid}",
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
 * The script: the host table (a page of rows at a time, built from the
 * index data block), sorting and filtering on that data, each host's details
 * built when it is opened from its line of the hosts data block (text only:
 * textContent and createTextNode, never markup), opening the target of
 * in-page links, and opening everything for print.  It must never contain
 * the two characters that end a script element.
 */
static const char *const js_lines[] = {
    "(function () {",
    "\"use strict\";",
    "var d = document;",
    "d.documentElement.classList.add(\"js\");",
    "var box = d.getElementById(\"hostlist\"), list = d.getElementById(\"hostrows\");",
    "var still = d.getElementById(\"worst-hosts\");",
    "if (still) still.parentNode.removeChild(still);",
    "var SEVN = [\"info\", \"low\", \"medium\", \"high\", \"critical\"];",
    "var SEV = {info: 0, low: 1, medium: 2, high: 3, critical: 4};",
    "function sevOf(s) { return Object.prototype.hasOwnProperty.call(SEV, s) ? SEV[s] : -1; }",
    "function data(id) {",
    "  var e = d.getElementById(id);",
    "  try { return e ? JSON.parse(e.textContent) : null; } catch (err) { return null; }",
    "}",
    "function add(p, tag, cls, text) {",
    "  var e = d.createElement(tag);",
    "  if (cls) e.className = cls;",
    "  if (text !== undefined && text !== null) e.textContent = String(text);",
    "  if (p) p.appendChild(e);",
    "  return e;",
    "}",
    "function txt(p, s) { p.appendChild(d.createTextNode(String(s))); }",
    "/* Rows: what the table, the sort and the filters need of every host. */",
    "var rows = (data(\"nm-index\") || []).map(function (a) {",
    "  return {i: a[0], name: String(a[1]), addr: a[2], status: String(a[3]), stTitle: a[4],",
    "    stOk: a[5], scoreText: a[6], score: a[6] === null ? -1 : Number(a[6]), counts: a[7],",
    "    waived: a[8], roles: a[9], os: a[10], pairs: a[11], text: String(a[12]).toLowerCase(),",
    "    ok: a[13], el: null};",
    "});",
    "var coll = new Intl.Collator(undefined, {numeric: true, sensitivity: \"base\"});",
    "/* Collation is slow next to a number: rank the names and statuses once. */",
    "rows.slice().sort(function (a, b) { return coll.compare(a.name, b.name); })",
    "  .forEach(function (r, k) { r.nr = k; });",
    "var sts = rows.map(function (r) { return r.status; }).filter(function (s, k, a) { return "
    "a.indexOf(s) === k; });",
    "sts.sort(function (a, b) { return ((a === \"ok\") - (b === \"ok\")) || coll.compare(a, b); "
    "});",
    "rows.forEach(function (r) { r.sr = sts.indexOf(r.status); });",
    "/* Details: one JSON line per host, in blocks of data-chunk hosts; a block",
    " * is read when one of its hosts is opened, a line parsed when its host is. */",
    "var CH = Number(box && box.getAttribute(\"data-chunk\")) || 1, chunks = null, lines = {};",
    "var strs = null;",
    "function detail(i) {",
    "  if (!chunks) chunks = d.querySelectorAll(\"script.nm-hosts\");",
    "  var k = Math.floor(i / CH);",
    "  if (!lines[k]) lines[k] = chunks[k] ? chunks[k].textContent.split(\"\\n\") : [];",
    "  try {",
    "    var h = JSON.parse(lines[k][i - k * CH + 1]);",
    "    return h && h.i === i ? h : null;",
    "  } catch (err) { return null; }",
    "}",
    "function fixText(f) {",
    "  if (f.fix !== undefined) return f.fix;",
    "  if (f.fx === undefined) return undefined;",
    "  if (!strs) strs = data(\"nm-strings\") || [];",
    "  return strs[f.fx] !== undefined ? strs[f.fx] : \"\";",
    "}",
    "var SEVT = [\"Info\", \"Low\", \"Medium\", \"High\", \"Critical\"];",
    "var CATS = {patch: \"Patches\", reboot: \"Pending reboot\", cert: \"Certificates\",",
    "  disk: \"Filesystems\", smart: \"Drives (SMART)\", spof: \"Single points of failure\", "
    "health: \"Health\"};",
    "function sevName(n) { return n >= 0 && n < 5 ? SEVN[n] : \"\"; }",
    "function sevTitle(n) { return n >= 0 && n < 5 ? SEVT[n] : \"Unknown\"; }",
    "function md(p, s) {",
    "  var at = 0;",
    "  for (;;) {",
    "    var o = s.indexOf(\"`\", at), c = o < 0 ? -1 : s.indexOf(\"`\", o + 1);",
    "    if (o < 0 || c < 0) { if (at < s.length) txt(p, s.slice(at)); return; }",
    "    if (o > at) txt(p, s.slice(at, o));",
    "    if (c > o + 1) add(p, \"code\", null, s.slice(o + 1, c));",
    "    at = c + 1;",
    "  }",
    "}",
    "function table(parent, heads, numFrom) {",
    "  var t = add(add(parent, \"div\", \"scroll\"), \"table\", \"grid\");",
    "  var tr = add(add(t, \"thead\"), \"tr\");",
    "  heads.forEach(function (x, k) { add(tr, \"th\", k >= numFrom ? \"num\" : null, x); });",
    "  return add(t, \"tbody\");",
    "}",
    "function finding(ol, i, f) {",
    "  var li = add(ol, \"li\", f.w ? \"finding waived\" : \"finding\");",
    "  li.id = \"h-\" + i + \"-f-\" + f.j;",
    "  li.setAttribute(\"data-sev\", sevName(f.n));",
    "  li.setAttribute(\"data-sevn\", f.n >= 0 ? String(f.n) : \"\");",
    "  li.setAttribute(\"data-cat\", f.c);",
    "  var hd = add(li, \"div\", \"fhead\");",
    "  add(hd, \"span\", \"sev sev-\" + (f.n >= 0 && f.n < 5 ? SEVN[f.n] : \"unknown\"), "
    "sevTitle(f.n));",
    "  add(hd, \"span\", \"badge\", f.ct !== undefined ? f.ct :",
    "    Object.prototype.hasOwnProperty.call(CATS, f.c) ? CATS[f.c] : f.c);",
    "  if (f.sub !== undefined) add(hd, \"code\", \"subject\", f.sub);",
    "  (f.b || []).forEach(function (b) {",
    "    var e = add(hd, \"span\", b[0], b[1]);",
    "    if (b[2]) e.title = b[2];",
    "  });",
    "  add(hd, \"span\", \"pts\", f.w ? \"counts 0 (waived)\" : \"fixing it: \\u2212\" + f.p);",
    "  add(li, \"p\", \"msg\", f.msg);",
    "  var fixt = fixText(f);",
    "  if (fixt !== undefined) {",
    "    var fx = add(li, \"p\", \"fix\");",
    "    add(fx, \"strong\", null, \"Fix: \");",
    "    md(fx, fixt);",
    "  }",
    "  if (f.ln && f.ln.length) {",
    "    var lp = add(li, \"p\", \"links\");",
    "    add(lp, \"strong\", null, \"See: \");",
    "    f.ln.forEach(function (l, k) {",
    "      if (k) txt(lp, \" \\u00b7 \");",
    "      var a = add(lp, \"a\", null, l[1]);",
    "      if (/^https:\\/\\/[^\\s\"'<>\\\\]+$/.test(l[0])) a.setAttribute(\"href\", l[0]);",
    "      a.setAttribute(\"rel\", \"noreferrer\");",
    "    });",
    "  }",
    "  if (f.wv) {",
    "    var w = add(li, \"p\", \"waiver\");",
    "    add(w, \"span\", f.wv[0], f.wv[1]);",
    "    txt(w, f.wv[2]);",
    "  }",
    "  var more = add(li, \"details\", \"more\");",
    "  add(more, \"summary\", null, \"Evidence and details\");",
    "  if (f.ev !== undefined) add(more, \"pre\", \"evidence\", f.ev);",
    "  if (f.kv) add(more, \"pre\", \"kv\", f.kv);",
    "}",
    "function fill(det) {",
    "  var body = det.lastChild;",
    "  if (!body || body.getAttribute(\"data-filled\")) return;",
    "  body.setAttribute(\"data-filled\", \"1\");",
    "  var i = Number(det.id.slice(2)), h = detail(i);",
    "  if (!h) { add(body, \"p\", \"err\", \"The details of this host could not be read.\"); "
    "return; }",
    "  if (h.er) {",
    "    var p = add(body, \"p\", \"err\");",
    "    add(p, \"strong\", null, h.er[0]);",
    "    txt(p, h.er[1]);",
    "  }",
    "  var dl = add(body, \"dl\", \"facts\");",
    "  (h.fa || []).forEach(function (kv) {",
    "    var dv = add(dl, \"div\");",
    "    add(dv, \"dt\", null, kv[0]);",
    "    add(dv, \"dd\", null, kv[1]);",
    "  });",
    "  var fs = h.f || [];",
    "  add(body, \"h3\", null, \"Findings (\" + fs.length + \")\");",
    "  if (!fs.length) add(body, \"p\", \"note\", h.ok ? \"Nothing found.\" : \"Not scanned: "
    "nothing known.\");",
    "  else {",
    "    var ol = add(body, \"ol\", \"findings\");",
    "    fs.forEach(function (f) { finding(ol, i, f); });",
    "  }",
    "  if (h.ck) {",
    "    add(body, \"h3\", null, \"Checks\");",
    "    var tb = table(body, [\"Check\", \"Result\", \"Detail\"], 9);",
    "    h.ck.forEach(function (k) {",
    "      var tr = add(tb, \"tr\");",
    "      add(tr, \"td\", \"mono\", k[0]);",
    "      add(add(tr, \"td\"), \"span\", k[1] === \"fail\" || k[1] === \"error\" ? \"st st-bad\" "
    ":",
    "        k[1] === \"pass\" ? \"st st-ok\" : \"badge\", k[1]);",
    "      add(tr, \"td\", null, k[2]);",
    "    });",
    "  }",
    "  if (h.me) {",
    "    add(body, \"h3\", null, \"Measurements\");",
    "    h.me.forEach(function (m) {",
    "      var x = add(body, \"details\", \"more\");",
    "      add(x, \"summary\", null, m[0]);",
    "      if (m[1]) add(x, \"pre\", \"kv\", m[1]);",
    "    });",
    "  }",
    "  if (h.bd) {",
    "    add(body, \"h3\", null, \"Score breakdown\");",
    "    var lk = (box.getAttribute(\"data-lk\") || \"\").split(\" \");",
    "    add(body, \"p\", \"note\", \"Each finding is a chance of an outage within 30 days "
    "(critical \" +",
    "      lk[0] + \" %, high \" + lk[1] + \" %, medium \" + lk[2] + \" %, low \" + lk[3] +",
    "      \" %), stretched by its urgency and the host's criticality (\\u00d7\" + h.bd[0] +",
    "      \"); the score is the chance that at least one strikes. The column says how much \" +",
    "      \"fixing each finding lowers the score. Waived findings count 0.\");",
    "    var bt = table(body, [\"Finding\", \"Severity\", \"Fixing it\"], 2);",
    "    bt.parentNode.setAttribute(\"data-role\", \"breakdown\");",
    "    fs.filter(function (f) { return !f.w && f.n >= 1; })",
    "      .sort(function (a, b) { return a.j - b.j; })",
    "      .forEach(function (f) {",
    "        var tr = add(bt, \"tr\");",
    "        var a = add(add(tr, \"td\"), \"a\", null, f.k + \" \\u00b7 \" + (f.sub !== undefined "
    "? f.sub : \"\"));",
    "        a.setAttribute(\"href\", \"#h-\" + i + \"-f-\" + f.j);",
    "        add(tr, \"td\", null, sevTitle(f.n));",
    "        add(tr, \"td\", \"num\", f.p);",
    "      });",
    "    var last = add(bt, \"tr\");",
    "    add(last, \"th\", null, \"Score\");",
    "    add(last, \"td\");",
    "    add(last, \"td\", \"num\", h.bd[1]);",
    "  }",
    "}",
    "function rowEl(r) {",
    "  if (r.el) return r.el;",
    "  var det = add(null, \"details\", \"host\");",
    "  det.id = \"h-\" + r.i;",
    "  det.setAttribute(\"data-name\", r.name);",
    "  det.setAttribute(\"data-score\", r.scoreText === null ? \"\" : r.scoreText);",
    "  det.setAttribute(\"data-status\", r.status);",
    "  var sum = add(det, \"summary\");",
    "  var cn = add(sum, \"span\", \"c-name\");",
    "  add(cn, \"span\", \"host-name\", r.name);",
    "  if (r.addr) add(cn, \"span\", \"addr\", r.addr);",
    "  add(add(sum, \"span\", \"c-status\"), \"span\", r.stOk ? \"st st-ok\" : \"st st-bad\", "
    "r.stTitle);",
    "  var sc = add(sum, \"span\", \"c-score\");",
    "  add(sc, \"span\", \"lbl\", \"score\");",
    "  add(sc, \"span\", \"score\", r.scoreText === null ? \"unknown\" : r.scoreText);",
    "  if (r.scoreText !== null) {",
    "    var m = add(sc, \"span\", \"meter\");",
    "    m.setAttribute(\"aria-hidden\", \"true\");",
    "    add(m, \"span\").style.width = Math.max(0, Math.min(100, Math.round(r.score))) + \"%\";",
    "  }",
    "  var cf = add(sum, \"span\", \"c-find\"), any = false;",
    "  for (var s = 4; s >= 0; s--) {",
    "    if (!r.counts[s]) continue;",
    "    add(cf, \"span\", \"sev sev-\" + SEVN[s], r.counts[s] + \" \" + SEVN[s]);",
    "    any = true;",
    "  }",
    "  if (r.waived) { add(cf, \"span\", \"badge badge-waived\", r.waived + \" waived\"); any = "
    "true; }",
    "  if (!any) add(cf, \"span\", \"none\", r.ok ? \"no findings\" : \"not scanned\");",
    "  var cr = add(sum, \"span\", \"c-roles\");",
    "  add(cr, \"span\", \"lbl\", \"roles\");",
    "  if (r.roles.length) txt(cr, r.roles.join(\", \"));",
    "  else add(cr, \"span\", \"none\", \"\\u2014\");",
    "  var co = add(sum, \"span\", \"c-os\");",
    "  if (r.os) txt(co, r.os);",
    "  else add(co, \"span\", \"none\", \"\\u2014\");",
    "  add(det, \"div\", \"hostbody\");",
    "  r.el = det;",
    "  return det;",
    "}",
    "var q = d.getElementById(\"f-q\"), fsev = d.getElementById(\"f-sev\");",
    "var fcat = d.getElementById(\"f-cat\"), frole = d.getElementById(\"f-role\");",
    "var fsort = d.getElementById(\"f-sort\"), count = d.getElementById(\"f-count\");",
    "var empty = d.getElementById(\"f-empty\"), fpage = d.getElementById(\"f-page\");",
    "var PAGE = 100, page = 0, view = rows.slice();",
    "var key = \"score\", dir = -1;",
    "function cmp(a, b) {",
    "  var c = 0;",
    "  if (key === \"score\") {",
    "    /* Unscanned hosts (no score) stay last both ways: unknown is not safe. */",
    "    if ((a.score < 0) !== (b.score < 0)) return a.score < 0 ? 1 : -1;",
    "    c = a.score - b.score;",
    "  }",
    "  else if (key === \"status\") c = a.sr - b.sr;",
    "  else c = a.nr - b.nr;",
    "  return c * dir || a.nr - b.nr;",
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
    "/* Only the page shown is in the document: a few thousand rows are slow to",
    " * lay out, sort and filter as elements; as data they take milliseconds. */",
    "function render() {",
    "  if (!list) return;",
    "  var n = view.length, pages = Math.max(1, Math.ceil(n / PAGE));",
    "  if (page >= pages) page = pages - 1;",
    "  if (page < 0) page = 0;",
    "  var frag = d.createDocumentFragment(), end = Math.min(n, (page + 1) * PAGE);",
    "  for (var k = page * PAGE; k < end; k++) frag.appendChild(rowEl(view[k]));",
    "  list.textContent = \"\";",
    "  list.appendChild(frag);",
    "  if (count) count.textContent = n === rows.length ? \"all \" + rows.length + \" hosts "
    "shown\" :",
    "    n + \" of \" + rows.length + \" hosts shown\";",
    "  if (empty) empty.hidden = n !== 0;",
    "  if (fpage) fpage.textContent = n ? \"hosts \" + (page * PAGE + 1) + \"\\u2013\" + end + \" "
    "of \" + n +",
    "    \" (page \" + (page + 1) + \" of \" + pages + \")\" : \"\";",
    "  var pv = d.querySelector(\"[data-act=prev]\"), nx = d.querySelector(\"[data-act=next]\");",
    "  if (pv) pv.disabled = page === 0;",
    "  if (nx) nx.disabled = page >= pages - 1;",
    "  box.setAttribute(\"data-pages\", String(pages));",
    "  box.setAttribute(\"data-page\", String(page + 1));",
    "  box.setAttribute(\"data-sort-state\", \"done\");",
    "}",
    "function sortBy(k, dr) {",
    "  key = k; dir = dr;",
    "  view.sort(cmp);",
    "  page = 0;",
    "  mark();",
    "  render();",
    "}",
    "function apply() {",
    "  if (!q) return;",
    "  var terms = q.value.toLowerCase().split(/\\s+/).filter(Boolean);",
    "  var ms = sevOf(fsev.value), c = fcat.value, ro = frole.value;",
    "  view = rows.filter(function (r) {",
    "    var ok = true, j;",
    "    for (j = 0; ok && j < terms.length; j++) ok = r.text.indexOf(terms[j]) >= 0;",
    "    if (ok && (ms >= 0 || c)) {",
    "      ok = false;",
    "      for (j = 0; !ok && j < r.pairs.length; j++)",
    "        ok = r.pairs[j][0] >= ms && (!c || r.pairs[j][1] === c);",
    "    }",
    "    if (ok && ro) ok = r.roles.indexOf(ro) >= 0;",
    "    return ok;",
    "  });",
    "  view.sort(cmp);",
    "  page = 0;",
    "  box.setAttribute(\"data-fsev\", ms >= 0 ? String(ms) : \"\");",
    "  box.setAttribute(\"data-fcat\", c);",
    "  render();",
    "}",
    "function reset() {",
    "  if (!q) return;",
    "  q.value = \"\"; fsev.value = \"\"; fcat.value = \"\"; frole.value = \"\"; apply();",
    "}",
    "/* A link to a host or one of its findings: the host's page, the host open. */",
    "function reveal(id) {",
    "  var m = /^h-(\\d+)(?:-f-\\d+)?$/.exec(id);",
    "  if (m) {",
    "    var r = rows[Number(m[1])];",
    "    if (r) {",
    "      var k = view.indexOf(r);",
    "      if (k < 0) { reset(); k = view.indexOf(r); }",
    "      if (k >= 0 && Math.floor(k / PAGE) !== page) { page = Math.floor(k / PAGE); render(); }",
    "      var det = rowEl(r);",
    "      fill(det);",
    "      det.open = true;",
    "    }",
    "  }",
    "  var el = d.getElementById(id);",
    "  if (!el) return null;",
    "  for (var p = el; p; p = p.parentElement) if (p.tagName === \"DETAILS\") p.open = true;",
    "  var host = el.closest(\"details.host\");",
    "  if (host) host.style.contentVisibility = \"visible\";",
    "  return el;",
    "}",
    "var pending = 0;",
    "function schedule() {",
    "  if (!pending) pending = requestAnimationFrame(function () { pending = 0; apply(); });",
    "}",
    "d.addEventListener(\"toggle\", function (e) {",
    "  var t = e.target;",
    "  if (t && t.classList && t.classList.contains(\"host\") && t.open) fill(t);",
    "}, true);",
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
    "    if (a === \"prev\" || a === \"next\") {",
    "      page += a === \"next\" ? 1 : -1;",
    "      render();",
    "      box.scrollIntoView();",
    "    }",
    "    Array.prototype.forEach.call(list.children, function (r) {",
    "      if (a === \"expand\") { fill(r); r.open = true; }",
    "      if (a === \"collapse\") r.open = false;",
    "    });",
    "    if (a === \"reset\") reset();",
    "    return;",
    "  }",
    "  var l = t.closest(\"a[href]\");",
    "  var h = l ? l.getAttribute(\"href\") : \"\";",
    "  var el = h.charAt(0) === \"#\" ? reveal(h.slice(1)) : null;",
    "  /* Scroll here, after reveal() made the target's host laid out, rather",
    "   * than leave it to the browser's fragment scroll. */",
    "  if (el) {",
    "    e.preventDefault();",
    "    if (location.hash !== h) history.pushState(null, \"\", h);",
    "    el.scrollIntoView();",
    "  }",
    "});",
    "var reopened = [];",
    "window.addEventListener(\"beforeprint\", function () {",
    "  Array.prototype.forEach.call(list.children, fill);",
    "  var all = d.querySelectorAll(\"details:not([open])\");",
    "  for (var i = 0; i < all.length; i++) { all[i].open = true; reopened.push(all[i]); }",
    "});",
    "window.addEventListener(\"afterprint\", function () {",
    "  reopened.forEach(function (x) { x.open = false; });",
    "  reopened = [];",
    "});",
    "view.sort(cmp);",
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

/* What the page needs of one host once its JSON is gone: the hosts come one
 * at a time (nearmiss/hostiter.h), and only this stays between passes. */
struct hinfo {
    const json_t *h; /* valid only while the host is being looked at */
    char *name;      /* cleaned */
    char *status;    /* as in the report (NULL when absent) */
    char *error;     /* cleaned and capped; kept for unscanned or partial hosts */
    bool ok;         /* status "ok" */
    bool has_score;
    bool has_span; /* scan.start_ms / end_ms */
    double score;
    int64_t start_ms, end_ms;
    int crit_rank;     /* 0 low, 1 medium (default), 2 high, 3 critical */
    int counts[N_SEV]; /* findings not waived, per severity */
    size_t n_findings, n_waived;
    double *points; /* per finding, from score_breakdown; only while looked at */
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
    char *key;  /* one fix: check, then advisory or subject */
    size_t cat; /* a host finding's category (ctx.cats) */
};

#define FIX_HOSTS_SHOWN 3

/* One entry of the "fix first" list: the same fix on every host it is on. */
struct fix {
    struct risk first; /* the one worth most */
    size_t n_hosts;
    long hosts[FIX_HOSTS_SHOWN];
    size_t findings[FIX_HOSTS_SHOWN];
};

/* The message of the best candidate of each fix, kept while the hosts pass:
 * "fix first" is written before the hosts, and by then they are gone. */
struct fixmsg {
    const char *key; /* a risk's key (owned by ctx.risks) */
    struct risk best;
    char *msg; /* cleaned, capped */
};

struct ctx {
    const json_t *report;
    struct hinfo *hosts;
    size_t n_hosts, cap_hosts;
    size_t *order;   /* host indices: score descending, unknown last, then name */
    size_t *rank;    /* the inverse of order */
    size_t *by_name; /* host indices by name, for links by name */
    struct catinfo *cats;
    size_t n_cats;
    char **roles;
    size_t n_roles;
    struct risk *risks; /* every candidate */
    size_t n_risks;
    struct fixmsg *msgs; /* open addressing on the fix's key */
    size_t n_msgs, cap_msgs;
    struct fix top[TOP_RISKS];
    size_t n_top;
    int sev_total[N_SEV];
    size_t n_waived, n_scanned;
    /* "What changed": the first CHANGE_CAP per severity (low..critical),
     * host order, and how many there are in all. */
    json_t *news[N_SEV], *worse[N_SEV];
    size_t n_news, n_worse;
    int64_t now; /* the scan's start, for the age of findings */
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

static void buf_value(struct nm_buf *b, const json_t *v, size_t cap);

/* A JSON value as buf_value shows it, cleaned, as a malloc'd string. */
static char *clean_value(const json_t *v, size_t cap)
{
    struct nm_buf b;
    nm_buf_init(&b, SIZE_MAX);
    buf_value(&b, v, cap);
    char *s = nm_utf8_clean(b.data ? b.data : "", b.len);
    nm_buf_finish(&b);
    return s;
}

static uint64_t fnv1a(const char *s)
{
    uint64_t h = 14695981039346656037u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211u;
    return h;
}

static struct fixmsg *msg_slot(struct ctx *c, const char *key)
{
    if (2 * (c->n_msgs + 1) > c->cap_msgs) {
        size_t cap = c->cap_msgs ? 2 * c->cap_msgs : 256;
        struct fixmsg *t = nm_xcalloc(cap, sizeof *t);
        for (size_t i = 0; i < c->cap_msgs; i++) {
            if (!c->msgs[i].key)
                continue;
            size_t k = fnv1a(c->msgs[i].key) & (cap - 1);
            while (t[k].key)
                k = (k + 1) & (cap - 1);
            t[k] = c->msgs[i];
        }
        free(c->msgs);
        c->msgs = t;
        c->cap_msgs = cap;
    }
    size_t m = c->cap_msgs - 1, i = fnv1a(key) & m;
    while (c->msgs[i].key && strcmp(c->msgs[i].key, key) != 0)
        i = (i + 1) & m;
    return &c->msgs[i];
}

static const struct fixmsg *msg_find(const struct ctx *c, const char *key)
{
    if (!c->cap_msgs)
        return NULL;
    size_t m = c->cap_msgs - 1, i = fnv1a(key) & m;
    while (c->msgs[i].key && strcmp(c->msgs[i].key, key) != 0)
        i = (i + 1) & m;
    return c->msgs[i].key ? &c->msgs[i] : NULL;
}

/* Keeps the message and category of the best candidate of each fix. */
static void note_fix(struct ctx *c, const struct risk *r, const json_t *f)
{
    struct fixmsg *m = msg_slot(c, r->key);
    if (m->key && cmp_risk(r, &m->best) >= 0)
        return;
    if (!m->key) {
        m->key = r->key;
        c->n_msgs++;
    }
    m->best = *r;
    free(m->msg);
    m->msg = clean_value(json_object_get(f, "message"), GENERIC_CAP);
}

static void ctx_begin(struct ctx *c, const json_t *report, size_t n_hint)
{
    memset(c, 0, sizeof *c);
    c->report = report;
    for (size_t i = 0; i < N_KNOWN_CATS; i++) {
        json_t *k = json_string(known_cats[i]);
        cat_index(c, k);
        json_decref(k);
    }
    c->cap_hosts = n_hint ? n_hint : 16;
    c->hosts = nm_xcalloc(c->cap_hosts, sizeof *c->hosts);
    if (nm_utc_parse(str(report, "started_at"), &c->now) < 0)
        c->now = 0;
}

/* A finding that is new or worse since the previous run, for "What
 * changed": copied, since the host is gone when the section is written. */
static void note_change(struct ctx *c, const json_t *h, const json_t *f)
{
    const char *ch = str(f, "change"), *ps = str(f, "previous_severity");
    int s = nm_view_severity(f);
    if (!ch || s < NM_SEV_LOW)
        return;
    bool is_new = strcmp(ch, "new") == 0;
    if (!is_new && !(ps && nm_severity_from_name(ps) < s))
        return;
    json_t **arr = is_new ? c->news : c->worse;
    *(is_new ? &c->n_news : &c->n_worse) += 1;
    if (!arr[s])
        arr[s] = json_array();
    if (json_array_size(arr[s]) >= CHANGE_CAP)
        return;
    json_t *g = json_pack("{s:o?, s:o?, s:o?, s:o?}", "severity",
                          json_deep_copy(json_object_get(f, "severity")), "message",
                          json_deep_copy(json_object_get(f, "message")), "subject",
                          json_deep_copy(json_object_get(f, "subject")), "_host",
                          json_deep_copy(json_object_get(h, "name")));
    if (!g)
        return;
    if (!is_new)
        json_object_set_new(g, "_note", json_sprintf("was %s", ps));
    json_array_append_new(arr[s], g);
}

/* The first pass: everything about a host that a section above the host
 * list needs, kept compact. */
static void ctx_add_host(struct ctx *c, const json_t *h)
{
    if (c->n_hosts == c->cap_hosts) {
        c->cap_hosts *= 2;
        c->hosts = nm_xreallocarray(c->hosts, c->cap_hosts, sizeof *c->hosts);
    }
    size_t i = c->n_hosts++, j;
    struct hinfo *hi = &c->hosts[i];
    memset(hi, 0, sizeof *hi);
    hi->h = h;
    hi->name = nm_utf8_clean_json(json_object_get(h, "name"));
    if (!hi->name)
        hi->name = nm_xasprintf("(host %zu)", i + 1);
    if (str(h, "status"))
        hi->status = nm_xstrdup(str(h, "status"));
    hi->ok = nm_view_host_ok(h);
    c->n_scanned += hi->ok;
    if (!hi->ok || json_is_string(json_object_get(h, "error")))
        hi->error = clean_value(json_object_get(h, "error"), GENERIC_CAP);
    const json_t *sc = json_object_get(h, "score");
    hi->has_score = json_is_number(sc);
    hi->score = hi->has_score ? json_number_value(sc) : 0;
    const json_t *scan = json_object_get(h, "scan");
    const json_t *st = json_object_get(scan, "start_ms"), *en = json_object_get(scan, "end_ms");
    if (json_is_integer(st) && json_is_integer(en) && json_integer_value(st) >= 0 &&
        json_integer_value(en) >= json_integer_value(st)) {
        hi->has_span = true;
        hi->start_ms = json_integer_value(st);
        hi->end_ms = json_integer_value(en);
    }
    hi->crit_rank = crit_rank(str(h, "criticality"));
    hi->n_findings = json_array_size(json_object_get(h, "findings"));
    host_points(hi);
    const json_t *f;
    json_array_foreach (json_object_get(h, "roles"), j, f)
        add_role(c, f);
    json_array_foreach (json_object_get(h, "findings"), j, f) {
        note_change(c, h, f);
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
        if (s >= NM_SEV_LOW || hi->points[j] > 0) {
            add_risk(c, (struct risk){(long)i, j, hi->points[j], s, hi->crit_rank,
                                      risk_key(f, false), ci});
            note_fix(c, &c->risks[c->n_risks - 1], f);
        }
    }
    free(hi->points);
    hi->points = NULL;
    hi->h = NULL;
}

static int cmp_by_name(const void *a, const void *b)
{
    const struct order_key *x = a, *y = b;
    int n = strcmp(x->name, y->name);
    return n ? n : (x->index < y->index ? -1 : x->index > y->index);
}

static void ctx_end(struct ctx *c)
{
    const json_t *report = c->report;
    size_t i;
    const json_t *f;
    json_array_foreach (json_object_get(report, "fleet_findings"), i, f) {
        int s = nm_view_severity(f);
        size_t ci = cat_index(c, json_object_get(f, "category"));
        if (s >= 0) {
            c->sev_total[s]++;
            c->cats[ci].counts[s]++;
        }
        if (s >= NM_SEV_LOW && nm_view_active(f))
            add_risk(c, (struct risk){-1, i, fleet_points(report, f), s, 4, risk_key(f, true), ci});
    }
    pick_top(c);
    c->order = nm_xcalloc(c->n_hosts + 1, sizeof *c->order);
    c->rank = nm_xcalloc(c->n_hosts + 1, sizeof *c->rank);
    c->by_name = nm_xcalloc(c->n_hosts + 1, sizeof *c->by_name);
    struct order_key *keys = nm_xcalloc(c->n_hosts + 1, sizeof *keys);
    for (i = 0; i < c->n_hosts; i++)
        keys[i] = (struct order_key){i, c->hosts[i].has_score, c->hosts[i].score, c->hosts[i].name};
    if (c->n_hosts > 1)
        qsort(keys, c->n_hosts, sizeof *keys, cmp_order);
    for (i = 0; i < c->n_hosts; i++) {
        c->order[i] = keys[i].index;
        c->rank[keys[i].index] = i;
    }
    if (c->n_hosts > 1)
        qsort(keys, c->n_hosts, sizeof *keys, cmp_by_name);
    for (i = 0; i < c->n_hosts; i++)
        c->by_name[i] = keys[i].index;
    free(keys);
}

static void ctx_finish(struct ctx *c)
{
    for (size_t i = 0; i < c->n_hosts; i++) {
        free(c->hosts[i].name);
        free(c->hosts[i].status);
        free(c->hosts[i].error);
        free(c->hosts[i].points);
    }
    free(c->hosts);
    free(c->order);
    free(c->rank);
    free(c->by_name);
    for (size_t i = 0; i < c->n_cats; i++)
        free(c->cats[i].name);
    free(c->cats);
    for (size_t i = 0; i < c->n_roles; i++)
        free(c->roles[i]);
    free(c->roles);
    for (size_t i = 0; i < c->cap_msgs; i++)
        free(c->msgs[i].msg);
    free(c->msgs);
    for (size_t i = 0; i < c->n_risks; i++)
        free(c->risks[i].key);
    free(c->risks);
    for (int s = 0; s < N_SEV; s++) {
        json_decref(c->news[s]);
        json_decref(c->worse[s]);
    }
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
    char *want = nm_utf8_clean_json(name);
    if (!want)
        return -1;
    size_t lo = 0, hi = c->n_hosts;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(c->hosts[c->by_name[mid]].name, want) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    long r = lo < c->n_hosts && strcmp(c->hosts[c->by_name[lo]].name, want) == 0
                 ? (long)c->by_name[lo]
                 : -1;
    free(want);
    return r;
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

static int64_t start_of(const struct ctx *c, size_t host)
{
    return c->hosts[host].start_ms;
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
        const struct hinfo *sp = &c->hosts[i];
        if (!sp->has_span)
            continue;
        double d = (double)(sp->end_ms - sp->start_ms);
        if ((double)sp->end_ms > max_end)
            max_end = (double)sp->end_ms;
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
        double st = (double)hi->start_ms;
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
        const json_t *f = fleet ? json_array_get(ff, r->finding) : NULL;
        const struct fixmsg *fm = fleet ? NULL : msg_find(c, r->key);
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
        if (fleet)
            text_value(what, json_object_get(f, "message"), GENERIC_CAP);
        else
            text(what, fm && fm->msg ? fm->msg : "");
        char pts[32];
        format_points(pts, sizeof pts, r->points);
        xmlNodePtr p = el(li, "span", "pts");
        textf(p, "\xe2\x88\x92%s \xc2\xb7 %s", pts,
              cat_title(fleet ? str(f, "category") : c->cats[r->cat].name));
    }
}

/* ---- history: what changed, and the ledger ------------------------------ */

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
                        size_t total, const struct ctx *c)
{
    xmlNodePtr h3 = el(sec, "h3", NULL);
    textf(h3, "%s (%zu)", title, total);
    if (total == 0) {
        el_text(sec, "p", "note", "None.");
        return;
    }
    xmlNodePtr ul = el(sec, "ul", "risks");
    attr(ul, "id", id);
    size_t i;
    json_t *f;
    json_array_foreach (items, i, f) {
        if (i == CHANGE_CAP)
            break;
        change_item(ul, c, str(f, "_host"), f, str(f, "_note"));
    }
    if (total > CHANGE_CAP)
        textf(el(ul, "li", "note"), "and %zu more (the JSON report lists them all)",
              total - CHANGE_CAP);
}

/* Worst first; within one severity, hosts in report order, then the fleet. */
static json_t *by_sev(json_t *const *host_items, const json_t *fleet, size_t *total)
{
    json_t *out = json_array();
    for (int s = NM_SEV_CRITICAL; s >= -1; s--) {
        size_t i;
        json_t *f;
        if (s >= 0)
            json_array_extend(out, host_items[s] ? host_items[s] : NULL);
        json_array_foreach ((json_t *)fleet, i, f) {
            if (nm_view_severity(f) == s || (s == -1 && nm_view_severity(f) < -1)) {
                json_array_append(out, f);
                (*total)++;
            }
        }
    }
    return out;
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
    json_t *fleet_new = json_array(), *gone = json_array();
    size_t j;
    json_t *f;
    json_array_foreach (json_object_get(c->report, "fleet_findings"), j, f) {
        const char *ch = str(f, "change");
        if (ch && strcmp(ch, "new") == 0)
            json_array_append(fleet_new, f);
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
    json_t *none[N_SEV] = {NULL};
    size_t n_news = c->n_news, n_worse = c->n_worse, n_gone = 0;
    json_t *news = by_sev(c->news, fleet_new, &n_news);
    json_t *worse = by_sev(c->worse, NULL, &n_worse);
    json_t *gone_sorted = by_sev(none, gone, &n_gone);
    xmlNodePtr p = el(sec, "p", "note");
    textf(p, "%zu new, %zu worse, %zu resolved since the previous run.", n_news, n_worse, n_gone);
    change_list(sec, "New", "changes-new", news, n_news, c);
    change_list(sec, "Worse", "changes-worse", worse, n_worse, c);
    change_list(sec, "Resolved", "changes-resolved", gone_sorted, n_gone, c);
    json_decref(news);
    json_decref(worse);
    json_decref(gone_sorted);
    json_decref(fleet_new);
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
        if (c->hosts[i].ok && c->hosts[i].error)
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
            const char *st = c->hosts[c->order[k]].status;
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
                const char *s2 = c->hosts[q].status;
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
        size_t shown = 0;
        for (size_t k = 0; k < c->n_hosts && shown < LIST_CAP; k++) {
            size_t i = c->order[k];
            if (c->hosts[i].ok)
                continue;
            tr = el(tb, "tr", NULL);
            attr(tr, "data-host", c->hosts[i].name);
            host_link(el(tr, "td", NULL), c, i, -1);
            status_badge(el(tr, "td", NULL), c->hosts[i].status);
            text(el(tr, "td", NULL), c->hosts[i].error);
            shown++;
        }
        if (failed > shown)
            textf(el(box, "p", "note"),
                  "and %zu more: sort the host list by \"not scanned first\" to see them all.",
                  failed - shown);
    }
    if (partial) {
        el_text(sec, "h3", NULL, "Scanned, but incompletely");
        xmlNodePtr tbl = stack_table(sec);
        xmlNodePtr tr = el(el(tbl, "thead", NULL), "tr", NULL);
        el_text(tr, "th", NULL, "Host");
        el_text(tr, "th", NULL, "What is missing");
        xmlNodePtr tb = el(tbl, "tbody", NULL);
        size_t shown = 0;
        for (size_t k = 0; k < c->n_hosts && shown < LIST_CAP; k++) {
            size_t i = c->order[k];
            if (!c->hosts[i].ok || !c->hosts[i].error)
                continue;
            tr = el(tb, "tr", NULL);
            host_link(el(tr, "td", NULL), c, i, -1);
            text(el(tr, "td", NULL), c->hosts[i].error);
            shown++;
        }
        if (partial > shown)
            textf(el(sec, "p", "note"), "and %zu more (the JSON report lists them all).",
                  partial - shown);
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

/* ---- the hosts: data for the script, a static list without it ----------- */

/*
 * A small JSON writer for the data blocks, straight into a buffer: 100 000
 * findings as jansson trees cost more than the rest of the page.  Strings
 * are cleaned as every text of the page is (nm_utf8_sanitize), then escaped
 * for a <script> element: quotes, backslashes and controls as JSON wants,
 * '<', '>' and '&' as \u003c etc. (so neither "</script" nor "<!--" can
 * appear), every non-ASCII character as \uXXXX (U+2028/9 included, and the
 * page stays ASCII).
 */
struct jw {
    struct nm_buf *b;
    struct nm_buf scratch, value;
    int depth;
    bool more[64]; /* a value was written at this depth */
};

static void jw_init(struct jw *w, struct nm_buf *b)
{
    memset(w, 0, sizeof *w);
    w->b = b;
    nm_buf_init(&w->scratch, SIZE_MAX);
    nm_buf_init(&w->value, SIZE_MAX);
}

static void jw_finish(struct jw *w)
{
    nm_buf_finish(&w->scratch);
    nm_buf_finish(&w->value);
}

static void jw_sep(struct jw *w)
{
    if (w->more[w->depth])
        nm_buf_append(w->b, ",", 1);
    w->more[w->depth] = true;
}

static void jw_open(struct jw *w, char c)
{
    jw_sep(w);
    nm_buf_append(w->b, &c, 1);
    if (w->depth < 63)
        w->depth++;
    w->more[w->depth] = false;
}

static void jw_close(struct jw *w, char c)
{
    nm_buf_append(w->b, &c, 1);
    if (w->depth > 0)
        w->depth--;
}

static size_t put_u(char *o, uint32_t cp)
{
    static const char hex[] = "0123456789abcdef";
    o[0] = '\\';
    o[1] = 'u';
    o[2] = hex[(cp >> 12) & 15];
    o[3] = hex[(cp >> 8) & 15];
    o[4] = hex[(cp >> 4) & 15];
    o[5] = hex[cp & 15];
    return 6;
}

/* Escapes clean UTF-8 (what nm_utf8_sanitize leaves), through a block on
 * the stack so the buffer is appended to once per 4 KiB. */
static void jw_escaped(struct nm_buf *b, const char *s, size_t len)
{
    static const bool special[128] = {
        ['"'] = true, ['\\'] = true, ['<'] = true, ['>'] = true, ['&'] = true};
    char out[4096];
    size_t o = 0;
    out[o++] = '"';
    for (size_t i = 0; i < len;) {
        if (o > sizeof out - 16) {
            nm_buf_append(b, out, o);
            o = 0;
        }
        unsigned char ch = (unsigned char)s[i];
        if (ch >= 0x20 && ch < 0x80 && !special[ch]) {
            out[o++] = (char)ch;
            i++;
            continue;
        }
        if (ch == '"' || ch == '\\') {
            out[o++] = '\\';
            out[o++] = (char)ch;
            i++;
        } else if (ch == '\n') {
            out[o++] = '\\';
            out[o++] = 'n';
            i++;
        } else if (ch == '\t') {
            out[o++] = '\\';
            out[o++] = 't';
            i++;
        } else if (ch < 0x80) {
            o += put_u(out + o, ch);
            i++;
        } else {
            uint32_t cp;
            size_t n;
            if (ch >= 0xf0 && i + 3 < len) {
                cp = (uint32_t)(ch & 0x07) << 18 | (uint32_t)(s[i + 1] & 0x3f) << 12 |
                     (uint32_t)(s[i + 2] & 0x3f) << 6 | (uint32_t)(s[i + 3] & 0x3f);
                n = 4;
            } else if (ch >= 0xe0 && ch < 0xf0 && i + 2 < len) {
                cp = (uint32_t)(ch & 0x0f) << 12 | (uint32_t)(s[i + 1] & 0x3f) << 6 |
                     (uint32_t)(s[i + 2] & 0x3f);
                n = 3;
            } else if (ch >= 0xc0 && ch < 0xe0 && i + 1 < len) {
                cp = (uint32_t)(ch & 0x1f) << 6 | (uint32_t)(s[i + 1] & 0x3f);
                n = 2;
            } else {
                cp = 0xfffd; /* cannot happen after cleaning; never trust it */
                n = 1;
            }
            if (cp >= 0x10000) {
                cp -= 0x10000;
                o += put_u(out + o, 0xd800 + (cp >> 10));
                o += put_u(out + o, 0xdc00 + (cp & 0x3ff));
            } else {
                o += put_u(out + o, cp);
            }
            i += n;
        }
    }
    out[o++] = '"';
    nm_buf_append(b, out, o);
}

static void jw_textn(struct jw *w, const char *s, size_t len)
{
    jw_sep(w);
    /* Most text is printable ASCII already, which cleaning leaves as it is. */
    size_t i = 0;
    while (i < len && (((unsigned char)s[i] >= 0x20 && (unsigned char)s[i] < 0x7f) ||
                       s[i] == '\n' || s[i] == '\t'))
        i++;
    if (i == len) {
        jw_escaped(w->b, s ? s : "", len);
        return;
    }
    nm_buf_reset(&w->scratch);
    nm_utf8_sanitize(&w->scratch, s ? s : "", s ? len : 0, SIZE_MAX, NM_UTF8_LINES);
    jw_escaped(w->b, w->scratch.data ? w->scratch.data : "", w->scratch.len);
}

static void jw_text(struct jw *w, const char *s)
{
    jw_textn(w, s, s ? strlen(s) : 0);
}

static void jw_buf(struct jw *w, const struct nm_buf *b)
{
    jw_textn(w, b->data ? b->data : "", b->len);
}

static void jw_value(struct jw *w, const json_t *v, size_t cap)
{
    nm_buf_reset(&w->value);
    buf_value(&w->value, v, cap);
    jw_buf(w, &w->value);
}

static void jw_textf(struct jw *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void jw_textf(struct jw *w, const char *fmt, ...)
{
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int len = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (len >= 0 && (size_t)len < sizeof small) {
        jw_textn(w, small, (size_t)len);
        return;
    }
    char *big = nm_xmalloc(len > 0 ? (size_t)len + 1 : 1);
    va_start(ap, fmt);
    vsnprintf(big, len > 0 ? (size_t)len + 1 : 1, fmt, ap);
    va_end(ap);
    jw_text(w, big);
    free(big);
}

/* A number or a literal we wrote ourselves. */
static void jw_raw(struct jw *w, const char *lit)
{
    jw_sep(w);
    nm_buf_appends(w->b, lit);
}

static void jw_int(struct jw *w, long long v)
{
    char n[24], *p = n + sizeof n - 1;
    unsigned long long u = v < 0 ? 0 - (unsigned long long)v : (unsigned long long)v;
    *p = '\0';
    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        *--p = '-';
    jw_raw(w, p);
}

static void jw_key(struct jw *w, const char *k)
{
    jw_sep(w);
    nm_buf_append(w->b, "\"", 1);
    nm_buf_appends(w->b, k);
    nm_buf_append(w->b, "\":", 2);
    w->more[w->depth] = false; /* the value follows without a comma */
}

static void jw_pair(struct jw *w, const char *term, const struct nm_buf *value)
{
    jw_open(w, '[');
    jw_text(w, term);
    jw_buf(w, value);
    jw_close(w, ']');
}

static void fact_v(struct jw *w, struct nm_buf *tmp, const char *term, const json_t *v)
{
    if (!v || json_is_null(v))
        return;
    nm_buf_reset(tmp);
    buf_value(tmp, v, GENERIC_CAP);
    jw_pair(w, term, tmp);
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

/* The facts of a host, as [term, value] pairs (a <dl> in the page). */
static void host_facts(struct jw *w, const json_t *h)
{
    jw_open(w, '[');
    struct nm_buf b;
    nm_buf_init(&b, SIZE_MAX);
    buf_value(&b, json_object_get(h, "address"), 512);
    if (json_is_integer(json_object_get(h, "port")))
        nm_buf_appendf(&b, " port %" JSON_INTEGER_FORMAT,
                       json_integer_value(json_object_get(h, "port")));
    if (b.len)
        jw_pair(w, "Address", &b);
    fact_v(w, &b, "Criticality", json_object_get(h, "criticality"));
    nm_buf_reset(&b);
    size_t i;
    const char *key;
    const json_t *v;
    json_array_foreach (json_object_get(h, "roles"), i, v) {
        if (i)
            nm_buf_appends(&b, ", ");
        buf_value(&b, v, 256);
    }
    if (b.len)
        jw_pair(w, "Roles", &b);
    nm_buf_reset(&b);
    json_object_foreach ((json_t *)json_object_get(h, "labels"), key, v) {
        if (b.len)
            nm_buf_appends(&b, ", ");
        nm_buf_appendf(&b, "%s=", key);
        buf_value(&b, v, 256);
    }
    if (b.len)
        jw_pair(w, "Labels", &b);
    const json_t *os = json_object_get(h, "os");
    if (json_is_object(os))
        fact_v(w, &b, "OS",
               json_object_get(os, "pretty_name") ? json_object_get(os, "pretty_name")
                                                  : json_object_get(os, "id"));
    fact_v(w, &b, "Kernel", json_object_get(h, "kernel"));
    fact_v(w, &b, "Architecture", json_object_get(h, "arch"));
    nm_buf_reset(&b);
    const json_t *up = json_object_get(h, "uptime_seconds");
    if (json_is_number(up)) {
        double sec = json_number_value(up);
        if (sec < 3600)
            nm_buf_appendf(&b, "%.0f minutes", sec / 60);
        else if (sec < 2 * 86400)
            nm_buf_appendf(&b, "%.1f hours", sec / 3600);
        else
            nm_buf_appendf(&b, "%.0f days", sec / 86400);
        jw_pair(w, "Uptime", &b);
        nm_buf_reset(&b);
    }
    const json_t *scan = json_object_get(h, "scan");
    if (json_is_number(json_object_get(scan, "duration_ms"))) {
        nm_buf_appendf(&b, "%.2f s",
                       json_number_value(json_object_get(scan, "duration_ms")) / 1000);
        if (json_is_number(json_object_get(scan, "bytes")))
            nm_buf_appendf(&b, ", %.0f bytes of output",
                           json_number_value(json_object_get(scan, "bytes")));
        jw_pair(w, "Scan", &b);
        nm_buf_reset(&b);
    }
    const json_t *hk = json_object_get(scan, "hostkey");
    if (json_is_object(hk)) {
        buf_value(&b, json_object_get(hk, "type"), 64);
        nm_buf_appends(&b, " ");
        buf_value(&b, json_object_get(hk, "fingerprint"), 128);
        if (json_is_true(json_object_get(hk, "added")))
            nm_buf_appends(&b, " (added to known_hosts by this scan)");
        jw_pair(w, "Host key", &b);
        nm_buf_reset(&b);
    }
    if (json_is_string(json_object_get(scan, "truncated")))
        fact_v(w, &b, "Output", json_object_get(scan, "truncated"));
    /* Fields added by later versions or other stages, shown as they are. */
    json_object_foreach ((json_t *)h, key, v) {
        if (is_known_host_key(key) || json_is_null(v))
            continue;
        fact_v(w, &b, key, v);
    }
    nm_buf_finish(&b);
    jw_close(w, ']');
}

/* [badge class, badge text, the rest of the line]. */
static void waiver_note(struct jw *w, const json_t *wv, bool expired)
{
    struct nm_buf b;
    nm_buf_init(&b, SIZE_MAX);
    nm_buf_appends(&b, " ");
    buf_value(&b, json_object_get(wv, "justification"), GENERIC_CAP);
    if (json_is_string(json_object_get(wv, "approved_by"))) {
        nm_buf_appends(&b, " \xe2\x80\x94 approved by ");
        buf_value(&b, json_object_get(wv, "approved_by"), 256);
    }
    if (json_is_string(json_object_get(wv, "expires"))) {
        nm_buf_appends(&b, expired ? "; expired " : "; until ");
        buf_value(&b, json_object_get(wv, "expires"), 64);
    }
    jw_key(w, "wv");
    jw_open(w, '[');
    jw_text(w, expired ? "badge badge-expired" : "badge badge-waived");
    jw_text(w, expired ? "waiver expired" : "waived");
    jw_buf(w, &b);
    jw_close(w, ']');
    nm_buf_finish(&b);
}

static void kv_line(struct nm_buf *b, const char *key, const json_t *v)
{
    if (!v || json_is_null(v))
        return;
    size_t kl = strlen(key);
    nm_buf_append(b, key, kl);
    nm_buf_append(b, "             ", kl < 12 ? 13 - kl : 1); /* "%-12s " */
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
        "check",     "category",    "severity",       "subject",     "message",        "value",
        "threshold", "fingerprint", "evidence",       "remediation", "ticket_summary", "item",
        "waived",    "waiver",      "waiver_expired", "links",
    };
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (strcmp(k, known[i]) == 0)
            return true;
    return false;
}

static void jw_badge(struct jw *w, const char *cls, const char *text, const char *title)
{
    jw_open(w, '[');
    jw_text(w, cls);
    jw_text(w, text);
    if (title)
        jw_text(w, title);
    jw_close(w, ']');
}

/* How long the finding has been open, from the history's first_seen, and
 * its waiver: the badges after the subject. */
static void badges(struct jw *w, const json_t *f, int64_t now)
{
    const char *ch = str(f, "change"), *ps = str(f, "previous_severity");
    bool waived = !nm_view_active(f),
         expired = json_is_object(json_object_get(f, "waiver_expired"));
    bool worse = ch && ps && nm_severity_from_name(ps) < nm_view_severity(f);
    int64_t first = 0;
    bool age =
        ch && strcmp(ch, "new") != 0 && now > 0 && nm_utc_parse(str(f, "first_seen"), &first) == 0;
    if (!(ch && strcmp(ch, "new") == 0) && !age && !worse && !waived && !expired)
        return;
    jw_key(w, "b");
    jw_open(w, '[');
    if (ch && strcmp(ch, "new") == 0) {
        jw_badge(w, "badge badge-new", "new", NULL);
    } else if (age) {
        int64_t days = (now - first) / 86400;
        char t[64];
        if (days < 1)
            snprintf(t, sizeof t, "open < 1 day");
        else
            snprintf(t, sizeof t, "open %lld day%s", (long long)days, days == 1 ? "" : "s");
        jw_badge(w, "badge badge-age", t, str(f, "first_seen"));
    }
    if (worse) {
        char *t = nm_xasprintf("worse (was %s)", ps);
        jw_badge(w, "badge badge-worse", t, NULL);
        free(t);
    }
    if (waived)
        jw_badge(w, "badge badge-waived", "waived", NULL);
    else if (expired)
        jw_badge(w, "badge badge-expired", "waiver expired", NULL);
    jw_close(w, ']');
}

/* The finding's links as finding_links() shows them: [href, text]. */
static void links_data(struct jw *w, const json_t *f)
{
    size_t i, n = 0;
    const json_t *l;
    json_array_foreach (json_object_get(f, "links"), i, l) {
        const char *rel = str(l, "rel"), *id = str(l, "id"), *u = str(l, "url");
        char url[256];
        const char *href = NULL;
        bool check = rel && strcmp(rel, "check") == 0;
        if (check)
            href = url_safe(u) ? u : NULL;
        else if (id && nm_advisory_url(id, url, sizeof url))
            href = url;
        if (!href || n == 12)
            continue;
        if (n == 0) {
            jw_key(w, "ln");
            jw_open(w, '[');
        }
        jw_open(w, '[');
        jw_text(w, href);
        if (check)
            jw_textf(w, "about %s", id ? id : "this check");
        else
            jw_text(w, id);
        jw_close(w, ']');
        n++;
    }
    if (n)
        jw_close(w, ']');
}

/* Remediation texts repeat across thousands of findings: each is written
 * once, in a table the findings point into (up to a bound, then inline). */
#define STRTAB_MAX 4096
#define STRTAB_LEN 4096

struct strtab {
    char **keys;
    size_t *ids;
    size_t n, cap;
    struct nm_buf json; /* the table as a JSON array's items */
    struct jw w;
};

static void strtab_init(struct strtab *t)
{
    memset(t, 0, sizeof *t);
    nm_buf_init(&t->json, SIZE_MAX);
    jw_init(&t->w, &t->json);
    t->w.more[0] = false;
}

static void strtab_finish(struct strtab *t)
{
    for (size_t i = 0; i < t->cap; i++)
        free(t->keys[i]);
    free(t->keys);
    free(t->ids);
    jw_finish(&t->w);
    nm_buf_finish(&t->json);
}

/* The id of s in the table, or -1 when it is not kept there. */
static long strtab_id(struct strtab *t, const char *s, size_t len)
{
    if (len > STRTAB_LEN || memchr(s, '\0', len))
        return -1;
    if (2 * (t->n + 1) > t->cap) {
        if (t->n >= STRTAB_MAX && t->cap)
            goto look;
        size_t cap = t->cap ? 2 * t->cap : 64;
        char **keys = nm_xcalloc(cap, sizeof *keys);
        size_t *ids = nm_xcalloc(cap, sizeof *ids);
        for (size_t i = 0; i < t->cap; i++) {
            if (!t->keys[i])
                continue;
            size_t k = fnv1a(t->keys[i]) & (cap - 1);
            while (keys[k])
                k = (k + 1) & (cap - 1);
            keys[k] = t->keys[i];
            ids[k] = t->ids[i];
        }
        free(t->keys);
        free(t->ids);
        t->keys = keys;
        t->ids = ids;
        t->cap = cap;
    }
look:;
    uint64_t hash = 14695981039346656037u;
    for (size_t k = 0; k < len; k++)
        hash = (hash ^ (unsigned char)s[k]) * 1099511628211u;
    size_t m = t->cap - 1, i = hash & m;
    while (t->keys[i] && !(strncmp(t->keys[i], s, len) == 0 && t->keys[i][len] == '\0'))
        i = (i + 1) & m;
    if (t->keys[i])
        return (long)t->ids[i];
    if (t->n >= STRTAB_MAX || 2 * (t->n + 1) > t->cap)
        return -1;
    t->keys[i] = nm_xstrndup(s, len);
    t->ids[i] = t->n++;
    jw_textn(&t->w, s, len);
    return (long)t->ids[i];
}

/* One finding for the script, keys kept short: a large fleet has 100 000.
 * What the script can work out (severity names, titles) is left out. */
static void finding_data(struct jw *w, struct strtab *tab, const struct hinfo *hi, size_t j,
                         const json_t *f, int64_t now)
{
    int s = nm_view_severity(f);
    bool waived = !nm_view_active(f);
    struct nm_buf b;
    nm_buf_init(&b, SIZE_MAX);
    jw_open(w, '{');
    jw_key(w, "j");
    jw_int(w, (long long)j);
    jw_key(w, "n");
    jw_int(w, s >= 0 ? s : -1);
    buf_token(&b, json_object_get(f, "category"));
    jw_key(w, "c");
    jw_buf(w, &b);
    const char *cat = str(f, "category");
    bool known = false;
    for (size_t k = 0; cat && k < N_KNOWN_CATS; k++)
        known = known || strcmp(cat, known_cats[k]) == 0;
    if (!known) {
        jw_key(w, "ct");
        jw_text(w, cat_title(cat));
    }
    jw_key(w, "k");
    jw_value(w, json_object_get(f, "check"), 128);
    if (json_object_get(f, "subject") && !json_is_null(json_object_get(f, "subject"))) {
        jw_key(w, "sub");
        jw_value(w, json_object_get(f, "subject"), GENERIC_CAP);
    }
    badges(w, f, now);
    if (waived) {
        jw_key(w, "w");
        jw_raw(w, "1");
    }
    char p[32];
    format_points(p, sizeof p, hi->points[j]);
    jw_key(w, "p");
    jw_text(w, p);
    jw_key(w, "msg");
    jw_value(w, json_object_get(f, "message"), GENERIC_CAP);
    const json_t *rem = json_object_get(f, "remediation");
    if (rem && !json_is_null(rem)) {
        nm_buf_reset(&b);
        buf_value(&b, rem, GENERIC_CAP * 4);
        long id = strtab_id(tab, b.data ? b.data : "", b.len);
        if (id >= 0) {
            jw_key(w, "fx");
            jw_int(w, id);
        } else {
            jw_key(w, "fix");
            jw_buf(w, &b);
        }
    }
    links_data(w, f);
    if (waived)
        waiver_note(w, json_object_get(f, "waiver"), false);
    else if (json_is_object(json_object_get(f, "waiver_expired")))
        waiver_note(w, json_object_get(f, "waiver_expired"), true);
    const json_t *ev = json_object_get(f, "evidence");
    if (ev && !json_is_null(ev)) {
        jw_key(w, "ev");
        jw_value(w, ev, EVIDENCE_CAP);
    }
    nm_buf_reset(&b);
    kv_line(&b, "check", json_object_get(f, "check"));
    kv_line(&b, "value", json_object_get(f, "value"));
    kv_line(&b, "threshold", json_object_get(f, "threshold"));
    kv_line(&b, "ticket", json_object_get(f, "ticket_summary"));
    kv_line(&b, "fingerprint", json_object_get(f, "fingerprint"));
    const char *key;
    const json_t *v;
    json_object_foreach ((json_t *)json_object_get(f, "item"), key, v) {
        char term[80];
        if (snprintf(term, sizeof term, "item.%s", key) < (int)sizeof term) {
            kv_line(&b, term, v);
        } else {
            char *big = nm_xasprintf("item.%s", key);
            kv_line(&b, big, v);
            free(big);
        }
    }
    json_object_foreach ((json_t *)f, key, v) {
        if (!is_known_finding_key(key))
            kv_line(&b, key, v);
    }
    if (b.len) {
        jw_key(w, "kv");
        jw_buf(w, &b);
    }
    nm_buf_finish(&b);
    jw_close(w, '}');
}

static void host_checks(struct jw *w, const json_t *h)
{
    const json_t *checks = json_object_get(h, "checks");
    if (json_array_size(checks) == 0)
        return;
    jw_key(w, "ck");
    jw_open(w, '[');
    size_t i;
    const json_t *k;
    json_array_foreach (checks, i, k) {
        const char *res = str(k, "result");
        jw_open(w, '[');
        jw_value(w, json_object_get(k, "id"), 256);
        jw_text(w, res ? res : "unknown");
        if (json_is_string(json_object_get(k, "reason")))
            jw_value(w, json_object_get(k, "reason"), GENERIC_CAP);
        else if (json_is_integer(json_object_get(k, "items")))
            jw_textf(w,
                     "%" JSON_INTEGER_FORMAT " item(s) looked at, %" JSON_INTEGER_FORMAT
                     " finding(s)",
                     json_integer_value(json_object_get(k, "items")),
                     json_integer_value(json_object_get(k, "findings")));
        else
            jw_text(w, "");
        jw_close(w, ']');
    }
    jw_close(w, ']');
}

/* What the checks measured, finding or not (metrics[CHECK][KEY]): one
 * [summary, text] per check, one line per thing. */
static void host_measurements(struct jw *w, const json_t *h)
{
    const json_t *m = json_object_get(h, "metrics");
    if (json_object_size(m) == 0)
        return;
    jw_key(w, "me");
    jw_open(w, '[');
    const char *check, *key, *field;
    const json_t *recs, *rec, *v;
    json_object_foreach ((json_t *)m, check, recs) {
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
        jw_open(w, '[');
        jw_textf(w, "%s: %zu recorded", check, json_is_object(recs) ? json_object_size(recs) : 0);
        jw_buf(w, &b);
        jw_close(w, ']');
        nm_buf_finish(&b);
    }
    jw_close(w, ']');
}

/* A host's findings, worst first as in "fix first", waived ones after the
 * active ones of their severity: indices into findings, n of them. */
static size_t *worst_first(const json_t *findings, size_t *ret_n)
{
    /* Buckets by severity (critical..none, then unknown last as before:
     * it is never listed) and waiver, in index order within each. */
    enum { N_BUCKETS = 2 * (N_SEV + 1) };
    size_t n = json_array_size(findings), m = 0, j;
    size_t *idx = nm_xcalloc(n + 1, sizeof *idx);
    int *bucket = nm_xcalloc(n + 1, sizeof *bucket);
    size_t count[N_BUCKETS + 1] = {0};
    const json_t *v;
    json_array_foreach (findings, j, v) {
        int s = nm_view_severity(v);
        bucket[j] = s < NM_SEV_NONE || s > NM_SEV_CRITICAL
                        ? N_BUCKETS
                        : 2 * (NM_SEV_CRITICAL - s) + (nm_view_active(v) ? 0 : 1);
        count[bucket[j]]++;
    }
    size_t start[N_BUCKETS + 1];
    for (int k = 0, at = 0; k <= N_BUCKETS; k++) {
        start[k] = (size_t)at;
        at += (int)count[k];
    }
    for (j = 0; j < n; j++) {
        if (bucket[j] == N_BUCKETS)
            continue;
        idx[start[bucket[j]]++] = j;
        m++;
    }
    free(bucket);
    *ret_n = m;
    return idx;
}

/* Everything the script shows when a host is opened: one JSON line. */
static void host_data(struct jw *w, struct strtab *tab, const struct ctx *c, const struct hinfo *hi,
                      size_t i)
{
    const json_t *h = hi->h;
    jw_open(w, '{');
    jw_key(w, "i");
    jw_int(w, (long long)i);
    jw_key(w, "ok");
    jw_raw(w, hi->ok ? "true" : "false");
    struct nm_buf b;
    nm_buf_init(&b, SIZE_MAX);
    if (!hi->ok) {
        nm_buf_appends(&b, ": ");
        buf_value(&b, json_object_get(h, "error"), GENERIC_CAP * 2);
        jw_key(w, "er");
        jw_pair(w, status_title(hi->status), &b);
    } else if (json_is_string(json_object_get(h, "error"))) {
        buf_value(&b, json_object_get(h, "error"), GENERIC_CAP * 2);
        jw_key(w, "er");
        jw_pair(w, "Incomplete: ", &b);
    }
    nm_buf_finish(&b);
    jw_key(w, "fa");
    host_facts(w, h);
    const json_t *findings = json_object_get(h, "findings");
    size_t n = 0;
    size_t *idx = worst_first(findings, &n);
    jw_key(w, "f");
    jw_open(w, '[');
    for (size_t k = 0; k < n; k++)
        finding_data(w, tab, hi, idx[k], json_array_get(findings, idx[k]), c->now);
    jw_close(w, ']');
    free(idx);
    host_checks(w, h);
    host_measurements(w, h);
    if (hi->ok) {
        /* The breakdown's rows are the findings the script already has. */
        char cf[64], sc[320] = "";
        snprintf(cf, sizeof cf, "%g", nm_score_criticality_factor(str(h, "criticality")));
        if (hi->has_score)
            snprintf(sc, sizeof sc, "%.1f", hi->score);
        jw_key(w, "bd");
        jw_open(w, '[');
        jw_text(w, cf);
        jw_text(w, sc);
        jw_close(w, ']');
    }
    jw_close(w, '}');
}

/* A host's row for the script's table, sort and filters: [index, name,
 * address, status, status title, status ok, score text or null, counts by
 * severity (info..critical), waived, roles, os, [severity, category] of the
 * active findings, search text, scanned]. */
static void host_index_row(struct jw *w, const struct hinfo *hi, size_t i)
{
    const json_t *h = hi->h;
    struct nm_buf b;
    nm_buf_init(&b, SIZE_MAX);
    jw_open(w, '[');
    jw_int(w, (long long)i);
    jw_text(w, hi->name);
    buf_value(&b, json_object_get(h, "address"), 256);
    if (json_is_integer(json_object_get(h, "port")) &&
        json_integer_value(json_object_get(h, "port")) != 22)
        nm_buf_appendf(&b, ":%" JSON_INTEGER_FORMAT,
                       json_integer_value(json_object_get(h, "port")));
    jw_buf(w, &b);
    nm_buf_reset(&b);
    jw_text(w, hi->status ? hi->status : "");
    jw_text(w, status_title(hi->status));
    jw_raw(w, nm_host_status_from_name(hi->status) == NM_HOST_OK ? "true" : "false");
    if (hi->has_score)
        jw_textf(w, "%.1f", hi->score);
    else
        jw_raw(w, "null");
    jw_open(w, '[');
    for (int s = 0; s < N_SEV; s++)
        jw_int(w, hi->counts[s]);
    jw_close(w, ']');
    jw_int(w, (long long)hi->n_waived);
    jw_open(w, '[');
    size_t j;
    const json_t *v;
    json_array_foreach (json_object_get(h, "roles"), j, v) {
        buf_token(&b, v);
        jw_buf(w, &b);
        nm_buf_reset(&b);
    }
    jw_close(w, ']');
    const json_t *os = json_object_get(h, "os");
    if (json_is_string(json_object_get(os, "pretty_name")))
        jw_value(w, json_object_get(os, "pretty_name"), 256);
    else if (json_is_string(json_object_get(os, "id")))
        jw_value(w, json_object_get(os, "id"), 256);
    else
        jw_text(w, "");
    jw_open(w, '[');
    json_array_foreach (json_object_get(h, "findings"), j, v) {
        if (!nm_view_active(v))
            continue;
        int s = nm_view_severity(v);
        jw_open(w, '[');
        jw_int(w, s >= 0 ? s : -1);
        buf_token(&b, json_object_get(v, "category"));
        jw_buf(w, &b);
        nm_buf_reset(&b);
        jw_close(w, ']');
    }
    jw_close(w, ']');
    search_text(&b, h);
    jw_buf(w, &b);
    jw_raw(w, hi->ok ? "true" : "false");
    jw_close(w, ']');
    nm_buf_finish(&b);
}

/* Without the script: one of the riskiest hosts, its worst findings. */
static void host_static(xmlNodePtr ol, const struct hinfo *hi, size_t i)
{
    const json_t *h = hi->h;
    xmlNodePtr li = el(ol, "li", "nojs-host");
    attrf(li, "id", "h-%zu", i);
    attr(li, "data-name", hi->name);
    if (hi->has_score)
        attrf(li, "data-score", "%.1f", hi->score);
    else
        attr(li, "data-score", "");
    xmlNodePtr head = el(li, "div", "fhead");
    el_text(head, "strong", "host-name", hi->name);
    status_badge(head, hi->status);
    xmlNodePtr sc = el(head, "span", "badge");
    if (hi->has_score)
        textf(sc, "score %.1f", hi->score);
    else
        text(sc, "score unknown");
    for (int s = NM_SEV_CRITICAL; s >= NM_SEV_INFO; s--) {
        if (!hi->counts[s])
            continue;
        char cls[32];
        snprintf(cls, sizeof cls, "sev sev-%s", nm_severity_name(s));
        textf(el(head, "span", cls), "%d %s", hi->counts[s], nm_severity_name(s));
    }
    if (!hi->ok) {
        xmlNodePtr p = el(li, "p", "err");
        el_text(p, "strong", NULL, status_title(hi->status));
        text(p, ": ");
        text(p, hi->error);
        return;
    }
    const json_t *findings = json_object_get(h, "findings");
    size_t n = 0, shown = 0;
    size_t *idx = worst_first(findings, &n);
    xmlNodePtr fl = NULL;
    for (size_t k = 0; k < n && shown < NOJS_FINDINGS; k++) {
        const json_t *f = json_array_get(findings, idx[k]);
        if (!nm_view_active(f))
            continue;
        if (!fl)
            fl = el(li, "ol", "findings");
        xmlNodePtr fi = el(fl, "li", "finding");
        attrf(fi, "id", "h-%zu-f-%zu", i, idx[k]);
        int s = nm_view_severity(f);
        attr(fi, "data-sev", s >= 0 ? nm_severity_name(s) : "");
        xmlNodePtr fh = el(fi, "div", "fhead");
        sev_badge(fh, s);
        el_text(fh, "span", "badge", cat_title(str(f, "category")));
        if (json_object_get(f, "subject") && !json_is_null(json_object_get(f, "subject")))
            text_value(el(fh, "code", "subject"), json_object_get(f, "subject"), GENERIC_CAP);
        text_value(el(fi, "p", "msg"), json_object_get(f, "message"), GENERIC_CAP);
        if (json_is_string(json_object_get(f, "remediation"))) {
            xmlNodePtr fx = el(fi, "p", "fix");
            el_text(fx, "strong", NULL, "Fix: ");
            text_md(fx, json_object_get(f, "remediation"), GENERIC_CAP * 4);
        }
        shown++;
    }
    free(idx);
    size_t active = hi->n_findings - hi->n_waived;
    if (active > shown)
        textf(el(li, "p", "note"), "and %zu more finding%s", active - shown,
              active - shown == 1 ? "" : "s");
    else if (active == 0)
        el_text(li, "p", "note", "No findings.");
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
    textf(el(sec, "p", "note nojs"),
          "The host list, each host's findings and evidence, sorting and filtering need "
          "JavaScript; without it the %d riskiest hosts are listed below with their worst "
          "findings. The JSON report holds every detail.",
          NOJS_HOSTS);

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
    attrf(box, "data-chunk", "%d", HOST_CHUNK);
    /* The score breakdown's note, as the script writes it for each host. */
    attrf(box, "data-lk", "%g %g %g %g", 100 * nm_score_likelihood(NM_SEV_CRITICAL),
          100 * nm_score_likelihood(NM_SEV_HIGH), 100 * nm_score_likelihood(NM_SEV_MEDIUM),
          100 * nm_score_likelihood(NM_SEV_LOW));
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
    xmlNodePtr empty =
        el_text(box, "p", "empty",
                c->n_hosts ? "No host matches the filters." : "This report lists no hosts.");
    attr(empty, "id", "f-empty");
    xmlNewProp(empty, BAD_CAST "hidden", NULL);
    /* The script shows the rows a page at a time: a page of a few thousand
     * hosts is slow to lay out, to sort and to filter. */
    xmlNodePtr pager = el(box, "div", "pager");
    attr(pager, "id", "pager");
    btn = el_text(pager, "button", NULL, "Previous");
    attr(btn, "type", "button");
    attr(btn, "data-act", "prev");
    xmlNodePtr pos = el(pager, "output", NULL);
    attr(pos, "id", "f-page");
    btn = el_text(pager, "button", NULL, "Next");
    attr(btn, "type", "button");
    attr(btn, "data-act", "next");
    /* Where the data blocks and the static list go (nm_report_html_stream). */
    el(sec, "nm-data", NULL);
    el(sec, "nm-static", NULL);
}

/* ---- writing ---------------------------------------------------------------- */

static bool split_at(char **rest, const char *marker, char **ret_before, size_t *ret_len)
{
    char *p = strstr(*rest, marker);
    if (!p)
        return false;
    *ret_before = *rest;
    *ret_len = (size_t)(p - *rest);
    *rest = p + strlen(marker);
    return true;
}

/* The page around the hosts, as one small tree: everything but the data
 * blocks and the static list, whose places the two markers hold. */
static void render_frame(const struct ctx *c, xmlChar **ret_mem, int *ret_size)
{
    htmlDocPtr doc = htmlNewDocNoDtD(NULL, NULL);
    xmlCreateIntSubset(doc, BAD_CAST "html", NULL, NULL);
    xmlNodePtr html = xmlNewNode(NULL, BAD_CAST "html");
    xmlDocSetRootElement(doc, html);
    attr(html, "lang", "en");
    build_head(html, c);
    xmlNodePtr body = el(html, "body", NULL);
    build_header(body, c);
    xmlNodePtr main = el(body, "main", NULL);
    /* Above the fold: what to do first; the detail follows. */
    build_verdict(main, c);
    build_top_risks(main, c);
    build_changes(main, c);
    build_overview(main, c);
    build_charts(main, c);
    build_fleet(main, c);
    build_unscanned(main, c);
    build_waivers(main, c);
    build_ledger(main, c);
    build_hosts(main, c);
    xmlNodePtr foot = el(body, "footer", NULL);
    el_text(foot, "p", "note",
            "Generated by nearmiss from the JSON report, which holds every detail shown here.");
    attr(foot, "style", "max-width:1280px;margin:0 auto;padding:0 24px 24px");

    char *js = join_lines(js_lines, "\n");
    xmlNodePtr script = el(body, "script", NULL);
    xmlAddChild(script, xmlNewText(BAD_CAST js));
    free(js);

    htmlDocDumpMemoryFormat(doc, ret_mem, ret_size, 1);
    xmlFreeDoc(doc);
}

int nm_report_html_stream(const json_t *report, const struct nm_host_iter *hosts, FILE *out,
                          nm_diag *d)
{
    if (!json_is_object(report))
        return nm_diag_set(d, NM_ERR_INVAL, "the report is not a JSON object");
    struct ctx c;
    ctx_begin(&c, report, hosts->n_hosts);
    int r = nm_host_iter_rewind(hosts, d);
    const json_t *h = NULL;
    /* First pass: what the sections above the host list need. */
    while (r == 0 && (r = nm_host_iter_next(hosts, &h, d)) == 0 && h)
        ctx_add_host(&c, h);
    if (r < 0) {
        ctx_finish(&c);
        return r;
    }
    ctx_end(&c);

    int size = 0;
    xmlChar *frame = NULL;
    render_frame(&c, &frame, &size);
    if (!frame || size <= 0) {
        xmlFree(frame);
        ctx_finish(&c);
        return nm_diag_set(d, NM_ERR_NOMEM, "cannot serialise the HTML report");
    }
    char *rest = (char *)frame, *part1 = NULL, *part2 = NULL;
    size_t len1 = 0, len2 = 0;
    if (!split_at(&rest, "<nm-data></nm-data>", &part1, &len1) ||
        !split_at(&rest, "<nm-static></nm-static>", &part2, &len2)) {
        xmlFree(frame);
        ctx_finish(&c);
        return nm_diag_set(d, NM_ERR_INVAL, "the HTML report's frame lost its markers");
    }
    fwrite(part1, 1, len1, out);

    /* Second pass: each host's data, written as it comes; the index and the
     * static list are small enough to keep until the hosts are through. */
    struct nm_buf index, line;
    nm_buf_init(&index, SIZE_MAX);
    nm_buf_init(&line, SIZE_MAX);
    struct jw iw, lw;
    jw_init(&iw, &index);
    jw_init(&lw, &line);
    struct strtab tab;
    strtab_init(&tab);
    jw_open(&iw, '[');
    htmlDocPtr sdoc = htmlNewDocNoDtD(NULL, NULL);
    xmlNodePtr sroot = xmlNewNode(NULL, BAD_CAST "div");
    xmlDocSetRootElement(sdoc, sroot);
    attr(sroot, "id", "worst-hosts");
    attr(sroot, "class", "nojs");
    size_t n_static = c.n_hosts < NOJS_HOSTS ? c.n_hosts : NOJS_HOSTS;
    textf(el(sroot, "h3", NULL), "The %zu riskiest hosts and their worst findings", n_static);
    xmlNodePtr sol = el(sroot, "ol", "list");
    xmlNodePtr *slots = nm_xcalloc(n_static + 1, sizeof *slots);
    for (size_t k = 0; k < n_static; k++)
        slots[k] = el(sol, "li", NULL);

    fputs("<script type=\"application/json\" class=\"nm-hosts\">\n", out);
    r = nm_host_iter_rewind(hosts, d);
    size_t i = 0;
    while (r == 0 && (r = nm_host_iter_next(hosts, &h, d)) == 0 && h) {
        if (i >= c.n_hosts) {
            r = nm_diag_set(d, NM_ERR_INVAL, "the hosts changed between the two passes");
            break;
        }
        struct hinfo *hi = &c.hosts[i];
        hi->h = h;
        if (i && i % HOST_CHUNK == 0)
            fputs("</script>\n<script type=\"application/json\" class=\"nm-hosts\">\n", out);
        host_points(hi);
        nm_buf_reset(&line);
        lw.depth = 0;
        lw.more[0] = false;
        host_data(&lw, &tab, &c, hi, i);
        nm_buf_append(&line, "\n", 1);
        fwrite(line.data, 1, line.len, out);
        if (i)
            nm_buf_append(&index, "\n", 1);
        host_index_row(&iw, hi, i);
        if (c.rank[i] < n_static) {
            xmlNodePtr tmp = xmlNewNode(NULL, BAD_CAST "ol");
            host_static(tmp, hi, i);
            xmlNodePtr li = tmp->children;
            xmlUnlinkNode(li);
            xmlReplaceNode(slots[c.rank[i]], li);
            xmlFreeNode(slots[c.rank[i]]);
            slots[c.rank[i]] = li;
            xmlFreeNode(tmp);
        }
        free(hi->points);
        hi->points = NULL;
        hi->h = NULL;
        i++;
    }
    if (r == 0 && i != c.n_hosts)
        r = nm_diag_set(d, NM_ERR_INVAL, "the hosts changed between the two passes");
    free(slots);
    jw_close(&iw, ']');
    fputs("</script>\n<script type=\"application/json\" id=\"nm-index\">", out);
    fwrite(index.data, 1, index.len, out);
    fputs("</script>\n<script type=\"application/json\" id=\"nm-strings\">[", out);
    if (tab.json.len)
        fwrite(tab.json.data, 1, tab.json.len, out);
    fputs("]</script>\n", out);
    jw_finish(&iw);
    jw_finish(&lw);
    nm_buf_finish(&index);
    nm_buf_finish(&line);
    strtab_finish(&tab);
    fwrite(part2, 1, len2, out);
    if (n_static) {
        /* Serialised as the frame is: ASCII, other characters as references. */
        xmlChar *smem = NULL;
        int ssize = 0;
        htmlDocDumpMemoryFormat(sdoc, &smem, &ssize, 1);
        if (smem && ssize > 0)
            fwrite(smem, 1, (size_t)ssize, out);
        else
            r = r ? r : nm_diag_set(d, NM_ERR_NOMEM, "cannot serialise the HTML report");
        xmlFree(smem);
    }
    xmlFreeDoc(sdoc);
    fwrite(rest, 1, strlen(rest), out);
    xmlFree(frame);
    ctx_finish(&c);
    if (r == 0 && (fflush(out) != 0 || ferror(out)))
        r = nm_diag_set(d, NM_ERR_IO, "cannot write the HTML report: %s",
                        strerror(errno ? errno : EIO));
    return r;
}

int nm_report_render_html(const json_t *report, char **ret_data, size_t *ret_len, nm_diag *d)
{
    if (!json_is_object(report))
        return nm_diag_set(d, NM_ERR_INVAL, "the report is not a JSON object");
    char *mem = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&mem, &len);
    if (!out)
        return nm_diag_set(d, NM_ERR_NOMEM, "cannot serialise the HTML report");
    struct nm_host_iter it;
    struct nm_host_iter_array_state st;
    nm_host_iter_array(&it, &st, report);
    int r = nm_report_html_stream(report, &it, out, d);
    if (fclose(out) != 0 && r == 0)
        r = nm_diag_set(d, NM_ERR_NOMEM, "cannot serialise the HTML report");
    if (r < 0) {
        free(mem);
        return r;
    }
    *ret_data = mem;
    *ret_len = len;
    return 0;
}
