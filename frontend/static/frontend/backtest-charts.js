/* Rendering of a finished backtest (metrics, equity and drawdown, exit reasons, trades, candles with the
   trades and liquidations marked and the strategy's declared indicators, a "biased" mark) and of a comparison of several runs. Used by the backtests pages. */
"use strict";
window.QDCharts = (function () {
  const METRICS = [["total_return", "Total return", "pct"], ["cagr", "CAGR", "pct"], ["sharpe", "Sharpe", 2],
    ["sortino", "Sortino", 2], ["calmar", "Calmar", 2], ["max_drawdown", "Max drawdown", "pct"],
    ["final_equity", "Final equity", 2], ["trade_count", "Trades", 0], ["win_rate", "Win rate", "pct"],
    ["profit_factor", "Profit factor", 2], ["expectancy", "Expectancy (USDT)", 4], ["sqn", "SQN", 2],
    ["liquidations", "Liquidations", 0], ["exposure", "Exposure", "pct"], ["fees_paid", "Fees paid", 2],
    ["funding_paid", "Funding paid", 2], ["buy_and_hold_return", "Buy and hold", "pct"], ["bars", "Bars", 0]];
  function fmt(v, f) { return f === "pct" ? QD.pct(v) : QD.num(v, f); }
  function drawdown(eq) { let peak = -Infinity; return eq.map((v) => { peak = Math.max(peak, v); return v / peak - 1; }); }

  function render(run, root) {
    const m = run.metrics || {};
    const reasons = m.by_exit_reason || {};
    const bias = run.bias || {};
    const badge = bias.biased ? `<p class="error" id="bt-biased">biased: this strategy version (${QD.esc(bias.version)}) fails ${QD.esc((bias.failures || []).join(", ").replace(/_/g, " "))}; its results are not trustworthy and it cannot be enabled.</p>`
      : (bias.checked === false ? `<p class="muted" id="bt-unchecked">bias checks of version ${QD.esc(bias.version)} had not run when this backtest ran.</p>` : "");
    root.innerHTML = `<h2>Run #${run.id} ${QD.esc(run.name || "")} — ${QD.esc(run.strategy)} ${QD.esc(run.settings.symbol)} ${QD.esc(run.settings.timeframe)}${bias.biased ? ' <span class="neg">[biased]</span>' : ""}</h2>${badge}
      <div class="two"><table class="metrics" id="metrics"><tbody>${METRICS.map(([k, label, f]) => `<tr><th>${label}</th><td class="num" data-metric="${k}">${fmt(m[k], f)}</td></tr>`).join("")}</tbody></table>
      <div><h2>By exit reason</h2><table id="exit-reasons"><thead><tr><th>Reason</th><th class="num">Count</th><th class="num">PnL</th><th class="num">Avg PnL</th></tr></thead><tbody>
      ${Object.entries(reasons).map(([r, s]) => `<tr><td>${QD.esc(r)}</td><td class="num">${s.count}</td><td class="num">${QD.num(s.pnl, 2)}</td><td class="num">${QD.num(s.avg_pnl, 4)}</td></tr>`).join("") || '<tr><td colspan="4" class="muted">No closed trades.</td></tr>'}
      </tbody></table></div></div>
      <div id="equity-plot" class="plot"></div><div id="drawdown-plot" class="plot" style="height:220px"></div>
      <div id="candles-plot" class="plot" style="height:560px"></div>
      <h2>Trades (${run.trades.length}${m.trade_count > run.trades.length ? " of " + m.trade_count : ""})</h2>
      <table id="trades"><thead><tr><th>Entry</th><th>Exit</th><th>Side</th><th class="num">Qty</th><th class="num">Entry price</th><th class="num">Exit price</th>
      <th class="num">Fees</th><th class="num">Funding</th><th class="num">PnL</th><th>Exit reason</th></tr></thead><tbody>
      ${run.trades.slice(0, 500).map((t) => `<tr><td>${t.entry_time.slice(0, 16)}</td><td>${t.exit_time.slice(0, 16)}</td><td>${t.side}</td><td class="num">${t.qty}</td>
        <td class="num">${QD.num(t.entry_price, 2)}</td><td class="num">${QD.num(t.exit_price, 2)}</td><td class="num">${QD.num(t.fees, 4)}</td>
        <td class="num">${QD.num(t.funding, 4)}</td><td class="num ${t.pnl >= 0 ? "pos" : "neg"}">${QD.num(t.pnl, 4)}</td><td>${QD.esc(t.exit_reason)}</td></tr>`).join("")}
      </tbody></table>`;
    const t = run.equity_curve.map((p) => p[0]), eq = run.equity_curve.map((p) => p[1]);
    Plotly.newPlot("equity-plot", [{x: t, y: eq, type: "scatter", mode: "lines", name: "equity", line: {color: "#6fb3ff"}}],
      Object.assign({}, QD.dark, {title: {text: "Equity (USDT)"}}), {responsive: true, displaylogo: false});
    Plotly.newPlot("drawdown-plot", [{x: t, y: drawdown(eq).map((v) => 100 * v), type: "scatter", mode: "lines", fill: "tozeroy",
      name: "drawdown %", line: {color: "#ff7b72"}}], Object.assign({}, QD.dark, {title: {text: "Drawdown (%)"}}), {responsive: true, displaylogo: false});
    candles(run);
  }

  async function candles(run) {
    const s = run.settings;
    const q = new URLSearchParams({symbol: s.symbol, interval: s.timeframe, start: s.start, end: s.end, limit: "5000"});
    const page = await QD.api("GET", "/api/candles/?" + q.toString()).catch(() => null);
    if (!page || !page.results.length) return;
    const c = page.results, last = c[c.length - 1].open_time;
    const trades = run.trades.filter((x) => x.entry_time <= last);
    const entries = {x: trades.map((x) => x.entry_time), y: trades.map((x) => x.entry_price), mode: "markers", type: "scatter", name: "entry",
      marker: {symbol: trades.map((x) => x.side === "long" ? "triangle-up" : "triangle-down"), size: 10, color: "#6fb3ff"}};
    const exitsOf = (liq) => trades.filter((x) => (x.exit_reason === "liquidation") === liq);
    const ex = exitsOf(false), lq = exitsOf(true);
    const exits = {x: ex.map((x) => x.exit_time), y: ex.map((x) => x.exit_price), mode: "markers", type: "scatter", name: "exit",
      text: ex.map((x) => x.exit_reason), marker: {symbol: "x", size: 9, color: "#f0c674"}};
    const liqs = {x: lq.map((x) => x.exit_time), y: lq.map((x) => x.exit_price), mode: "markers", type: "scatter", name: "liquidation",
      marker: {symbol: "star", size: 14, color: "#ff3b30"}};
    const ind = run.indicators || {};
    const layout = QDStrategy.layoutFor(ind, Object.assign({}, QD.dark, {title: {text: `${s.symbol} ${s.timeframe}${page.next ? " (first 5,000 bars)" : ""}`},
      xaxis: {rangeslider: {visible: false}}, legend: {orientation: "h"}}));
    Plotly.newPlot("candles-plot", [{type: "candlestick", x: c.map((r) => r.open_time), open: c.map((r) => +r.open), high: c.map((r) => +r.high),
      low: c.map((r) => +r.low), close: c.map((r) => +r.close), name: s.symbol}, entries, exits, liqs, ...QDStrategy.traces(ind)],
      layout, {responsive: true, displaylogo: false});
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
