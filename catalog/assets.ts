/**
 * The catalog's only stylesheet and script, served by the process itself (the Content-Security-Policy
 * allows nothing else). Pages work without the script; it adds a filter box over long tables and
 * submits the events filter when a choice changes.
 */
export const CATALOG_CSS = `
:root { --fg: #1b1f24; --muted: #57606a; --line: #d0d7de; --bg: #ffffff; --soft: #f6f8fa; --accent: #0a58ca; --bad: #b42318; --warn: #8a4b00; --ok: #1a7f37; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); }
a { color: var(--accent); }
a:focus-visible, button:focus-visible, input:focus-visible, select:focus-visible, summary:focus-visible, .scroll:focus-visible { outline: 3px solid #f59e0b; outline-offset: 2px; }
.skip { position: absolute; left: -9999px; top: 0; background: #fff; padding: .5rem 1rem; z-index: 10; }
.skip:focus { left: .5rem; }
header.top { background: #0d1b2a; color: #fff; padding: .6rem 1rem; display: flex; flex-wrap: wrap; gap: .4rem 1.2rem; align-items: center; }
header.top a { color: #fff; text-decoration: none; }
header.top a:hover, header.top a[aria-current="page"] { text-decoration: underline; }
header.top .brand { font-weight: 700; margin-right: .8rem; }
header.top nav ul { list-style: none; margin: 0; padding: 0; display: flex; flex-wrap: wrap; gap: .3rem 1rem; }
header.top form { margin-left: auto; }
header.top button { background: transparent; color: #fff; border: 1px solid #fff6; border-radius: 4px; padding: .2rem .6rem; cursor: pointer; }
main { padding: 1rem; max-width: 1400px; margin: 0 auto; }
h1 { font-size: 1.5rem; margin: .2rem 0 .8rem; }
h2 { font-size: 1.2rem; margin: 1.6rem 0 .6rem; }
h3 { font-size: 1.05rem; margin: 1.2rem 0 .4rem; }
.meta { color: var(--muted); font-size: .9rem; }
.scroll { overflow-x: auto; max-width: 100%; border: 1px solid var(--line); border-radius: 6px; }
table { border-collapse: collapse; width: 100%; font-size: .92rem; }
th, td { text-align: left; padding: .35rem .55rem; border-bottom: 1px solid var(--line); vertical-align: top; }
thead th { background: var(--soft); position: sticky; top: 0; }
tbody th { font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
time { white-space: nowrap; }
caption { text-align: left; font-weight: 600; padding: .4rem .55rem; }
.tag { display: inline-block; border: 1px solid var(--line); border-radius: 10px; padding: 0 .45rem; margin: 0 .2rem .15rem 0; font-size: .82rem; background: var(--soft); }
.tag-comment { border-style: dashed; }
.tag-discovered { border-color: var(--warn); color: var(--warn); }
.act-allow { color: var(--ok); font-weight: 600; }
.act-deny, .act-error { color: var(--bad); font-weight: 600; }
.act-mask, .act-mask_email, .act-regex, .act-hash, .act-null, .act-constant, .act-round, .act-truncate_date { color: var(--warn); font-weight: 600; }
.rules { font-weight: 400; }
nav.pages ul { list-style: none; display: flex; flex-wrap: wrap; gap: .3rem; padding: 0; margin: .4rem 0 1rem; }
nav.pages a { display: inline-block; min-width: 2rem; text-align: center; padding: .15rem .4rem; border: 1px solid var(--line); border-radius: 4px; text-decoration: none; }
nav.pages a[aria-current="page"] { background: var(--accent); color: #fff; }
.rules { display: block; color: var(--muted); font-size: .8rem; }
.bad { color: var(--bad); }
.empty { color: var(--muted); }
.chart { margin: .6rem 0 1rem; }
.chart-svg { width: 100%; max-width: 760px; height: auto; display: block; }
.chart .axis { stroke: #8c959f; stroke-width: 1; }
.chart .tick { font-size: 11px; fill: #57606a; }
.bar-statements { fill: #3b82f6; }
.bar-refusals { fill: #dc2626; }
.bar-masked { fill: #d97706; }
.key::before { content: ""; display: inline-block; width: .8em; height: .8em; margin-right: .25em; vertical-align: -.05em; }
.key-statements::before { background: #3b82f6; }
.key-refusals::before { background: #dc2626; }
figcaption { font-size: .85rem; color: var(--muted); }
form.filters { display: flex; flex-wrap: wrap; gap: .6rem 1rem; align-items: flex-end; margin-bottom: 1rem; }
form.filters label { display: flex; flex-direction: column; font-size: .85rem; gap: .2rem; }
input, select, button { font: inherit; }
input, select { padding: .3rem .4rem; border: 1px solid #8c959f; border-radius: 4px; max-width: 100%; }
button.primary { background: var(--accent); color: #fff; border: 0; border-radius: 4px; padding: .4rem 1rem; cursor: pointer; }
details { margin: 0; }
summary { cursor: pointer; }
dl.detail { display: grid; grid-template-columns: max-content 1fr; gap: .2rem .8rem; margin: .4rem 0; }
dl.detail dt { color: var(--muted); }
dl.detail dd { margin: 0; overflow-wrap: anywhere; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(14rem, 1fr)); gap: .8rem; }
.card { border: 1px solid var(--line); border-radius: 6px; padding: .6rem .8rem; }
.login { max-width: 26rem; margin: 3rem auto; }
.login label { display: block; margin: .8rem 0 .3rem; }
.login input { width: 100%; }
.notice { border-left: 4px solid var(--warn); background: #fff8e6; padding: .5rem .8rem; }
.error { border-left: 4px solid var(--bad); background: #fdecec; padding: .5rem .8rem; }
code, pre { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: .85rem; overflow-wrap: anywhere; }
pre { white-space: pre-wrap; background: var(--soft); padding: .5rem; border-radius: 4px; }
.filterbox { margin: .4rem 0 .8rem; }
@media (max-width: 640px) {
  main { padding: .6rem; }
  header.top form { margin-left: 0; }
  th, td { padding: .3rem .4rem; }
  dl.detail { grid-template-columns: 1fr; }
}
`;

/** The tab icon (a browser asks for one; without it every page logs a 404). */
export const CATALOG_ICON = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="16" height="16" rx="3" fill="#0d1b2a"/><path d="M4 5h8M4 8h8M4 11h5" stroke="#fff" stroke-width="1.6"/></svg>`;

export const CATALOG_JS = `
"use strict";
(function () {
  // The tables filter narrows the tables of this page as one types (the form itself asks the server).
  document.querySelectorAll("form.filters input[name=q]").forEach(function (input) {
    var targets = document.querySelectorAll("section.relation");
    input.addEventListener("input", function () {
      var q = input.value.trim().toLowerCase();
      targets.forEach(function (t) { t.hidden = q !== "" && t.textContent.toLowerCase().indexOf(q) < 0; });
    });
  });
  // The events filter: a changed choice submits the form (the button stays for keyboards without script).
  document.querySelectorAll("form[data-autosubmit] select").forEach(function (s) {
    s.addEventListener("change", function () { s.form.submit(); });
  });
})();
`;
