/* Chart page: candles + volume of any interval over the whole history (candle-chart.js: resampled and
   downsampled server-side, refetched on zoom), the user's signals, fills (entries and exits both visible), the
   drift forecaster's forecast, a chosen config's declared indicators, and the open positions' TP/SL/liquidation
   lines, all on the desk's clock (a replay's time while one runs). Live: closed candles are folded in, fills and
   signals added, position lines move with every position event. */
"use strict";
(function () {
  const d = QD.data("chart-data");
  QD.fmt.setInstruments(d.instruments);
  const F = QD.fmt, note = document.getElementById("chart-note"), pick = document.getElementById("ind-config");
  const el = document.getElementById("chart");
  const live = {positions: {}, fills: [], signals: []};  // what arrived over the socket since the last fetch
  let marks = null;

  function markTraces(m) {
    const fills = m.fills.concat(live.fills.filter((f) => !m.fills.some((x) => x.id === f.id)));
    const sigs = m.signals.concat(live.signals);
    const entries = fills.filter((f) => f.kind === "entry"), exits = fills.filter((f) => f.kind === "exit");
    const hover = (f) => `${f.kind} ${f.side} ${F.qty(f.qty, d.symbol)} @ ${F.price(f.price, d.symbol)}${f.exit_reason ? " (" + f.exit_reason + ")" : ""}<br>${F.utc(f.executed_at)}<br>local ${new Date(f.executed_at).toLocaleString()}`;
    const sig = (rows, name, symbol, color) => ({x: rows.map((s) => s.t), y: rows.map((s) => s.price), mode: "markers", type: "scatter", name, meta: "signal",
      text: rows.map((s) => `${s.config}<br>${F.utc(s.t)}`), hoverinfo: "y+text", marker: {symbol, size: 8, color, opacity: 0.8}});
    return [
      sig(sigs.filter((s) => s.signal > 0), "long signal", "triangle-up-open", "#2ecc71"),
      sig(sigs.filter((s) => s.signal < 0), "short signal", "triangle-down-open", "#e74c3c"),
      {x: m.forecast.t, y: m.forecast.y, type: "scatter", mode: "lines", name: "drift forecast", meta: "forecast", line: {dash: "dot", color: "#c792ea"}},
      // exits first and hollow, entries on top and solid: an exit at an entry's time and price never hides it
      {x: exits.map((f) => f.executed_at), y: exits.map((f) => f.price), mode: "markers", type: "scatter", name: "exit fill", meta: "exit",
       text: exits.map(hover), hoverinfo: "text", marker: {symbol: "circle-open", size: 15, color: "#f0c674", line: {width: 2}}},
      {x: entries.map((f) => f.executed_at), y: entries.map((f) => f.price), mode: "markers", type: "scatter", name: "entry fill", meta: "entry",
       text: entries.map(hover), hoverinfo: "text", marker: {symbol: entries.map((f) => f.side === "Buy" ? "triangle-up" : "triangle-down"), size: 10, color: "#6fb3ff"}},
    ];
  }

  function positionLines() {
    const shapes = [], annotations = [];
    Object.values(live.positions).forEach((p) => {
      [["take_profit", "TP", "#2ecc71"], ["stop_loss", "SL", "#f39c12"], ["liquidation_price", "LIQ", "#ff3b30"], ["entry_price", "entry", "#6fb3ff"]].forEach(([k, label, color]) => {
        if (p[k] === null || p[k] === undefined || Number(p[k]) === 0) return;
        shapes.push({type: "line", xref: "paper", yref: "y", x0: 0, x1: 1, y0: p[k], y1: p[k], name: `${label}-${p.id}`, line: {color, dash: k === "entry_price" ? "dot" : "dash", width: 1}});
        annotations.push({xref: "paper", yref: "y", x: 1, y: p[k], text: `${label} ${p.side} ${F.price(p[k], p.symbol)}`, showarrow: false, xanchor: "right", yanchor: "bottom", font: {color, size: 11}});
      });
    });
    return {shapes, annotations};
  }

  async function extras(state) {
    const a = state.answer, out = {traces: [], note: ""};
    if (!a.t.length) return Object.assign(out, positionLines());
    const end = new Date(new Date(a.last_bar).getTime() + 1000 * a.step_seconds).toISOString();
    const q = new URLSearchParams({symbol: d.symbol, start: a.first_bar, end, step: String(a.step_seconds)});
    marks = await QD.api("GET", "/api/chart/marks/?" + q.toString());
    live.fills = []; live.signals = [];
    live.positions = Object.fromEntries(marks.positions.map((p) => [p.id, p]));
    out.traces = markTraces(marks);
    const cut = ["signals", "fills"].filter((k) => marks.counts[k] > marks[k].length).map((k) => `newest ${marks[k].length} of ${marks.counts[k]} ${k} shown`);
    if (cut.length) out.note = cut.join("; ") + " (zoom in for all).";
    if (pick.value) {
      const iq = new URLSearchParams({config: pick.value, symbol: d.symbol, interval: d.interval, start: a.first_bar, end: a.last_bar, step: String(a.step_seconds)});
      try { out.indicators = await QD.api("GET", "/api/chart/indicators/?" + iq.toString());
        if (out.indicators.missing.length) out.note += ` Declared but not produced: ${out.indicators.missing.join(", ")}.`;
      } catch (err) { out.note += " Indicators: " + QD.errors(err); }
    }
    return Object.assign(out, positionLines());
  }

  if (pick.options.length > 1) pick.selectedIndex = 1;
  const chart = QDCandleChart.create(el, {symbol: d.symbol, interval: d.interval, note, extras, deskClock: true});
  pick.addEventListener("change", () => chart.redraw());
  document.getElementById("chart-all").addEventListener("click", () => chart.reload(chart.answer.history.first, chart.answer.history.last));
  document.getElementById("chart-latest").addEventListener("click", () => chart.reload(null, null));

  function relines() {
    const lines = positionLines();
    chart.drawing = true;
    Plotly.relayout(el, {shapes: lines.shapes, annotations: lines.annotations}).finally(() => { chart.drawing = false; });
  }
  function retrace() {
    if (!marks) return;
    const keep = el.data.map((t, i) => (["signal", "forecast", "exit", "entry"].includes(t.meta) ? i : -1)).filter((i) => i >= 0);
    chart.drawing = true;
    Plotly.deleteTraces(el, keep).then(() => Plotly.addTraces(el, markTraces(marks), keep[0])).finally(() => { chart.drawing = false; });
  }
  QD.onEvent((ev) => {
    const x = ev.data || {};
    if (ev.type === "candle" && x.symbol === d.symbol) {
      if (QDCandleChart.liveCandle(chart, x)) note.dataset.lastCandle = x.open_time;
    } else if (ev.type === "position" && x.symbol === d.symbol) {
      if (x.status === "open") live.positions[x.id] = x; else delete live.positions[x.id];
      relines();
    } else if (ev.type === "fill" && x.symbol === d.symbol && x.exec_type === "Trade") {
      live.fills.push(Object.assign({}, x, {kind: x.exit_reason ? "exit" : "entry"}));
      retrace();
    } else if (ev.type === "signal" && x.symbol === d.symbol && x.signal) {
      live.signals.push({t: x.bar_time, signal: x.signal, price: x.price, config: `config ${x.config}`});
      retrace();
    }
  });
})();
