/* The desk: accounts (balance, equity, margin, unrealised: one exchange snapshot, sent after every change),
   open positions with live mark/PnL/liquidation distance and buttons to close, reduce or move TP/SL by hand,
   opening by hand per account, the event log (filterable, with toasts), recent fills and monitor decisions,
   the history, the feed's and private streams' status (read from Redis on load) and the kill switch. */
"use strict";
(function () {
  const state = QD.data("desk-data");
  const F = QD.fmt;
  F.setInstruments(state.instruments);
  // Events from execution's services carry Decimals as JSON strings: make the numbers numbers once.
  const NUMERIC = ["qty", "entry_price", "leverage", "margin", "liquidation_price", "take_profit", "stop_loss",
    "realised_pnl", "half_life_seconds", "price", "fee", "balance", "equity", "unrealised_pnl", "margin_used", "available"];
  function numeric(d) {
    NUMERIC.forEach((k) => { if (d[k] !== null && d[k] !== undefined && d[k] !== "") d[k] = Number(d[k]); });
    return d;
  }
  const marks = {};           // symbol -> last mark (or last) price from tick events
  const positions = new Map(); // id -> payload
  state.positions.forEach((p) => positions.set(p.id, numeric(p)));
  state.accounts.forEach(numeric);
  const accountName = {};
  state.accounts.forEach((a) => { accountName[a.id] = a.name; });

  // ----- toasts ----------------------------------------------------------------------------------------
  function toast(message, level) {
    const el = document.createElement("div");
    el.className = "toast " + (level || "info");
    el.textContent = message;
    document.getElementById("toasts").appendChild(el);
    setTimeout(() => el.remove(), level === "error" ? 15000 : 8000);
  }
  function apiError(err) { return err.data && err.data.message ? err.data.message : QD.errors(err); }

  // ----- accounts ----------------------------------------------------------------------------------------
  function figures(a) {
    // One exchange snapshot (taken after every change): balance and margin in use as the exchange says; the
    // unrealised PnL live from the marks when every open position has one, else the snapshot's; equity = their sum.
    const open = [...positions.values()].filter((p) => p.account === a.id && p.status === "open");
    const live = open.map(pnl);
    const haveMarks = open.length > 0 && live.every((x) => x !== null);
    const upnl = haveMarks ? live.reduce((s, x) => s + x, 0) : (open.length ? (a.unrealised_pnl || 0) : 0);
    const margin = a.taken_at ? a.margin_used : open.reduce((s, p) => s + (p.margin || 0), 0);
    return {balance: a.balance, margin, upnl, equity: a.balance + upnl, available: a.balance - margin};
  }
  function openForm(a) {
    const configs = state.configs.filter((c) => c.account === a.id);
    if (!configs.length || a.kill_switch_engaged) return "";
    const symbols = [...new Set(configs.flatMap((c) => c.symbols))];
    return `<form class="open" data-account="${a.id}">
      <select name="config" title="sizing, leverage and TP/SL of this config">${configs.map((c) =>
        `<option value="${c.id}">${QD.esc(c.name)}</option>`).join("")}</select>
      <select name="symbol">${symbols.map((s) => `<option>${QD.esc(s)}</option>`).join("")}</select>
      <select name="side"><option value="long">long</option><option value="short">short</option></select>
      <button type="submit" class="open-by-hand">Open by hand</button></form>`;
  }
  function renderAccounts() {
    const root = document.getElementById("accounts");
    root.innerHTML = state.accounts.map((a) => {
      const f = figures(a);
      return `<div class="card" data-account="${a.id}"><strong>${QD.esc(a.name)}</strong> <span class="${a.mode}">${a.mode}</span>
        <dl><dt>Equity</dt><dd class="equity">${F.money(f.equity)} USDT</dd>
        <dt>Balance</dt><dd class="balance">${F.money(f.balance)}</dd>
        <dt>Unrealised PnL</dt><dd class="upnl ${f.upnl >= 0 ? "pos" : "neg"}">${F.signedMoney(f.upnl)}</dd>
        <dt>Margin in use</dt><dd class="margin">${F.money(f.margin)}</dd>
        <dt>Available</dt><dd class="available">${F.money(f.available)}</dd>
        <dt>As of</dt><dd>${a.taken_at ? F.time(a.taken_at) : "–"}</dd>
        <dt>Kill switch</dt><dd class="kill-state">${a.kill_switch_engaged ? "ENGAGED" : "off"}</dd></dl>
        <button class="danger kill" data-account="${a.id}" ${a.kill_switch_engaged ? "disabled" : ""}>Kill switch: stop all</button>
        ${a.kill_switch_engaged ? `<button class="release" data-account="${a.id}">Release</button>` : ""}
        ${openForm(a)}</div>`;
    }).join("") || '<p class="muted">No accounts.</p>';
    root.querySelectorAll("button.kill").forEach((b) => b.onclick = () => kill(Number(b.dataset.account), true));
    root.querySelectorAll("button.release").forEach((b) => b.onclick = () => kill(Number(b.dataset.account), false));
    root.querySelectorAll("form.open").forEach((form) => form.onsubmit = (ev) => { ev.preventDefault(); openByHand(form); });
  }
  async function openByHand(form) {
    const body = {symbol: form.symbol.value, side: form.side.value};
    const cfg = state.configs.find((c) => c.id === Number(form.config.value));
    if (!confirm(`Open ${body.side} ${body.symbol} by hand with config "${cfg ? cfg.name : form.config.value}" ` +
                 "(its leverage, sizing and TP/SL, every risk check a signal passes)?")) return;
    await manual("POST", `/api/configs/${form.config.value}/open/`, body);
  }
  async function kill(accountId, engage) {
    if (engage && !confirm("Engage the kill switch? Every config of this account is disabled and its open positions closed.")) return;
    try {
      const r = await QD.api("POST", `/api/accounts/${accountId}/kill-switch/`, {engage});
      const a = state.accounts.find((x) => x.id === accountId);
      a.kill_switch_engaged = r.engaged;
      renderAccounts();
    } catch (err) { toast(apiError(err), "error"); }
  }
  async function manual(method, url, body) {
    // The outcome (done or refused) arrives as a ``manual`` event in the log, with its toast; bad input
    // (400, nothing done, nothing logged) and other failures are toasted here.
    try { return await QD.api(method, url, body); } catch (err) {
      if (err.status !== 409) toast(apiError(err), "error");
      return null;
    }
  }

  // ----- positions ---------------------------------------------------------------------------------------
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
    if (!rows.length) { body.innerHTML = '<tr class="empty"><td colspan="15" class="muted">No open positions.</td></tr>'; return; }
    const now = Date.now() / 1000;
    body.innerHTML = rows.map((p) => {
      const u = pnl(p), d = liqDistance(p), held = now - Date.parse(p.opened_at) / 1000;
      const dec = p.last_decision, s = p.symbol;
      return `<tr data-position="${p.id}"><td>${QD.esc(accountName[p.account] || p.account)}</td><td>${QD.esc(s)}</td>
        <td class="${p.side === "long" ? "pos" : "neg"}">${p.side}</td><td class="num qty">${F.qty(p.qty, s)}</td>
        <td class="num">${F.money(p.leverage).replace(/\.00$/, "")}x</td>
        <td class="num">${F.price(p.entry_price, s)}</td><td class="num mark">${F.price(markOf(p), s)}</td>
        <td class="num ${u === null ? "" : (u >= 0 ? "pos" : "neg")}">${F.signedMoney(u)}</td>
        <td class="num">${F.price(p.liquidation_price, s)}</td><td class="num">${F.pct(d)}</td>
        <td class="num tp">${F.price(p.take_profit, s)}</td><td class="num sl">${F.price(p.stop_loss, s)}</td>
        <td>${F.duration(held)} / ${F.duration(p.half_life_seconds)}${p.half_life_seconds && held > 2 * p.half_life_seconds ? " (past 2x)" : ""}</td>
        <td>${dec ? QD.esc(dec.action + (dec.reason ? " (" + dec.reason + ")" : "")) : "–"}</td>
        <td class="actions"><button class="close-hand" data-position="${p.id}">Close</button>
          <button class="reduce-hand" data-position="${p.id}">Reduce 50 %</button>
          <button class="protect-hand" data-position="${p.id}">TP/SL</button></td></tr>`;
    }).join("");
    body.querySelectorAll("button.close-hand").forEach((b) => b.onclick = () => closeByHand(Number(b.dataset.position), 1));
    body.querySelectorAll("button.reduce-hand").forEach((b) => b.onclick = () => closeByHand(Number(b.dataset.position), 0.5));
    body.querySelectorAll("button.protect-hand").forEach((b) => b.onclick = () => protect(Number(b.dataset.position)));
  }
  async function closeByHand(id, fraction) {
    const p = positions.get(id);
    const what = fraction >= 1 ? `Close the ${p.side} ${F.qty(p.qty, p.symbol)} ${p.symbol} at market` :
      `Reduce the ${p.side} ${p.symbol} by ${F.pct(fraction, 0)} at market`;
    if (!confirm(what + "? (reduce-only market order, exit reason manual)")) return;
    await manual("POST", `/api/positions/${id}/close/`, {fraction});
  }
  async function protect(id) {
    const p = positions.get(id);
    const sl = prompt(`New stop-loss for the ${p.side} ${p.symbol} (tick ${(state.instruments[p.symbol] || {}).tick || "?"}; ` +
      `strictly ${p.side === "long" ? "above" : "below"} liquidation ${F.price(p.liquidation_price, p.symbol)}). Empty keeps it:`,
      p.stop_loss === null ? "" : String(p.stop_loss));
    if (sl === null) return;
    const tp = prompt("New take-profit (empty keeps it, 0 removes it):", p.take_profit === null ? "" : String(p.take_profit));
    if (tp === null) return;
    const body = {};
    if (sl.trim()) body.stop_loss = sl.trim();
    if (tp.trim()) body.take_profit = tp.trim();
    if (!confirm(`Set ${Object.entries(body).map(([k, v]) => k + " " + v).join(", ") || "nothing"} on the exchange?`)) return;
    await manual("POST", `/api/positions/${id}/protection/`, body);
  }

  // ----- event log ---------------------------------------------------------------------------------------
  const events = state.events.slice();  // newest first
  function renderEvents() {
    const level = document.getElementById("event-level").value, account = document.getElementById("event-account").value;
    const rows = events.filter((e) => (!level || e.level === level) && (!account || String(e.account) === account));
    document.querySelector("#events tbody").innerHTML = rows.slice(0, 200).map((e) => `<tr data-event="${e.id}" class="level-${e.level}">
      <td>${F.time(e.created_at)}</td><td>${QD.esc(accountName[e.account] || e.account || "–")}</td><td>${e.level}</td>
      <td>${QD.esc(e.kind)}</td><td>${QD.esc(e.message)}</td></tr>`).join("") ||
      '<tr class="empty"><td colspan="5" class="muted">Nothing refused, skipped or failed.</td></tr>';
  }
  document.getElementById("event-account").insertAdjacentHTML("beforeend",
    state.accounts.map((a) => `<option value="${a.id}">${QD.esc(a.name)}</option>`).join(""));
  ["event-level", "event-account"].forEach((id) => document.getElementById(id).onchange = renderEvents);

  // ----- fills, decisions --------------------------------------------------------------------------------
  function prepend(tableId, html, limit) {
    const body = document.querySelector(`#${tableId} tbody`);
    body.insertAdjacentHTML("afterbegin", html);
    while (body.rows.length > limit) body.deleteRow(body.rows.length - 1);
  }
  function fillRow(f) {
    return `<tr data-fill="${f.id}"><td>${F.time(f.executed_at)}</td><td>${QD.esc(f.symbol)}</td><td>${f.exec_type}</td><td>${f.side}</td>
      <td class="num">${F.qty(f.qty, f.symbol)}</td><td class="num">${F.price(f.price, f.symbol)}</td><td class="num">${F.money(f.fee)}</td>
      <td class="num ${f.realised_pnl >= 0 ? "pos" : "neg"}">${F.signedMoney(f.realised_pnl)}</td><td class="reason">${QD.esc(f.exit_reason)}</td></tr>`;
  }
  function decisionRow(d) {
    return `<tr><td>${F.time(d.decided_at)}</td><td>#${d.position}</td><td>${d.action}</td><td>${QD.esc(d.reason)}</td>
      <td class="num">${F.pct(d.drift, 3)}</td><td class="num">${F.pct(d.baseline_drift, 3)}</td>
      <td class="num">${F.pct(d.confidence, 0)}</td><td>${F.duration(d.age_seconds)}</td></tr>`;
  }

  // ----- feed --------------------------------------------------------------------------------------------
  function renderFeed(f) {
    const el = document.getElementById("feed"), banner = document.getElementById("feed-banner");
    const state_ = f.state || (f.connected ? (f.mode || "live") : "down");
    const hint = f.replay_hint || state.feed.replay_hint;
    if (state_ === "offline" || state_ === "down") {
      banner.hidden = false; banner.className = "banner";
      banner.innerHTML = `<strong>Cannot reach Bybit: running offline.</strong> ` +
        (f.error ? `Last error: ${QD.esc(f.error)}. ` : "No feed has written a status. ") +
        `Paper configs act only on new bars: start a replay with <code>${QD.esc(hint)}</code> ` +
        `(the desk started with <code>QUANTDESK_FEED=off</code> runs none itself).`;
    } else if (state_ === "replay") {
      banner.hidden = false; banner.className = "banner replay";
      banner.textContent = "Replay running: the desk's clock is the replayed bar time.";
    } else { banner.hidden = true; }
    el.classList.remove("muted");
    el.dataset.state = state_;
    el.innerHTML = `${state_ === "offline" ? "offline" : f.connected ? "connected" : "DISCONNECTED"} (${QD.esc(f.mode || "no feed")}) ` +
      `symbols ${QD.esc((f.symbols || []).join(", ") || "–")}; lag ${f.lag_ms === null || f.lag_ms === undefined ? "–" : f.lag_ms + " ms"}; ` +
      `candles ${f.candles ?? "–"}; reconnects ${f.reconnects ?? 0}; errors ${f.errors ?? 0}; restarted by rundesk ${f.restarts ?? 0}` +
      `; last message ${age(f.last_message_ms)}${f.error ? " — last error: " + QD.esc(f.error) : ""}`;
    lastFeed = f;
    QD.setStatus("feed", state_ === "offline" ? "offline" : f.connected ? "connected" : "disconnected");
  }
  // the private stream of each live account: state, last message age, last error, reconnects, rundesk restarts
  function age(ms) {
    return ms ? `<span class="age" title="${F.utc(Number(ms))}">${F.duration((Date.now() - Number(ms)) / 1000)} ago</span>` : "–";
  }
  function renderStreams(streams) {
    const el = document.getElementById("private-streams");
    const rows = Object.entries(streams || {});
    el.classList.toggle("muted", rows.length === 0);
    el.innerHTML = rows.length ? rows.map(([id, s]) => {
      const st = s.state || (s.connected ? "live" : "down");
      return `<div class="stream" data-account="${QD.esc(id)}" data-state="${QD.esc(st)}">private stream of ` +
        `${QD.esc(accountName[id] || id)}: <strong>${QD.esc(st)}</strong>; last message ${age(s.last_message_ms)}` +
        `${s.last_topic ? " (" + QD.esc(s.last_topic) + ")" : ""}; messages ${s.messages ?? 0}; ` +
        `reconnects ${s.reconnects ?? 0}; restarted by rundesk ${s.restarts ?? 0}` +
        `${s.error ? " — last error: " + QD.esc(s.error) : ""}` +
        `${st === "live" ? "" : " (positions and fills are polled meanwhile)"}</div>`;
    }).join("") : "private streams: no live account";
  }
  let lastFeed = state.feed;
  const streams = Object.assign({}, state.private_streams || {});
  setInterval(() => { renderFeed(lastFeed); renderStreams(streams); }, 5000); // ages move on between messages

  state.fills.slice().reverse().forEach((f) => prepend("fills", fillRow(numeric(f)), 20));
  state.decisions.slice().reverse().forEach((d) => prepend("decisions", decisionRow(d), 20));
  renderAccounts(); renderPositions(); renderEvents(); renderFeed(state.feed); renderStreams(streams);
  QD.history.render(state.history);
  QD.replay.render(state.replay);
  QD.equity.init(state.equity_curves, accountName);

  QD.onEvent((ev) => {
    const d = numeric(Object.assign({}, ev.data));
    switch (ev.type) {
      case "position": positions.set(d.id, Object.assign(positions.get(d.id) || {}, d));
        if (d.status !== "open") { positions.delete(d.id); QD.history.refresh(); }
        renderPositions(); renderAccounts(); break;
      case "fill": prepend("fills", fillRow(d), 20); QD.history.refresh(); break;
      case "decision": prepend("decisions", decisionRow(d), 20);
        if (positions.has(d.position)) { positions.get(d.position).last_decision = d; renderPositions(); } break;
      case "equity": {
        const a = state.accounts.find((x) => x.id === d.account);
        if (a) { Object.assign(a, d); renderAccounts(); }
        QD.equity.add(d); break; }
      case "tick": marks[d.symbol] = Number(d.mark || d.last); renderPositions(); renderAccounts(); break;
      case "feed": renderFeed(d); break;
      case "private_stream": streams[String(ev.data.account)] = ev.data; renderStreams(streams); break;
      case "replay": QD.replay.render(ev.data); break;
      case "desk_event": events.unshift(ev.data); events.splice(500); renderEvents();
        if (ev.data.level !== "info" || ev.data.kind === "manual") toast(ev.data.message, ev.data.level); break;
      case "kill_switch": { const a = state.accounts.find((x) => x.id === d.account);
        if (a) { a.kill_switch_engaged = d.engaged; renderAccounts(); } break; }
    }
  });
  setInterval(renderPositions, 15000); // ages move on even without events
})();
