/* The desk: accounts (equity, balance, margin), open positions with live mark/PnL/liquidation distance,
   recent fills and monitor decisions, feed status and the kill switch; all updated from the socket. */
"use strict";
(function () {
  const state = QD.data("desk-data");
  // Events from execution's services carry Decimals as JSON strings: make the numbers numbers once.
  const NUMERIC = ["qty", "entry_price", "leverage", "margin", "liquidation_price", "take_profit", "stop_loss",
    "realised_pnl", "half_life_seconds", "price", "fee", "balance", "equity", "unrealised_pnl", "margin_used", "available"];
  function numeric(d) {
    NUMERIC.forEach((k) => { if (d[k] !== null && d[k] !== undefined && d[k] !== "") d[k] = Number(d[k]); });
    return d;
  }
  const marks = {};           // symbol -> last mark (or last) price from tick events
  const positions = new Map(); // id -> payload
  state.positions.forEach((p) => positions.set(p.id, p));
  const accountName = {};
  state.accounts.forEach((a) => { accountName[a.id] = a.name; });

  function renderAccounts() {
    const root = document.getElementById("accounts");
    root.innerHTML = state.accounts.map((a) => {
      const open = [...positions.values()].filter((p) => p.account === a.id && p.status === "open");
      const upnl = open.reduce((s, p) => s + (pnl(p) || 0), 0);
      if (!a.taken_at) {  // no equity snapshot yet: derive the numbers from the open positions
        a.margin_used = open.reduce((s, p) => s + (p.margin || 0), 0);
        a.available = a.balance - a.margin_used;
        a.equity = a.balance + upnl;
      }
      return `<div class="card" data-account="${a.id}"><strong>${QD.esc(a.name)}</strong> <span class="${a.mode}">${a.mode}</span>
        <dl><dt>Equity</dt><dd class="equity">${QD.num(a.equity, 2)} USDT</dd>
        <dt>Balance</dt><dd>${QD.num(a.balance, 2)}</dd>
        <dt>Margin in use</dt><dd>${QD.num(a.margin_used, 2)}</dd>
        <dt>Available</dt><dd>${QD.num(a.available, 2)}</dd>
        <dt>Unrealised PnL (live)</dt><dd class="${upnl >= 0 ? "pos" : "neg"}">${QD.num(upnl, 2)}</dd>
        <dt>Kill switch</dt><dd class="kill-state">${a.kill_switch_engaged ? "ENGAGED" : "off"}</dd></dl>
        <button class="danger kill" data-account="${a.id}" ${a.kill_switch_engaged ? "disabled" : ""}>Kill switch: stop all</button>
        ${a.kill_switch_engaged ? `<button class="release" data-account="${a.id}">Release</button>` : ""}</div>`;
    }).join("") || '<p class="muted">No accounts.</p>';
    root.querySelectorAll("button.kill").forEach((b) => b.onclick = () => kill(Number(b.dataset.account), true));
    root.querySelectorAll("button.release").forEach((b) => b.onclick = () => kill(Number(b.dataset.account), false));
  }

  async function kill(accountId, engage) {
    if (engage && !confirm("Engage the kill switch? Every config of this account is disabled and its open positions closed.")) return;
    try {
      const r = await QD.api("POST", `/api/accounts/${accountId}/kill-switch/`, {engage});
      const a = state.accounts.find((x) => x.id === accountId);
      a.kill_switch_engaged = r.engaged;
      renderAccounts();
    } catch (err) { alert(QD.errors(err)); }
  }

  function markOf(p) { return marks[p.symbol] !== undefined ? marks[p.symbol] : null; }
  function pnl(p) {
    const m = markOf(p);
    if (m === null) return null;
    return (p.side === "long" ? 1 : -1) * (m - p.entry_price) * p.qty;
  }
  function liqDistance(p) {
    const m = markOf(p) !== null ? markOf(p) : p.entry_price;
    if (!p.liquidation_price || !m) return null;
    return Math.abs(m - p.liquidation_price) / m;
  }
  function renderPositions() {
    const body = document.querySelector("#positions tbody");
    const rows = [...positions.values()].filter((p) => p.status === "open");
    if (!rows.length) { body.innerHTML = '<tr class="empty"><td colspan="14" class="muted">No open positions.</td></tr>'; return; }
    const now = Date.now() / 1000;
    body.innerHTML = rows.map((p) => {
      const u = pnl(p), d = liqDistance(p), held = now - Date.parse(p.opened_at) / 1000;
      const dec = p.last_decision;
      return `<tr data-position="${p.id}"><td>${QD.esc(accountName[p.account] || p.account)}</td><td>${QD.esc(p.symbol)}</td>
        <td class="${p.side === "long" ? "pos" : "neg"}">${p.side}</td><td class="num">${p.qty}</td><td class="num">${QD.num(p.leverage, 0)}x</td>
        <td class="num">${QD.num(p.entry_price, 2)}</td><td class="num mark">${QD.num(markOf(p), 2)}</td>
        <td class="num ${u === null ? "" : (u >= 0 ? "pos" : "neg")}">${QD.num(u, 2)}</td>
        <td class="num">${QD.num(p.liquidation_price, 2)}</td><td class="num">${QD.pct(d)}</td>
        <td class="num">${QD.num(p.take_profit, 2)}</td><td class="num">${QD.num(p.stop_loss, 2)}</td>
        <td>${QD.age(held)} / ${QD.age(p.half_life_seconds)}${p.half_life_seconds && held > 2 * p.half_life_seconds ? " (past 2x)" : ""}</td>
        <td>${dec ? QD.esc(dec.action + (dec.reason ? " (" + dec.reason + ")" : "")) : "–"}</td></tr>`;
    }).join("");
  }
  function prepend(tableId, html, limit) {
    const body = document.querySelector(`#${tableId} tbody`);
    body.insertAdjacentHTML("afterbegin", html);
    while (body.rows.length > limit) body.deleteRow(body.rows.length - 1);
  }
  function fillRow(f) {
    return `<tr><td>${new Date(f.executed_at).toLocaleString()}</td><td>${QD.esc(f.symbol)}</td><td>${f.exec_type}</td><td>${f.side}</td>
      <td class="num">${f.qty}</td><td class="num">${QD.num(f.price, 2)}</td><td class="num">${QD.num(f.fee, 4)}</td>
      <td class="num ${f.realised_pnl >= 0 ? "pos" : "neg"}">${QD.num(f.realised_pnl, 2)}</td><td>${QD.esc(f.exit_reason)}</td></tr>`;
  }
  function decisionRow(d) {
    return `<tr><td>${new Date(d.decided_at).toLocaleString()}</td><td>#${d.position}</td><td>${d.action}</td><td>${QD.esc(d.reason)}</td>
      <td class="num">${QD.pct(d.drift, 3)}</td><td class="num">${QD.pct(d.baseline_drift, 3)}</td>
      <td class="num">${QD.num(d.confidence, 2)}</td><td>${QD.age(d.age_seconds)}</td></tr>`;
  }
  function renderFeed(f) {
    const el = document.getElementById("feed");
    el.classList.remove("muted");
    el.textContent = `${f.connected ? "connected" : "DISCONNECTED"} (${f.mode || "?"}) symbols ${(f.symbols || []).join(", ")}; ` +
      `lag ${f.lag_ms === null || f.lag_ms === undefined ? "–" : f.lag_ms + " ms"}; candles ${f.candles ?? "–"}; ` +
      `reconnects ${f.reconnects ?? 0}; errors ${f.errors ?? 0}; restarted by rundesk ${f.restarts ?? 0}` +
      `${f.error ? " — last: " + f.error : ""}`;
    QD.setStatus("feed", f.connected ? "connected" : "disconnected");
  }

  state.fills.slice().reverse().forEach((f) => prepend("fills", fillRow(f), 20));
  state.decisions.slice().reverse().forEach((d) => prepend("decisions", decisionRow(d), 20));
  renderAccounts(); renderPositions();

  QD.onEvent((ev) => {
    const d = numeric(Object.assign({}, ev.data));
    switch (ev.type) {
      case "position": positions.set(d.id, Object.assign(positions.get(d.id) || {}, d));
        if (d.status !== "open") positions.delete(d.id);
        renderPositions(); renderAccounts(); break;
      case "fill": prepend("fills", fillRow(d), 20); break;
      case "decision": prepend("decisions", decisionRow(d), 20);
        if (positions.has(d.position)) { positions.get(d.position).last_decision = d; renderPositions(); } break;
      case "equity": {  // execution's equity events name no account: with one account on the page it is that one
        const a = state.accounts.find((x) => x.id === d.account) || (state.accounts.length === 1 ? state.accounts[0] : null);
        if (a) { Object.assign(a, d); renderAccounts(); } break; }
      case "tick": marks[d.symbol] = Number(d.mark || d.last); renderPositions(); renderAccounts(); break;
      case "feed": renderFeed(d); break;
      case "alert": prepend("alerts", `<tr><td>${new Date().toLocaleString()}</td><td>${QD.esc(d.kind || d.level)}</td>` +
        `<td>${QD.esc(d.message)}</td></tr>`, 20); break;  // no price, missed bars: a human should look
      case "kill_switch": { const a = state.accounts.find((x) => x.id === d.account);
        if (a) { a.kill_switch_engaged = d.engaged; renderAccounts(); } break; }
    }
  });
  setInterval(renderPositions, 15000); // ages move on even without events
})();
