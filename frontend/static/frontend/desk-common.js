/* QuantDesk pages: the one WebSocket (/ws/desk/, reconnecting) and small helpers shared by every page. */
"use strict";
window.QD = (function () {
  const handlers = [];
  let socket = null, backoff = 500;
  function connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    socket = new WebSocket(scheme + "://" + location.host + "/ws/desk/");
    socket.onopen = () => { backoff = 500; setStatus("socket", "connected"); };
    socket.onmessage = (msg) => {
      const event = JSON.parse(msg.data);
      if (event.type === "feed") setStatus("feed", event.data.connected ? "connected" : "disconnected");
      handlers.forEach((h) => { try { h(event); } catch (e) { console.error(e); } });
    };
    socket.onclose = (ev) => {
      setStatus("socket", ev.code === 4401 ? "refused (log in)" : "reconnecting");
      if (ev.code !== 4401) { setTimeout(connect, backoff); backoff = Math.min(backoff * 2, 10000); }
    };
  }
  function setStatus(id, text) {
    const el = document.getElementById(id + "-status");
    if (el) { el.textContent = text; el.dataset.state = text; }
  }
  function onEvent(fn) { handlers.push(fn); if (!socket) connect(); }
  function csrf() {
    const m = document.cookie.match(/(?:^|; )csrftoken=([^;]+)/);
    return m ? decodeURIComponent(m[1]) : "";
  }
  async function api(method, url, body) {
    const resp = await fetch(url, {
      method, credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRFToken": csrf(), "Accept": "application/json"},
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const data = resp.status === 204 ? null : await resp.json().catch(() => null);
    if (!resp.ok) { const err = new Error("HTTP " + resp.status); err.status = resp.status; err.data = data; throw err; }
    return data;
  }
  function data(id) { const el = document.getElementById(id); return el ? JSON.parse(el.textContent) : null; }
  function num(x, digits) {
    if (x === null || x === undefined || x === "" || Number.isNaN(Number(x))) return "–";
    return Number(x).toLocaleString("en-US", {minimumFractionDigits: digits, maximumFractionDigits: digits});
  }
  function pct(x, digits) { return x === null || x === undefined ? "–" : num(100 * x, digits === undefined ? 2 : digits) + " %"; }
  function age(seconds) {
    if (seconds === null || seconds === undefined) return "–";
    const s = Math.max(0, Math.round(seconds));
    if (s < 120) return s + " s";
    if (s < 7200) return Math.round(s / 60) + " min";
    return (s / 3600).toFixed(1) + " h";
  }
  function esc(s) { return String(s === null || s === undefined ? "" : s).replace(/[&<>"']/g, (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c])); }
  function errors(err) {
    if (!err.data) return err.message;
    return Object.entries(err.data).map(([k, v]) => k + ": " + (Array.isArray(v) ? v.join(" ") : (typeof v === "object" ? JSON.stringify(v) : v))).join("\n");
  }
  const dark = {paper_bgcolor: "#0f1419", plot_bgcolor: "#0f1419", font: {color: "#d0d6de"},
                margin: {l: 55, r: 20, t: 30, b: 35}, xaxis: {gridcolor: "#233"}, yaxis: {gridcolor: "#233"}};
  return {onEvent, api, data, num, pct, age, esc, errors, setStatus, dark};
})();
