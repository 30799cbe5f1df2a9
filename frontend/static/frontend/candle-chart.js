/* One candle chart for the chart page and the backtest result page: candles + a volume pane (+ an indicator
   pane when the strategy declares one) over any range of the whole history. The server resamples the interval
   from the stored base and downsamples a long range to a point budget (/api/chart/candles/); zooming or panning
   (plotly_relayout) refetches the visible range at the finest step that fits, a double-click shows the whole
   history. Callers add their marks through `extras(state)` (traces, shapes, annotations). Times: UTC ISO on the
   axis and in the note, local time on hover (format.js). The chart's state is `element.qd` (tests read it). */
"use strict";
window.QDCandleChart = (function () {
  const F = QD.fmt;
  const budget = (el) => Math.max(300, Math.min(3000, Math.round((el.clientWidth || 1000) * 2)));
  const local = (t) => new Date(t).toLocaleString();

  function layout(state, ind) {
    const pane = typeof QDStrategy !== "undefined" && ind && ind.plots && ind.plots.some((p) => p.kind === "pane");
    const a = state.answer;
    // the axis spans exactly the time the candles cover: first open to last bar's close
    const start = a.t.length ? a.t[0] : null;
    const end = a.t.length ? new Date(new Date(a.t[a.t.length - 1]).getTime() + 1000 * a.step_seconds).toISOString() : null;
    return Object.assign({}, QD.dark, {
      title: {text: state.opts.title || `${state.opts.symbol} ${state.opts.interval}`},
      uirevision: state.opts.symbol + state.opts.interval, showlegend: true, legend: {orientation: "h", y: -0.08},
      xaxis: {type: "date", gridcolor: "#233", rangeslider: {visible: false}, autorange: false,
              range: a.t.length ? [start, end] : undefined},
      yaxis: {gridcolor: "#233", domain: pane ? [0.45, 1] : [0.25, 1], title: {text: "price"}},
      yaxis2: {gridcolor: "#233", domain: [0.22, 0.41], anchor: "x", visible: !!pane},
      yaxis3: {gridcolor: "#233", domain: [0, pane ? 0.18 : 0.2], anchor: "x", title: {text: "volume"}},
      shapes: [], annotations: [],
    });
  }

  function candleTraces(state) {
    const a = state.answer;
    const label = a.downsampled ? `${state.opts.symbol} (${a.step} buckets)` : state.opts.symbol;
    const text = a.t.map((t) => `${F.utc(t)}<br>local ${local(t)}`);
    // each candle (a bar or a bucket of bars) is drawn at the middle of the time it covers, so a fill or a trade
    // at its true time lands inside its candle however coarse the step
    const half = 500 * a.step_seconds;
    const x = a.t.map((t) => new Date(new Date(t).getTime() + half).toISOString());
    return [
      {type: "candlestick", x, open: a.o, high: a.h, low: a.l, close: a.c, name: label, text, hoverinfo: "y+text",
       meta: "candles", increasing: {line: {color: "#2ecc71"}}, decreasing: {line: {color: "#e74c3c"}}},
      {type: "bar", x, y: a.v, yaxis: "y3", name: "volume", meta: "volume", showlegend: false,
       marker: {color: a.c.map((c, i) => c >= a.o[i] ? "rgba(46,204,113,0.5)" : "rgba(231,76,60,0.5)")},
       hovertext: text, hoverinfo: "y+text", textposition: "none"},
    ];
  }

  function note(state) {
    const a = state.answer, el = state.opts.note;
    if (!el) return;
    if (!a.t.length) {
      el.textContent = a.base ? `No ${state.opts.symbol} ${state.opts.interval} bars between ${F.utc(a.range.start)} and ${F.utc(a.range.end)}.`
        : `No ${state.opts.symbol} candles stored that ${state.opts.interval} can be built from (import or download them first).`;
      return;
    }
    const from = a.base === state.opts.interval ? "" : ` (resampled from ${a.base})`;
    const shown = a.downsampled ? `; shown as ${a.t.length.toLocaleString("en-US")} ${a.step} buckets (zoom in for ${state.opts.interval})` : "";
    el.textContent = `${state.opts.interval}${from}: ${a.bars.toLocaleString("en-US")} bars ${F.utc(a.first_bar)} → ${F.utc(a.last_bar)}${shown}. ` +
      `History ${F.utc(a.history.first)} → ${F.utc(a.history.last)}; double-click the chart for all of it.` + (state.extraNote ? " " + state.extraNote : "");
  }

  async function load(state, start, end) {
    const seq = ++state.seq;
    const q = new URLSearchParams({symbol: state.opts.symbol, interval: state.opts.interval, max_points: String(budget(state.el)),
      desk_clock: state.opts.deskClock === false ? "false" : "true"});
    if (start) q.set("start", start);
    if (end) q.set("end", end);
    let answer;
    try { answer = await QD.api("GET", "/api/chart/candles/?" + q.toString()); }
    catch (err) { if (state.opts.note) state.opts.note.textContent = QD.errors(err); return; }
    if (seq !== state.seq) return;  // a newer zoom won
    state.answer = answer;
    await draw(state, seq);
  }

  async function draw(state, seq) {
    const extra = state.opts.extras ? await state.opts.extras(state).catch((err) => ({note: QD.errors(err)})) : {};
    if (seq !== undefined && seq !== state.seq) return;
    const ind = extra.indicators || null;
    const lay = layout(state, ind);
    lay.shapes = extra.shapes || []; lay.annotations = extra.annotations || [];
    state.extraNote = extra.note || "";
    state.drawing = true;
    try {
      await Plotly.react(state.el, [...candleTraces(state), ...(extra.traces || []),
        ...(ind && typeof QDStrategy !== "undefined" ? QDStrategy.traces(ind) : [])], lay, {responsive: true, displaylogo: false});
    } finally { state.drawing = false; }
    state.shown = state.answer;  // the answer on screen (tests wait on it)
    state.view = lay.xaxis.range || null;
    note(state);
    state.loads += 1;  // answers drawn (tests wait on it)
    state.el.dataset.loads = String(state.loads);
  }

  function onZoom(state, ev) {
    if (state.drawing) return;
    let start, end;
    if (ev["xaxis.autorange"]) { start = state.answer.history.first; end = state.answer.history.last; }
    else if (ev["xaxis.range[0]"] !== undefined) { start = ev["xaxis.range[0]"]; end = ev["xaxis.range[1]"]; }
    else if (ev["xaxis.range"]) { [start, end] = ev["xaxis.range"]; }
    else return;
    const iso = (t) => new Date(String(t).replace(" ", "T") + (/[zZ]|[+-]\d\d:\d\d$/.test(String(t)) ? "" : "Z")).toISOString();
    clearTimeout(state.timer);
    state.timer = setTimeout(() => load(state, iso(start), iso(end)), 250);
  }

  /* Draw into `el`: opts {symbol, interval, start, end, deskClock (default true), title, note (element), extras}. */
  function create(el, opts) {
    const state = {el, opts, seq: 0, loads: 0, answer: null, shown: null, view: null, timer: null, drawing: false};
    el.qd = state;
    state.ready = load(state, opts.start, opts.end).then(() => {
      if (!el.on) return;  // nothing drawn (the note says why)
      el.on("plotly_relayout", (ev) => onZoom(state, ev));
      el.on("plotly_doubleclick", () => { load(state, state.answer.history.first, state.answer.history.last); return false; });
    });
    state.redraw = () => draw(state);
    state.reload = (start, end) => load(state, start, end);
    return state;
  }

  /* A closed candle from the feed (interval `k.interval`) folded into the chart when it is at the live edge and
     not downsampled: the same interval appends/updates a bar; a finer one that divides it updates its bucket. */
  function liveCandle(state, k) {
    const a = state.answer;
    if (!a || a.downsampled || k.symbol !== state.opts.symbol || !a.t.length) return false;
    const secs = {"1m": 60, "3m": 180, "5m": 300, "15m": 900, "30m": 1800, "1h": 3600, "2h": 7200, "4h": 14400,
      "6h": 21600, "12h": 43200, "1d": 86400}[k.interval];
    if (!secs || a.step_seconds % secs) return false;
    const openMs = new Date(k.open_time).getTime(), bucketMs = openMs - openMs % (1000 * a.step_seconds);
    const lastMs = new Date(a.t[a.t.length - 1]).getTime();
    if (bucketMs < lastMs || bucketMs > lastMs + 1000 * a.step_seconds) return false;  // not at the live edge
    const o = +k.open, h = +k.high, l = +k.low, c = +k.close, v = +(k.volume || 0);
    if (bucketMs === lastMs) {
      const i = a.t.length - 1;
      if (secs === a.step_seconds) { a.o[i] = o; a.h[i] = h; a.l[i] = l; a.v[i] = v; }
      else { a.h[i] = Math.max(a.h[i], h); a.l[i] = Math.min(a.l[i], l); a.v[i] += v; }
      a.c[i] = c;
    } else {
      a.t.push(new Date(bucketMs).toISOString().replace(".000Z", "+00:00"));
      a.o.push(o); a.h.push(h); a.l.push(l); a.c.push(c); a.v.push(v);
      a.bars += 1;
    }
    a.last_bar = a.t[a.t.length - 1];
    a.history.last = new Date(openMs).toISOString();
    state.redraw();
    return true;
  }
  return {create, liveCandle};
})();
