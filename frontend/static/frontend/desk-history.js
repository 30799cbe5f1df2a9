/* The desk's history: closed trades (round trips), per-config performance, PnL per UTC day and today's;
   rendered from the page's first data and fetched again from /api/history/ whenever a position closes. */
"use strict";
QD.history = (function () {
  const F = QD.fmt;
  function cls(x) { return x === null || x === undefined ? "" : (Number(x) >= 0 ? "pos" : "neg"); }
  function render(h) {
    document.querySelector("#trades tbody").innerHTML = h.trades.map((t) => `<tr data-trade="${t.id}">
      <td>${F.time(t.closed_at)}</td><td>${QD.esc(t.config_name || "–")}</td><td>${QD.esc(t.symbol)}</td><td>${t.side}</td>
      <td class="num">${F.qty(t.qty, t.symbol)}</td><td class="num">${F.price(t.entry_price, t.symbol)}</td>
      <td class="num">${F.price(t.exit_price, t.symbol)}</td><td class="num ${cls(t.net_pnl)}">${F.signedMoney(t.net_pnl)}</td>
      <td class="num ${cls(t.pnl_pct)}">${F.pctValue(t.pnl_pct)}</td><td class="num">${F.money(t.fees)}</td>
      <td class="num">${F.money(t.funding)}</td><td>${F.duration(t.duration_seconds)}</td><td>${QD.esc(t.exit_reason)}</td></tr>`
    ).join("") || '<tr class="empty"><td colspan="13" class="muted">No closed trades yet.</td></tr>';
    document.querySelector("#by-config tbody").innerHTML = h.by_config.map((c) => `<tr><td>${QD.esc(c.config_name)}</td>
      <td class="num">${c.trades}</td><td class="num">${F.pctValue(c.win_rate_pct, 1)}</td>
      <td class="num ${cls(c.net_pnl)}">${F.signedMoney(c.net_pnl)}</td></tr>`).join("") ||
      '<tr class="empty"><td colspan="4" class="muted">–</td></tr>';
    document.querySelector("#daily tbody").innerHTML = h.daily.map((d) => `<tr><td>${QD.esc(d.day)}</td>
      <td class="num">${F.money(d.funding)}</td><td class="num ${cls(d.net_pnl)}">${F.signedMoney(d.net_pnl)}</td></tr>`).join("") ||
      '<tr class="empty"><td colspan="3" class="muted">–</td></tr>';
    document.getElementById("today-pnl").textContent = `today ${F.signedMoney(h.today)} USDT`;
  }
  let pending = null;
  function refresh() {  // coalesce a burst of events into one fetch
    if (pending) return;
    pending = setTimeout(async () => {
      pending = null;
      try { render(await QD.api("GET", "/api/history/")); } catch (e) { console.error(e); }
    }, 300);
  }
  return {render, refresh};
})();
