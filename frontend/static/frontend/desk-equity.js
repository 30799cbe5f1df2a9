/* The desk's equity curve per account (the exchange snapshots: one after every change and each minute) with its
   drawdown from the running peak, in percent, below; loaded with the page and extended by each "equity" event. */
"use strict";
QD.equity = (function () {
  const curves = {};  // account id -> {t: [], e: []}
  let names = {}, drawn = false, pending = null;
  function drawdown(e) {
    let peak = -Infinity;
    return e.map((x) => { peak = Math.max(peak, x); return peak > 0 ? 100 * (x - peak) / peak : 0; });
  }
  function draw() {
    const el = document.getElementById("equity-curve");
    if (!el || typeof Plotly === "undefined") return;
    const ids = Object.keys(curves).filter((id) => curves[id].t.length);
    el.dataset.points = String(ids.reduce((n, id) => n + curves[id].t.length, 0));
    if (!ids.length) { el.innerHTML = '<p class="muted">No equity snapshots yet.</p>'; drawn = false; return; }
    const traces = [];
    ids.forEach((id) => {
      const c = curves[id], name = names[id] || "account " + id;
      traces.push({x: c.t, y: c.e, name: name + " equity", mode: "lines", type: "scatter", yaxis: "y"});
      traces.push({x: c.t, y: drawdown(c.e), name: name + " drawdown %", mode: "lines", type: "scatter",
                   fill: "tozeroy", line: {width: 1}, yaxis: "y2"});
    });
    const layout = Object.assign({}, QD.dark, {
      height: 260, showlegend: true, legend: {orientation: "h", y: 1.15},
      yaxis: {domain: [0.35, 1], title: "USDT", gridcolor: "#233"},
      yaxis2: {domain: [0, 0.28], title: "DD %", gridcolor: "#233"},
      xaxis: {gridcolor: "#233", type: "date"}});
    if (!drawn) el.innerHTML = "";
    Plotly.react(el, traces, layout, {displaylogo: false, responsive: true});
    drawn = true;
  }
  function init(data, accountNames) {
    names = accountNames || {};
    Object.entries(data || {}).forEach(([id, rows]) => {
      curves[id] = {t: rows.map((r) => r[0]), e: rows.map((r) => Number(r[1]))};
    });
    draw();
  }
  function add(snapshot) {  // an "equity" event: {account, taken_at, equity, ...}
    const id = String(snapshot.account);
    const c = curves[id] || (curves[id] = {t: [], e: []});
    if (c.t.length && c.t[c.t.length - 1] === snapshot.taken_at) return;
    c.t.push(snapshot.taken_at); c.e.push(Number(snapshot.equity));
    if (!pending) pending = setTimeout(() => { pending = null; draw(); }, 250);  // a burst of snapshots: one redraw
  }
  return {init, add};
})();
