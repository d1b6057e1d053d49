/// The dashboard's style sheet, served as `/assets/dashboard.css` (a constant of the binary: an
/// installed `nightshift` has no resource bundle beside it). Light and dark follow the system
/// (`prefers-color-scheme`); narrow screens get one column and scrolling tables.
enum DashboardStyle {
    /// The CSS.
    static let css = #"""
    :root {
      color-scheme: light dark;
      --bg: #f7f7f8; --panel: #ffffff; --text: #1c1d21; --muted: #686c77; --line: #e2e4e9;
      --accent: #4f46e5; --accent-text: #ffffff; --code: #f1f2f5;
      --ok: #15803d; --ok-bg: #dcfce7; --bad: #b91c1c; --bad-bg: #fee2e2; --warn: #a16207; --warn-bg: #fef9c3;
      --run: #1d4ed8; --run-bg: #dbeafe; --idle: #4b5563; --idle-bg: #e5e7eb;
      --add: #dcfce7; --del: #fee2e2; --hunk: #e0e7ff;
    }
    @media (prefers-color-scheme: dark) {
      :root {
        --bg: #0f1115; --panel: #171a21; --text: #e6e7ea; --muted: #9aa0ab; --line: #2a2f3a;
        --accent: #818cf8; --accent-text: #0f1115; --code: #1f232c;
        --ok: #4ade80; --ok-bg: #14321f; --bad: #f87171; --bad-bg: #3b1618; --warn: #facc15; --warn-bg: #3a300c;
        --run: #93c5fd; --run-bg: #172a4a; --idle: #cbd5e1; --idle-bg: #2a2f3a;
        --add: #12301d; --del: #3a1518; --hunk: #1e2447;
      }
    }
    * { box-sizing: border-box; }
    body { margin: 0; background: var(--bg); color: var(--text); font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
    a { color: var(--accent); text-decoration: none; }
    a:hover { text-decoration: underline; }
    header.top { display: flex; flex-wrap: wrap; align-items: center; gap: .25rem 1rem; padding: .6rem 1rem; background: var(--panel); border-bottom: 1px solid var(--line); }
    header.top .brand { font-weight: 700; color: var(--text); margin-right: .5rem; }
    header.top nav { display: flex; flex-wrap: wrap; gap: .25rem; flex: 1; }
    header.top nav a { padding: .3rem .6rem; border-radius: 6px; color: var(--muted); }
    header.top nav a.active { background: var(--bg); color: var(--text); font-weight: 600; }
    header.top .who { color: var(--muted); font-size: .85rem; display: flex; gap: .5rem; align-items: center; }
    main { max-width: 1200px; margin: 0 auto; padding: 1rem; }
    h1 { font-size: 1.35rem; margin: .2rem 0 1rem; overflow-wrap: anywhere; }
    h2 { font-size: 1.05rem; margin: 1.5rem 0 .5rem; }
    section.panel, .panel { background: var(--panel); border: 1px solid var(--line); border-radius: 10px; padding: .8rem 1rem; margin-bottom: 1rem; }
    .muted { color: var(--muted); }
    .small { font-size: .85rem; }
    .table-wrap { overflow-x: auto; background: var(--panel); border: 1px solid var(--line); border-radius: 10px; }
    table { border-collapse: collapse; width: 100%; }
    th, td { text-align: left; padding: .45rem .6rem; border-bottom: 1px solid var(--line); vertical-align: top; }
    th { font-size: .8rem; text-transform: uppercase; letter-spacing: .03em; color: var(--muted); font-weight: 600; }
    tr:last-child td { border-bottom: 0; }
    td.num, th.num { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
    td.prompt { max-width: 32rem; min-width: 11rem; overflow-wrap: anywhere; }
    .panel > h2:first-child, .panel > h1:first-child { margin-top: 0; }
    tr.flash td { animation: flash 1.2s ease-out; }
    @keyframes flash { from { background: var(--hunk); } to { background: transparent; } }
    .badge { display: inline-block; padding: .05rem .5rem; border-radius: 999px; font-size: .78rem; font-weight: 600; white-space: nowrap; background: var(--idle-bg); color: var(--idle); }
    .state-running { background: var(--run-bg); color: var(--run); }
    .state-done { background: var(--ok-bg); color: var(--ok); }
    .state-error { background: var(--bad-bg); color: var(--bad); }
    .state-waiting, .state-paused { background: var(--warn-bg); color: var(--warn); }
    .label { display: inline-block; border: 1px solid var(--line); border-radius: 4px; padding: 0 .35rem; font-size: .78rem; margin: 0 .2rem .1rem 0; color: var(--muted); }
    form.filters { display: flex; flex-wrap: wrap; gap: .5rem; align-items: end; margin-bottom: .8rem; }
    form.filters label { display: flex; flex-direction: column; font-size: .78rem; color: var(--muted); }
    input, select, textarea, button { font: inherit; color: inherit; }
    input[type=text], input[type=search], input[type=password], select, textarea { background: var(--panel); border: 1px solid var(--line); border-radius: 6px; padding: .35rem .5rem; min-width: 0; }
    textarea { width: 100%; min-height: 4.5rem; }
    button, .button { background: var(--panel); border: 1px solid var(--line); border-radius: 6px; padding: .35rem .8rem; cursor: pointer; display: inline-block; color: var(--text); }
    button.primary { background: var(--accent); color: var(--accent-text); border-color: var(--accent); }
    button.danger { color: var(--bad); border-color: var(--bad); }
    .actions { display: flex; flex-wrap: wrap; gap: .4rem; margin: .5rem 0; }
    .actions form { margin: 0; }
    .chips { display: flex; flex-wrap: wrap; gap: .4rem; margin-bottom: .8rem; }
    .chips a { border: 1px solid var(--line); border-radius: 999px; padding: .1rem .6rem; font-size: .85rem; color: var(--text); background: var(--panel); }
    .chips a.active { border-color: var(--accent); color: var(--accent); }
    .pager { display: flex; gap: 1rem; margin: .8rem 0; }
    .grid { display: grid; grid-template-columns: minmax(0, 2fr) minmax(0, 1fr); gap: 1rem; }
    @media (max-width: 860px) { .grid { grid-template-columns: minmax(0, 1fr); } }
    dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .2rem .8rem; margin: 0; }
    dl.facts dt { color: var(--muted); }
    dl.facts dd { margin: 0; overflow-wrap: anywhere; }
    pre { background: var(--code); border-radius: 6px; padding: .6rem .8rem; overflow-x: auto; white-space: pre-wrap; overflow-wrap: anywhere; margin: .4rem 0; font-size: .85rem; }
    code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: .9em; }
    p code, li code { background: var(--code); padding: 0 .25rem; border-radius: 4px; }
    .conversation { display: flex; flex-direction: column; gap: .5rem; }
    .msg { border: 1px solid var(--line); border-radius: 10px; padding: .5rem .8rem; background: var(--panel); overflow-wrap: anywhere; }
    .msg > .who { font-size: .75rem; color: var(--muted); text-transform: uppercase; letter-spacing: .04em; }
    .msg.assistant { border-left: 3px solid var(--accent); }
    .msg.person { border-left: 3px solid var(--warn); }
    .msg.result { border-left: 3px solid var(--ok); }
    .msg.error, .tool.error > summary { border-color: var(--bad); background: var(--bad-bg); }
    .msg p:first-of-type { margin-top: .2rem; }
    .msg p:last-child { margin-bottom: .2rem; }
    details.tool, details.thinking { border: 1px solid var(--line); border-radius: 10px; background: var(--panel); }
    details.tool > summary, details.thinking > summary { padding: .4rem .8rem; cursor: pointer; overflow-wrap: anywhere; border-radius: 10px; }
    details.tool > .tool-body, details.thinking > .tool-body { padding: 0 .8rem .6rem; }
    details.tool .sub { margin-left: .4rem; padding-left: .6rem; border-left: 2px dashed var(--line); display: flex; flex-direction: column; gap: .4rem; }
    .tool-name { font-weight: 600; font-family: ui-monospace, monospace; }
    .line { font-family: ui-monospace, monospace; font-size: .82rem; white-space: pre-wrap; overflow-wrap: anywhere; color: var(--muted); padding: 0 .3rem; }
    .line.stderr, .line.warning { color: var(--warn); }
    .line.error { color: var(--bad); font-weight: 600; }
    .divider { font-size: .78rem; color: var(--muted); text-align: center; border-top: 1px dashed var(--line); padding-top: .2rem; }
    .diff { font-family: ui-monospace, monospace; font-size: .8rem; white-space: pre; overflow-x: auto; background: var(--code); border-radius: 6px; padding: .4rem 0; }
    .diff span { display: block; padding: 0 .8rem; }
    .diff .add { background: var(--add); }
    .diff .del { background: var(--del); }
    .diff .hunk { background: var(--hunk); color: var(--muted); }
    .diff .file { font-weight: 700; }
    .question { font-size: 1.05rem; white-space: pre-wrap; overflow-wrap: anywhere; }
    meter { width: 8rem; }
    svg.chart { width: 100%; max-width: 28rem; height: auto; }
    svg.chart rect.bar { fill: var(--accent); }
    svg.chart text { fill: var(--muted); font-size: 9px; }
    svg.chart line { stroke: var(--line); }
    .login { max-width: 26rem; margin: 10vh auto; }
    .login input { width: 100%; margin: .4rem 0 .8rem; }
    .notice { padding: .5rem .8rem; border-radius: 6px; background: var(--bad-bg); color: var(--bad); margin-bottom: .8rem; }
    .live-dot { display: inline-block; width: .55rem; height: .55rem; border-radius: 50%; background: var(--muted); margin-right: .3rem; }
    .live-dot.on { background: var(--ok); }
    @media (max-width: 640px) {
      main { padding: .6rem; }
      th.opt, td.opt { display: none; }
      header.top .who { width: 100%; }
    }
    """#
}
