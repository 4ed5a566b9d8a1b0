/** The report page's stylesheet, inlined into report.html. `__FONT__` is replaced by the font stack. */
export const STYLE = String.raw`
:root {
  --ink: #1c2430; --muted: #5b6572; --faint: #8a93a0; --line: #e3e6ea; --bg: #f4f5f7; --card: #ffffff;
  --best: #e3f0fa; --best-ink: #0b4f80; --worst: #fdebdf; --worst-ink: #8a3300;
  --accent: #0072B2;
}
* { box-sizing: border-box; }
html { background: var(--bg); }
body { margin: 0; color: var(--ink); font: 15px/1.5 __FONT__; -webkit-font-smoothing: antialiased; }
main { max-width: 1240px; margin: 0 auto; padding: 36px 28px 48px; }
h1, h2, h3 { line-height: 1.2; margin: 0; }
h1 { font-size: 30px; font-weight: 700; letter-spacing: -0.01em; }
h2 { font-size: 20px; font-weight: 650; margin: 40px 0 6px; }
h3 { font-size: 14px; font-weight: 650; }
code, .mono { font-family: "DejaVu Sans Mono", "Liberation Mono", Menlo, Consolas, monospace; font-size: 0.86em; }
.muted, .note, .section-note { color: var(--muted); }
.section-note { margin: 0 0 14px; font-size: 13.5px; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 12px; box-shadow: 0 1px 2px rgba(16, 24, 40, 0.04); }

/* Header */
header.top { padding-bottom: 8px; }
.eyebrow { margin: 0 0 6px; font-size: 12px; font-weight: 650; letter-spacing: 0.08em; text-transform: uppercase; color: var(--accent); }
.lede { margin: 10px 0 0; max-width: 80ch; font-size: 16px; color: #39424e; }
.meta { display: flex; flex-wrap: wrap; gap: 10px 28px; margin: 20px 0 0; padding: 14px 18px; background: var(--card); border: 1px solid var(--line); border-radius: 12px; }
.meta div { min-width: 0; }
.meta dt { font-size: 11px; font-weight: 650; text-transform: uppercase; letter-spacing: 0.06em; color: var(--faint); }
.meta dd { margin: 2px 0 0; font-size: 14px; }
nav { display: flex; gap: 18px; margin: 14px 2px 0; font-size: 13.5px; font-weight: 600; }
nav a { color: var(--accent); text-decoration: none; }
nav a:hover { text-decoration: underline; }
.chip { display: inline-block; padding: 0 8px; border-radius: 999px; background: #eef1f5; font-size: 13px; font-weight: 600; }
.run { display: inline-flex; align-items: center; gap: 6px; font-weight: 600; white-space: nowrap; margin-right: 10px; }
.run:last-child { margin-right: 0; }
.swatch { display: inline-block; width: 14px; height: 4px; border-radius: 2px; background: var(--c); }

/* At a glance */
.headlines { margin: 26px 0 16px; padding: 14px 18px 14px 36px; background: #eaf3fb; border-radius: 12px; border: 1px solid #cfe2f3; font-size: 15px; }
.headlines li { margin: 3px 0; }
.glance-grid { display: grid; grid-template-columns: repeat(2, minmax(0, 1fr)); gap: 16px; }
.glance.single { display: grid; grid-template-columns: repeat(3, minmax(0, 1fr)); gap: 16px; margin-top: 24px; }
.glance.single .headlines { grid-column: 1 / -1; margin: 0; }
.glance-card { padding: 16px 18px 12px; }
.glance-card .note { margin: 2px 0 10px; font-size: 12.5px; }
.bar-row { display: grid; grid-template-columns: 118px minmax(0, 1fr) 180px; align-items: center; gap: 10px; padding: 4px 0; font-size: 13.5px; }
.bar-label .run { font-weight: 600; }
.bar-track { position: relative; height: 14px; background: #f0f2f5; border-radius: 4px; overflow: hidden; display: flex; }
.bar { display: block; height: 100%; width: var(--w); background: var(--c); }
.bar.negative { background: repeating-linear-gradient(135deg, var(--c) 0 3px, transparent 3px 6px); }
.bar.full { background: repeating-linear-gradient(135deg, var(--c) 0 4px, color-mix(in srgb, var(--c) 35%, white) 4px 7px); }
.bar-value { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.glance-card.loss .bar-row { grid-template-columns: 118px minmax(0, 1fr) 236px; }
.big { padding: 16px 18px; }
.big-value { margin: 6px 0 2px; font-size: 26px; font-weight: 700; font-variant-numeric: tabular-nums; letter-spacing: -0.01em; }
.big .note { margin: 0; font-size: 12.5px; }

/* Tags for best / worst */
.tag { display: inline-block; margin-left: 6px; padding: 0 5px; border-radius: 4px; font-size: 10.5px; font-weight: 700; letter-spacing: 0.04em; text-transform: uppercase; vertical-align: 1px; }
.tag.best { background: var(--best); color: var(--best-ink); }
.tag.worst { background: var(--worst); color: var(--worst-ink); }

/* Tables */
.table-card { padding: 4px 0; overflow-x: auto; }
table { width: 100%; border-collapse: collapse; font-size: 13.5px; font-variant-numeric: tabular-nums; }
th, td { padding: 7px 14px; text-align: left; vertical-align: baseline; }
thead th { font-size: 12px; font-weight: 650; color: var(--muted); border-bottom: 1px solid var(--line); white-space: nowrap; }
tbody tr + tr td, tbody tr + tr th { border-top: 1px solid #f0f2f4; }
td.num, th.num { text-align: right; white-space: nowrap; }
td.strong { font-weight: 600; }
table.comparison thead th.run-col { text-align: right; color: var(--ink); font-size: 13.5px; }
table.comparison th.metric { font-weight: 550; width: 30%; min-width: 230px; }
table.comparison.compact th, table.comparison.compact td { padding-left: 9px; padding-right: 9px; }
/* Many columns: the cell colour alone marks best and worst; the word stays for screen readers. */
table.comparison.compact td .tag { position: absolute; width: 1px; height: 1px; overflow: hidden; clip-path: inset(50%); white-space: nowrap; }
.key { display: inline-block; padding: 0 6px; border-radius: 4px; font-size: 12px; font-weight: 650; }
.key.best { background: var(--best); color: var(--best-ink); }
.key.worst { background: var(--worst); color: var(--worst-ink); }
table.comparison .sub { display: block; font-size: 11.5px; font-weight: 400; color: var(--faint); line-height: 1.35; }
table.comparison .better { font-style: italic; }
table.comparison tbody th, table.comparison tbody td { padding-top: 6px; padding-bottom: 6px; }
table.comparison td.param { text-align: right; color: #39424e; }
table.comparison td.best { background: var(--best); color: var(--best-ink); font-weight: 650; }
table.comparison td.worst { background: var(--worst); color: var(--worst-ink); font-weight: 650; }
table.comparison td .tag { background: rgba(255, 255, 255, 0.7); }
tr.group th { padding-top: 14px; font-size: 11px; font-weight: 700; letter-spacing: 0.08em; text-transform: uppercase; color: var(--accent); border-top: 1px solid var(--line) !important; }
tbody tr.group:first-child th { border-top: none !important; }
.warn { color: #b34700; font-weight: 650; }
.kind { display: inline-block; padding: 0 7px; border-radius: 999px; font-size: 11.5px; font-weight: 650; }
.kind.partial { background: #e6f2ec; color: #0a5c43; }
.kind.full { background: #fde6d6; color: #8a3300; }
.kind.backstop { background: #eef1f5; color: #39424e; }
ul.presets { list-style: none; margin: 0 0 14px; padding: 0; font-size: 13.5px; }
ul.presets li { display: grid; grid-template-columns: 130px minmax(0, 1fr); gap: 8px; align-items: baseline; padding: 2px 0; }
ul.presets .desc { color: var(--muted); }

/* Charts */
.chart-grid { display: grid; grid-template-columns: repeat(2, minmax(0, 1fr)); gap: 16px; }
.chart { margin: 0; padding: 16px 16px 12px; }
.chart.wide { grid-column: 1 / -1; }
.chart .svg svg { display: block; width: 100%; height: auto; }
.chart figcaption { margin-top: 6px; font-size: 12.5px; color: var(--muted); }

/* Liquidation details */
details.run-liquidations { margin-bottom: 10px; padding: 0 4px; }
details.run-liquidations > summary { cursor: pointer; padding: 12px 14px; list-style-position: inside; font-size: 14.5px; }
details.run-liquidations .summary-figures { color: var(--muted); margin-left: 6px; }
details.run-liquidations[open] > summary { border-bottom: 1px solid var(--line); }
details.run-liquidations .section-note, details.run-liquidations .empty { margin: 10px 14px; }
details.run-liquidations table { margin-bottom: 8px; }
#distributions > .card { margin-bottom: 16px; }
ul.sizing { margin: 0; padding: 14px 18px 14px 34px; font-size: 13.5px; }
ul.sizing ul { margin: 4px 0 8px; padding-left: 18px; color: var(--muted); }
/* Cascades and the per-tier statistic */
table.cascade td.generations .chip { margin: 2px 4px 2px 0; font-weight: 500; white-space: nowrap; }
table.adl td.adl-check.ok { color: var(--best-ink); }
table.adl td.adl-check.fail { background: var(--worst); color: var(--worst-ink); font-weight: 650; }
details.help { margin-top: 16px; padding: 0 4px; }
details.help > summary { cursor: pointer; padding: 12px 14px; font-size: 14.5px; }
details.help p { margin: 0 14px 12px; white-space: pre-line; color: var(--muted); }
details.per-seed { margin-top: 16px; padding: 0 4px; }
details.per-seed > summary { cursor: pointer; padding: 12px 14px; font-size: 14.5px; }
details.per-seed table { margin: 8px 0; }

dl.inputs { display: grid; grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); gap: 8px 28px; margin: 0 0 14px; padding: 14px 18px; background: var(--card); border: 1px solid var(--line); border-radius: 12px; }
dl.inputs dt { font-size: 11px; font-weight: 650; text-transform: uppercase; letter-spacing: 0.06em; color: var(--faint); }
dl.inputs dd { margin: 2px 0 0; font-size: 13.5px; overflow-wrap: anywhere; }
.tier-grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(260px, 1fr)); gap: 14px; }
.tier-card { margin: 0; padding: 12px 14px; }
.tier-card figcaption { font-size: 13px; margin-bottom: 6px; }
table.tiers { width: 100%; font-size: 13px; }

footer { margin-top: 40px; padding-top: 16px; border-top: 1px solid var(--line); font-size: 12.5px; color: var(--muted); }
footer p { margin: 4px 0; }

@media (max-width: 900px) {
  .glance-grid, .chart-grid, .glance.single { grid-template-columns: minmax(0, 1fr); }
  .bar-row { grid-template-columns: 100px minmax(0, 1fr) 170px; }
  .glance-card.loss .bar-row { grid-template-columns: 100px minmax(0, 1fr) 220px; }
}
@media print {
  html { background: white; }
  .card { box-shadow: none; }
  details.run-liquidations { break-inside: avoid; }
}
`;
