/* One format for numbers and times on the desk page: quantities to the instrument's qty step, prices to its
   tick, money to cents, percent everywhere (fractions are shown x100 with " %"), times as UTC ISO with the
   local time on hover. Every cell of the desk goes through QD.fmt. */
"use strict";
window.QD = window.QD || {};
QD.fmt = (function () {
  const steps = {};  // symbol -> {tick: "0.1", step: "0.001"}
  function setInstruments(map) { Object.assign(steps, map || {}); }
  function decimalsOf(s) {
    if (s === undefined || s === null) return null;
    const str = String(s);
    const i = str.indexOf(".");
    return i < 0 ? 0 : str.length - i - 1;
  }
  function missing(x) { return x === null || x === undefined || x === "" || Number.isNaN(Number(x)); }
  function fixed(x, digits) {
    if (missing(x)) return "–";
    return Number(x).toLocaleString("en-US", {minimumFractionDigits: digits, maximumFractionDigits: digits});
  }
  function qty(x, symbol) {
    const d = decimalsOf((steps[symbol] || {}).step);
    if (missing(x)) return "–";
    if (d === null) return fixed(x, 6).replace(/\.?0+$/, "");
    const step = Math.pow(10, -d);
    return fixed(Math.floor(Number(x) / step + 1e-9) * step, d);  // down to the step, as the exchange does
  }
  function price(x, symbol) {
    const d = decimalsOf((steps[symbol] || {}).tick);
    return fixed(x, d === null ? 2 : d);
  }
  function money(x) { return fixed(x, 2); }
  function signedMoney(x) { return missing(x) ? "–" : (Number(x) > 0 ? "+" : "") + fixed(x, 2); }
  function pct(fraction, digits) { return missing(fraction) ? "–" : fixed(100 * Number(fraction), digits === undefined ? 2 : digits) + " %"; }
  function pctValue(percent, digits) { return missing(percent) ? "–" : fixed(percent, digits === undefined ? 2 : digits) + " %"; }
  function iso(t) {
    if (t === null || t === undefined || t === "") return null;
    const d = typeof t === "number" ? new Date(t) : new Date(t);
    return Number.isNaN(d.getTime()) ? null : d;
  }
  function utc(t) { const d = iso(t); return d ? d.toISOString().replace(/\.\d{3}Z$/, "Z") : "–"; }
  function time(t) {
    const d = iso(t);
    if (!d) return "–";
    return `<time datetime="${d.toISOString()}" title="${QD.esc ? QD.esc(d.toLocaleString()) : d.toLocaleString()} (local)">${utc(d)}</time>`;
  }
  function duration(seconds) {
    if (missing(seconds)) return "–";
    const s = Math.max(0, Math.round(Number(seconds)));
    if (s < 120) return s + " s";
    if (s < 7200) return Math.round(s / 60) + " min";
    if (s < 172800) return (s / 3600).toFixed(1) + " h";
    return (s / 86400).toFixed(1) + " d";
  }
  return {setInstruments, qty, price, money, signedMoney, pct, pctValue, utc, time, duration};
})();
