/* Rendering of a finished backtest (metrics, monthly returns, equity and drawdown, exit reasons, round-trip
   trades with their partial closes, candles with the trades and liquidations marked and the strategy's declared
   indicators, a "biased" mark; for a desk run also its slots, detail/trigger series per symbol and refused
   entries) and of a comparison of several runs. Used by the backtests pages. */
"use strict";
window.QDCharts = (function () {
  const METRICS = [["total_return", "Total return", "pct"], ["cagr", "CAGR", "pct"], ["sharpe", "Sharpe", 2],
    ["sortino", "Sortino", 2], ["calmar", "Calmar", 2], ["max_drawdown", "Max drawdown", "pct"],
    ["final_equity", "Final equity", 2], ["trade_count", "Trades", 0], ["win_rate", "Win rate", "pct"],
    ["profit_factor", "Profit factor", 2], ["expectancy", "Expectancy (USDT)", 4], ["sqn", "SQN", 2],
    ["liquidations", "Liquidations", 0], ["exposure", "Exposure", "pct"], ["fees_paid", "Fees paid", 2],
    ["funding_paid", "Funding paid", 2], ["buy_and_hold_return", "Buy and hold", "pct"], ["bars", "Bars", 0],
    ["max_consecutive_wins", "Consecutive wins (max)", 0], ["max_consecutive_losses", "Consecutive losses (max)", 0],
    ["best_trade", "Best trade (USDT)", 4], ["worst_trade", "Worst trade (USDT)", 4],
    ["monitor_decisions", "Monitor reduces/closes", 0], ["warmup_bars", "Warm-up bars read", 0]];
  const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  function fmt(v, f) { return f === "pct" ? QD.pct(v) : QD.num(v, f); }
  function drawdown(eq) { let peak = -Infinity; return eq.map((v) => { peak = Math.max(peak, v); return v / peak - 1; }); }

  function title(run) {
    const s = run.settings || {};
    if (s.kind === "portfolio") return `Run #${run.id} ${QD.esc(run.name || "")} — desk run of ${QD.esc((s.account || {}).name || "")}: ${(s.slots || []).length} slot(s), ${QD.esc(s.symbol)}, max ${s.max_open_positions} open`;
    return `Run #${run.id} ${QD.esc(run.name || "")} — ${QD.esc(run.strategy)} ${QD.esc(s.symbol)} ${QD.esc(s.timeframe)}${s.config ? " (config " + QD.esc(s.config.name) + ")" : ""}`;
  }

  function monthly(m) {  // {"YYYY-MM": return} or [{month, return}] -> a year x month table
    let rows = m.monthly_returns || m.monthly;
    if (!rows) return "";
    if (Array.isArray(rows)) rows = Object.fromEntries(rows.map((r) => [String(r.month || r.period).slice(0, 7), r.return !== undefined ? r.return : r.value]));
    const years = [...new Set(Object.keys(rows).map((k) => k.slice(0, 4)))].sort();
    if (!years.length) return "";
    return `<h2>Monthly returns</h2><table id="monthly"><thead><tr><th>Year</th>${MONTHS.map((x) => `<th class="num">${x}</th>`).join("")}</tr></thead><tbody>` +
      years.map((y) => `<tr><th>${y}</th>${MONTHS.map((_, i) => { const v = rows[`${y}-${String(i + 1).padStart(2, "0")}`];
        return `<td class="num ${v > 0 ? "pos" : v < 0 ? "neg" : ""}">${v === undefined || v === null ? "" : QD.pct(v)}</td>`; }).join("")}</tr>`).join("") + "</tbody></table>";
  }

  function deskTables(run) {
    const m = run.metrics || {};
    if ((run.settings || {}).kind !== "portfolio") return "";
    const slots = Object.entries(m.slots || {}), syms = Object.entries(m.symbols || {});
    const trig = m.trigger_series || {}, refs = m.refusals || [];
    return `<div class="two"><div><h2>Slots</h2><table id="slots"><thead><tr><th>Slot</th><th>Config</th><th>Strategy</th><th>Symbol</th><th class="num">Signal bars</th><th class="num">Warm-up</th><th>Context</th></tr></thead><tbody>
      ${slots.map(([k, x]) => `<tr><td>${QD.esc(k)}</td><td>${QD.esc(x.config_name)}</td><td>${QD.esc(x.strategy)}</td><td>${QD.esc(x.symbol)} ${QD.esc(x.timeframe)}</td>
        <td class="num">${x.bars}</td><td class="num">${x.warmup_bars}/${x.warmup_bars_wanted}</td><td>${QD.esc(Object.keys((x.context || {}).other || {}).concat(Object.keys((x.context || {}).higher || {})).join(", ") || "none")}</td></tr>`).join("")}</tbody></table></div>
      <div><h2>Series per symbol</h2><table id="series"><thead><tr><th>Symbol</th><th>Detail bars</th><th class="num">Count</th><th>Liquidation trigger</th></tr></thead><tbody>
      ${syms.map(([k, x]) => `<tr><td>${QD.esc(k)}</td><td>${QD.esc(x.detail_interval)}</td><td class="num">${x.detail_bars}</td><td>${QD.esc(typeof trig[k] === "object" ? JSON.stringify(trig[k]) : trig[k] || "")}</td></tr>`).join("")}</tbody></table></div></div>
      <details><summary>Refused entries: ${Object.entries(m.refusals_by_reason || {}).map(([r, n]) => `${QD.esc(r)} ${n}`).join(", ") || "none"}${refs.length ? ` (first ${Math.min(refs.length, 200)} listed)` : ""}</summary>
      ${refs.length ? `<table id="refusals"><thead><tr><th>Time</th><th>Slot</th><th>Symbol</th><th>Side</th><th>Reason</th><th>Held by</th></tr></thead><tbody>
      ${refs.slice(0, 200).map((r) => `<tr><td>${QD.fmt.time(r.time)}</td><td>${QD.esc(r.slot)}</td><td>${QD.esc(r.symbol)}</td><td>${QD.esc(r.side)}</td><td>${QD.esc(r.reason)}</td><td>${QD.esc(r.held_by || "")}</td></tr>`).join("")}</tbody></table>` : ""}</details>`;
  }

  function tradeRows(trades, desk) {
    return trades.slice(0, 500).map((t) => {
      const partials = t.partials || [];
      const main = `<tr class="trade"><td>${QD.fmt.time(t.entry_time)}</td><td>${QD.fmt.time(t.exit_time)}</td>${desk ? `<td>${QD.esc(t.slot)}</td><td>${QD.esc(t.symbol)}</td>` : ""}<td>${t.side}</td><td class="num">${t.qty}</td>
        <td class="num">${QD.num(t.entry_price, 2)}</td><td class="num">${QD.num(t.exit_price, 2)}</td><td class="num">${QD.num(t.fees, 4)}</td>
        <td class="num">${QD.num(t.funding, 4)}</td><td class="num ${t.pnl >= 0 ? "pos" : "neg"}">${QD.num(t.pnl, 4)}</td><td>${QD.esc(t.exit_reason)}${partials.length ? ` (+${partials.length} partial)` : ""}</td></tr>`;
      const span = desk ? 12 : 10;
      return main + partials.map((p) => `<tr class="partial muted"><td></td><td colspan="${span - 1}">partial close ${QD.esc(String(p.time).slice(0, 19))}: ${p.qty} @ ${QD.num(p.price, 2)}, ${QD.esc(p.reason)}, PnL ${QD.num(p.pnl, 4)}</td></tr>`).join("");
    }).join("");
  }

  function render(run, root) {
    const m = run.metrics || {};
    const reasons = m.by_exit_reason || {};
    const bias = run.bias || {};
    const badge = bias.biased ? `<p class="error" id="bt-biased">biased: this strategy version (${QD.esc(bias.version)}) fails ${QD.esc((bias.failures || []).join(", ").replace(/_/g, " "))}; its results are not trustworthy and it cannot be enabled.</p>`
      : (bias.checked === false ? `<p class="muted" id="bt-unchecked">bias checks of version ${QD.esc(bias.version)} had not run when this backtest ran.</p>` : "");
    const desk = (run.settings || {}).kind === "portfolio";
    const ctx = m.context || {};
    const note = desk ? "" : `<p class="muted" id="run-inputs">Liquidation trigger: ${QD.esc(Object.values(m.trigger_series || {}).join(", ") || "n/a")};
      warm-up: ${m.warmup_bars ?? "n/a"} of ${m.warmup_bars_wanted ?? "n/a"} declared bars read before the start${m.warmup_bars < m.warmup_bars_wanted ? " (the store holds fewer: rows near the start may differ from what the live desk computes; start later for a full warm-up)" : ""};
      context: ${QD.esc(Object.keys(ctx.other || {}).concat(Object.keys(ctx.higher || {})).join(", ") || "none")}</p>`;
    root.innerHTML = `<h2>${title(run)}${bias.biased ? ' <span class="neg">[biased]</span>' : ""}</h2>${badge}${note}
      <div class="two"><table class="metrics" id="metrics"><tbody>${METRICS.filter(([k]) => m[k] !== undefined).map(([k, label, f]) => `<tr><th>${label}</th><td class="num" data-metric="${k}">${fmt(m[k], f)}</td></tr>`).join("")}</tbody></table>
      <div><h2>By exit reason</h2><table id="exit-reasons"><thead><tr><th>Reason</th><th class="num">Count</th><th class="num">PnL</th><th class="num">Avg PnL</th></tr></thead><tbody>
      ${Object.entries(reasons).map(([r, s]) => `<tr><td>${QD.esc(r)}</td><td class="num">${s.count}</td><td class="num">${QD.num(s.pnl, 2)}</td><td class="num">${QD.num(s.avg_pnl, 4)}</td></tr>`).join("") || '<tr><td colspan="4" class="muted">No closed trades.</td></tr>'}
      </tbody></table>${monthly(m)}</div></div>
      ${deskTables(run)}
      <div id="equity-plot" class="plot"></div><div id="drawdown-plot" class="plot" style="height:220px"></div>
      <div id="candles-plot"></div>
      <h2>Trades (${run.trades.length}${m.trade_count > run.trades.length ? " of " + m.trade_count : ""}; a trade is entry to final exit)</h2>
      <table id="trades"><thead><tr><th>Entry</th><th>Exit</th>${desk ? "<th>Slot</th><th>Symbol</th>" : ""}<th>Side</th><th class="num">Qty</th><th class="num">Entry price</th><th class="num">Exit price</th>
      <th class="num">Fees</th><th class="num">Funding</th><th class="num">PnL</th><th>Exit reason</th></tr></thead><tbody>
      ${tradeRows(run.trades, desk)}
      </tbody></table>`;
    const t = run.equity_curve.map((p) => p[0]), eq = run.equity_curve.map((p) => p[1]);
    Plotly.newPlot("equity-plot", [{x: t, y: eq, type: "scatter", mode: "lines", name: "equity", line: {color: "#6fb3ff"}}],
      Object.assign({}, QD.dark, {title: {text: "Equity (USDT)"}}), {responsive: true, displaylogo: false});
    Plotly.newPlot("drawdown-plot", [{x: t, y: drawdown(eq).map((v) => 100 * v), type: "scatter", mode: "lines", fill: "tozeroy",
      name: "drawdown %", line: {color: "#ff7b72"}}], Object.assign({}, QD.dark, {title: {text: "Drawdown (%)"}}), {responsive: true, displaylogo: false});
    const s = run.settings;
    const symbols = desk ? s.symbol.split(",") : [s.symbol];
    const box = document.getElementById("candles-plot");
    symbols.forEach((sym, i) => {
      const el = document.createElement("div");
      el.id = `candles-plot-${i}`; el.className = "plot"; el.style.height = "560px";
      box.appendChild(el);
      const tf = desk ? (s.slots.find((x) => x.symbol === sym) || {}).timeframe : s.timeframe;
      candles(run, sym, tf, el.id, desk ? run.trades.filter((x) => x.symbol === sym) : run.trades);
    });
  }

  function desk(run) { return (run.settings || {}).kind === "portfolio"; }

  /* The run's candles over the WHOLE run (candle-chart.js: downsampled overview, refetched finer on zoom) with
     every trade: exits drawn first and hollow, entries on top and solid (an exit never hides an entry),
     liquidations as stars; a single run also draws its strategy's declared indicators for the range on screen. */
  function candles(run, symbol, timeframe, target, all) {
    const s = run.settings;
    const entryHover = (x) => `entry ${x.side} ${x.qty} @ ${QD.num(x.entry_price, 2)}<br>${QD.fmt.utc(x.entry_time)}<br>local ${new Date(x.entry_time).toLocaleString()}`;
    const exitHover = (x) => `exit (${x.exit_reason}) @ ${QD.num(x.exit_price, 2)}, PnL ${QD.num(x.pnl, 4)}<br>${QD.fmt.utc(x.exit_time)}<br>local ${new Date(x.exit_time).toLocaleString()}`;
    const traces = (small, lo, hi) => {  // the trades in the range on screen; smaller marks on an overview
      const inside = (t) => { const v = new Date(t).getTime(); return v >= lo && v < hi; };
      const shown = all.filter((x) => inside(x.entry_time) || inside(x.exit_time));
      const ex = shown.filter((x) => x.exit_reason !== "liquidation"), lq = shown.filter((x) => x.exit_reason === "liquidation");
      return [
      {x: ex.map((x) => x.exit_time), y: ex.map((x) => x.exit_price), mode: "markers", type: "scatter", name: "exit", meta: "exit",
       text: ex.map(exitHover), hoverinfo: "text", marker: {symbol: "circle-open", size: small ? 7 : 14, color: "#f0c674", line: {width: small ? 1 : 2}}},
      {x: lq.map((x) => x.exit_time), y: lq.map((x) => x.exit_price), mode: "markers", type: "scatter", name: "liquidation", meta: "liquidation",
       text: lq.map(exitHover), hoverinfo: "text", marker: {symbol: "star-open", size: small ? 10 : 16, color: "#ff3b30", line: {width: 2}}},
      {x: shown.map((x) => x.entry_time), y: shown.map((x) => x.entry_price), mode: "markers", type: "scatter", name: "entry", meta: "entry",
       text: shown.map(entryHover), hoverinfo: "text", marker: {symbol: shown.map((x) => x.side === "long" ? "triangle-up" : "triangle-down"), size: small ? 5 : 10, color: "#6fb3ff"}},
      ];
    };
    async function extras(state) {
      const a = state.answer;
      const ms = (t) => new Date(t).getTime();
      const lo = a.t.length ? ms(a.t[0]) : 0, hi = a.t.length ? ms(a.t[a.t.length - 1]) + 1000 * a.step_seconds : 0;  // what the candles cover
      const out = {traces: traces(a.downsampled, lo, hi)};
      if (desk(run) || !a.t.length) return out;
      const q = new URLSearchParams({backtest: String(run.id), symbol, interval: timeframe, start: a.first_bar, end: a.last_bar, step: String(a.step_seconds)});
      try { out.indicators = await QD.api("GET", "/api/chart/indicators/?" + q.toString()); }
      catch (err) { out.note = "Indicators: " + QD.errors(err); }
      return out;
    }
    const el = document.getElementById(target);
    const note = document.createElement("p");
    note.className = "muted chart-note"; el.after(note);
    return QDCandleChart.create(el, {symbol, interval: timeframe, start: s.start, end: s.end, deskClock: false, note, extras,
      title: `${symbol} ${timeframe}: ${all.length} trade(s), ${QD.fmt.utc(s.start)} → ${QD.fmt.utc(s.end)}`});
  }

  function compare(runs, plot, table) {
    plot.hidden = false; table.hidden = false;
    Plotly.newPlot(plot, runs.map((r) => ({x: r.equity_curve.map((p) => p[0]), y: r.equity_curve.map((p) => p[1] / r.equity_curve[0][1] - 1),
      type: "scatter", mode: "lines", name: `#${r.id} ${r.strategy}`})), Object.assign({}, QD.dark, {title: {text: "Return of each run"}, yaxis: {tickformat: ".1%"}}),
      {responsive: true, displaylogo: false});
    table.innerHTML = `<thead><tr><th>Metric</th>${runs.map((r) => `<th class="num">#${r.id}</th>`).join("")}</tr></thead><tbody>` +
      METRICS.map(([k, label, f]) => `<tr><th>${label}</th>${runs.map((r) => `<td class="num">${fmt((r.metrics || {})[k], f)}</td>`).join("")}</tr>`).join("") + "</tbody>";
  }
  return {render, compare};
})();
