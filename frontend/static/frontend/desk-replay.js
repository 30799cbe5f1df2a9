/* The replay's progress on the desk: replayed bar time, bars done of the total, speed (simulated time per wall
   second) and time left; from the page's first data (the Redis hash qd:replay:progress) and each "replay" event. */
"use strict";
QD.replay = (function () {
  const F = QD.fmt;
  function seconds(s) { return s === null || s === undefined ? "–" : F.duration(s); }
  function render(p) {
    const el = document.getElementById("replay-progress");
    if (!el) return;
    if (!p || !p.state) { el.hidden = true; return; }
    const total = p.bars_total || 0, done = p.bars_done || 0;
    const pct = total ? Math.min(100, 100 * done / total) : 0;
    el.hidden = false;
    el.dataset.state = p.state;
    el.innerHTML = `<strong>Replay ${QD.esc(p.state)}</strong> ${QD.esc((p.symbols || []).join(", "))} ${QD.esc(p.interval || "")}: ` +
      `bar <span class="replay-bar-time">${p.bar_time ? F.time(p.bar_time) : "–"}</span>, ` +
      `<span class="replay-done">${done}</span> / <span class="replay-total">${total}</span> bars (${F.pctValue(pct, 1)}), ` +
      `speed ${QD.esc(String(p.speed ?? "–"))}x, elapsed ${seconds(p.elapsed_s)}` +
      (p.state === "running" ? `, about ${seconds(p.eta_s)} left` : "") +
      `<div class="progress"><div style="width:${pct.toFixed(1)}%"></div></div>`;
  }
  return {render};
})();
