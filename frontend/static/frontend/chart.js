/* Chart: candles with the strategies' signals, fills (entries/exits), open positions' TP/SL/liquidation
   lines, the drift forecaster's forecast and a chosen config's declared indicators; closed candles from the
   feed are appended live. */
"use strict";
(function () {
  const d = QD.data("chart-data");
  const c = d.candles;
  const note = document.getElementById("chart-note");
  if (!c.t.length) { note.textContent = `No ${d.symbol} ${d.interval} candles stored yet (import or download them first).`; }
  const longs = d.signals.filter((s) => s.signal > 0), shorts = d.signals.filter((s) => s.signal < 0);
  const closeAt = {}; c.t.forEach((t, i) => { closeAt[t] = c.c[i]; });
  const sigTrace = (rows, name, symbol, color) => ({x: rows.map((s) => s.t), y: rows.map((s) => s.price ?? closeAt[s.t]), mode: "markers", type: "scatter", name,
    text: rows.map((s) => s.config), marker: {symbol, size: 9, color}});
  const forecast = d.signals.filter((s) => s.forecast !== null && s.strategy === "drift");
  const buys = d.fills.filter((f) => f.side === "Buy"), sells = d.fills.filter((f) => f.side === "Sell");
  const fillTrace = (rows, name, color) => ({x: rows.map((f) => f.executed_at), y: rows.map((f) => f.price), mode: "markers", type: "scatter", name,
    text: rows.map((f) => f.exit_reason || "entry"), marker: {symbol: "circle-open", size: 12, color, line: {width: 2}}});
  const traces = [
    {type: "candlestick", x: c.t, open: c.o, high: c.h, low: c.l, close: c.c, name: d.symbol},
    sigTrace(longs, "long signal", "triangle-up", "#2ecc71"), sigTrace(shorts, "short signal", "triangle-down", "#e74c3c"),
    fillTrace(buys, "buy fill", "#6fb3ff"), fillTrace(sells, "sell fill", "#f0c674"),
    {x: forecast.map((s) => s.t), y: forecast.map((s) => s.forecast), type: "scatter", mode: "lines", name: "drift forecast", line: {dash: "dot", color: "#c792ea"}},
  ];
  const shapes = [], annotations = [];
  d.positions.forEach((p) => {
    [["take_profit", "TP", "#2ecc71"], ["stop_loss", "SL", "#f39c12"], ["liquidation_price", "LIQ", "#ff3b30"], ["entry_price", "entry", "#6fb3ff"]].forEach(([k, label, color]) => {
      if (p[k] === null || p[k] === undefined) return;
      shapes.push({type: "line", xref: "paper", x0: 0, x1: 1, y0: p[k], y1: p[k], line: {color, dash: k === "entry_price" ? "dot" : "dash", width: 1}});
      annotations.push({xref: "paper", x: 1, y: p[k], text: `${label} ${p.side} ${QD.num(p[k], 2)}`, showarrow: false, xanchor: "right", font: {color, size: 11}});
    });
  });
  Plotly.newPlot("chart", traces, Object.assign({}, QD.dark, {title: {text: `${d.symbol} ${d.interval}`}, shapes, annotations,
    xaxis: {rangeslider: {visible: false}}, legend: {orientation: "h"}}), {responsive: true, displaylogo: false});
  QD.onEvent((ev) => {
    if (ev.type !== "candle" || ev.data.symbol !== d.symbol || ev.data.interval !== d.interval) return;
    const k = ev.data, t = new Date(k.open_time).toISOString().replace(".000Z", "+00:00");
    const gd = document.getElementById("chart"), tr = gd.data[0];
    const last = tr.x.length ? tr.x[tr.x.length - 1] : null;
    if (last !== null && new Date(last).getTime() === new Date(t).getTime()) {
      const i = tr.x.length - 1; tr.open[i] = +k.open; tr.high[i] = +k.high; tr.low[i] = +k.low; tr.close[i] = +k.close;
      Plotly.redraw(gd);
    } else {
      Plotly.extendTraces(gd, {x: [[t]], open: [[+k.open]], high: [[+k.high]], low: [[+k.low]], close: [[+k.close]]}, [0], 2000);
    }
    note.textContent = `last candle ${t} close ${k.close}`;
  });
  QD.onEvent((ev) => { if (ev.type === "position" && ev.data.symbol === d.symbol) note.textContent = "position changed — reload for its TP/SL/liquidation lines"; });
  // the chosen config's strategy indicators, from its own plot declaration (strategy-ui.js)
  const pick = document.getElementById("ind-config");
  async function indicators() {
    const gd = document.getElementById("chart");
    const old = gd.data.map((t, i) => t.meta === "indicator" ? i : -1).filter((i) => i >= 0);
    if (old.length) Plotly.deleteTraces(gd, old);
    if (!pick.value || !c.t.length) return;
    const q = new URLSearchParams({symbol: d.symbol, interval: d.interval, bars: String(c.t.length)});
    try {
      const ind = await QD.api("GET", `/api/configs/${pick.value}/indicators/?` + q.toString());
      Plotly.relayout(gd, QDStrategy.layoutFor(ind, {yaxis: {gridcolor: "#233"}}));
      Plotly.addTraces(gd, QDStrategy.traces(ind));
      if (ind.missing.length) note.textContent = `declared but not produced: ${ind.missing.join(", ")}`;
    } catch (err) { note.textContent = QD.errors(err); }
  }
  pick.addEventListener("change", indicators);
  if (pick.options.length > 1) { pick.selectedIndex = 1; indicators(); }
})();
