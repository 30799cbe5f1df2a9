/* Strategies page: every strategy with its version and bias checks (failing bars shown), the modules of the
   strategies folder that failed to load, a staff rescan, a new-config form whose parameter fields are
   generated from the chosen strategy's schema, and the configs with enable/disable (refusals say why). */
"use strict";
(function () {
  const configs = QD.data("configs-data");
  const strategies = QD.data("strategies-data").filter((s) => s.available);
  const loadErrors = QD.data("load-errors-data");

  // A value in a cell: numbers to 4 significant digits (thousands grouped), short lists inline, long ones
  // counted; never a float's 17 digits or raw JSON on one line.
  function short(v) {
    if (v === null || v === undefined) return "–";
    if (typeof v === "number") {
      if (!Number.isFinite(v)) return String(v);
      if (v === 0 || Math.abs(v) >= 1000) return QD.num(v, Math.abs(v) >= 1000 ? 2 : 0);
      return String(Number(v.toPrecision(4)));
    }
    if (Array.isArray(v)) return v.length <= 4 ? "[" + v.map(short).join(", ") + "]" : `[${v.length} values]`;
    if (typeof v === "object") return `{${Object.keys(v).length} fields}`;
    return String(v);
  }
  // Layers as key: value pairs that wrap, nested objects flattened to dotted keys (two levels).
  function flatten(obj, prefix, out, depth) {
    Object.entries(obj).forEach(([k, v]) => {
      const key = prefix ? prefix + "." + k : k;
      if (v && typeof v === "object" && !Array.isArray(v) && depth < 2) flatten(v, key, out, depth + 1);
      else out.push([key, v]);
    });
    return out;
  }
  function checkCell(b) {
    if (!b) return '<span class="muted">not checked yet (runs before the first enable)</span>';
    if (b.status !== "done") return QD.esc(b.status + (b.error ? ": " + b.error : ""));
    if (b.blocking_failures.length) return `<span class="neg">biased: fails ${QD.esc(b.blocking_failures.join(", ").replace(/_/g, " "))}</span>`;
    return b.passed ? '<span class="pos">all passed</span>' : '<span class="muted">passed lookahead and window independence</span>';
  }
  function details(b) {
    if (!b || !b.checks) return "";
    return `<details><summary>checks on ${QD.esc(b.data)}</summary><ul>${Object.entries(b.checks).map(([name, c]) =>
      `<li data-check="${QD.esc(name)}"><strong>${QD.esc(name.replace(/_/g, " "))}</strong>: ${c.passed ? "passed" : "FAILED"} — ${QD.esc(c.detail)}` +
      (c.failures && c.failures.length ? `<table class="failures"><thead><tr><th>Bar</th><th>Column</th><th>Full run</th><th>Other run</th></tr></thead><tbody>${c.failures.map((f) =>
        `<tr><td>${QD.esc(f.bar_time)}</td><td>${QD.esc(f.column)}</td><td>${QD.esc(short(f.full_value))}</td><td>${QD.esc(short(f.window_value))}</td></tr>`).join("")}</tbody></table>` : "") +
      "</li>").join("")}</ul></details>`;
  }
  function renderStrategies() {
    document.querySelector("#strategies tbody").innerHTML = QD.data("strategies-data").map((s) => `<tr data-strategy="${QD.esc(s.key)}" class="${s.available ? "" : "muted"}">
      <td>${QD.esc(s.key)}</td><td>${QD.esc(s.label)}</td><td>${QD.esc(s.origin)}${s.available ? "" : " (gone from the folder)"}</td>
      <td title="${QD.esc(s.source_path)}">${QD.esc(s.version)}</td><td class="bias">${checkCell(s.bias)}</td>
      <td class="num">${s.bias ? QD.num(s.bias.bars_per_second, 0) : "–"}</td><td>${details(s.bias)}</td></tr>`).join("");
    document.getElementById("load-errors").innerHTML = loadErrors.length ? `<h2>Not loaded</h2><ul id="load-error-list">${loadErrors.map((e) =>
      `<li><strong>${QD.esc(e.path)}</strong>: ${QD.esc(e.message)}<details><summary>traceback</summary><pre>${QD.esc(e.traceback)}</pre></details></li>`).join("")}</ul>` : "";
  }

  const form = document.getElementById("cfg-form");
  const paramsBox = document.querySelector("#cfg-params > div");
  form.strategy.innerHTML = strategies.map((s) => `<option value="${s.id}" data-key="${QD.esc(s.key)}">${QD.esc(s.label)} (${QD.esc(s.key)})</option>`).join("");
  function chosen() { return strategies.find((s) => String(s.id) === form.strategy.value); }
  function onStrategy() {
    const s = chosen(); if (!s) return;
    QDStrategy.paramForm(paramsBox, s.schema);
    const d = s.schema.default_sizing || {};
    form.leverage.value = d.leverage || 10; form.sizing_mode.value = d.mode || "fixed";
    form.allocation.value = d.allocation ?? ""; form.kelly_fraction.value = d.kelly_fraction ?? "";
    if (!form.name.value || form.name.dataset.auto) { form.name.value = s.key + "-" + form.symbol.value.toLowerCase(); form.name.dataset.auto = "1"; }
  }
  form.strategy.addEventListener("change", onStrategy);
  form.name.addEventListener("input", () => { delete form.name.dataset.auto; });
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const v = (n) => form[n].value === "" ? null : form[n].value;
    const body = {name: form.name.value, strategy: Number(form.strategy.value), account: Number(form.account.value),
      symbols: [form.symbol.value], timeframe: form.timeframe.value, leverage: v("leverage"), sizing_mode: form.sizing_mode.value,
      allocation: form.sizing_mode.value === "fixed" ? v("allocation") : null, kelly_fraction: form.sizing_mode.value === "kelly" ? v("kelly_fraction") : null,
      take_profit_pct: v("take_profit_pct"), stop_loss_pct: v("stop_loss_pct"), params: QDStrategy.readParams(paramsBox)};
    const out = document.getElementById("cfg-form-error");
    try {
      const r = await QD.api("POST", "/api/configs/", body);
      out.textContent = "";
      const s = chosen();
      configs.push({id: r.id, name: r.name, strategy: s.label, strategy_key: s.key, account: form.account.selectedOptions[0].textContent,
        account_id: r.account, symbols: r.symbols, timeframe: r.timeframe, leverage: Number(r.leverage), sizing_mode: r.sizing_mode,
        allocation: r.allocation === null ? null : Number(r.allocation), kelly_fraction: r.kelly_fraction === null ? null : Number(r.kelly_fraction),
        take_profit_pct: r.take_profit_pct === null ? null : Number(r.take_profit_pct), stop_loss_pct: Number(r.stop_loss_pct), enabled: r.enabled,
        kill_switch: false, last_signal: null});
      renderConfigs();
    } catch (err) { out.textContent = QD.errors(err); }
  });

  function sig(s) { if (!s) return "–"; return `${s.signal > 0 ? "long" : s.signal < 0 ? "short" : "flat"} @ ${QD.fmt.time(s.bar_time)} ${QD.esc(s.symbol)}` +
      (s.drift !== null ? ` drift ${QD.pct(s.drift, 3)}` : "") + (s.confidence !== null ? ` conf ${QD.num(s.confidence, 2)}` : "") +
      (s.half_life_seconds !== null ? ` t½ ${QD.age(s.half_life_seconds)}` : "") + (s.forecast !== null ? ` fcst ${QD.num(s.forecast, 2)}` : ""); }
  function layers(s) { if (!s || !s.layers) return "–";
    const pairs = flatten(s.layers, "", [], 0);
    if (!pairs.length) return "–";
    return `<details class="layers"><summary>${pairs.length} layers</summary>${pairs.map(([k, v]) =>
      `<span><span class="muted">${QD.esc(k)}</span> ${QD.esc(short(v))}</span>`).join("")}</details>`; }
  function verdict(c) { const v = c.last_verdict;
    if (!v) return `<span class="muted">none${c.live ? " (needed for live)" : ""}</span> <a href="/research/?config=${c.id}">run</a>`;
    return `<a href="/research/${v.study}/" title="${QD.esc((v.reasons || []).join("; "))}"><span class="verdict-${QD.esc(v.verdict)}">${QD.esc(v.verdict)}</span></a>`; }
  async function enable(c, body) { return QD.api("POST", `/api/configs/${c.id}/enable/`, body); }
  function renderConfigs() {
    document.querySelector("#configs tbody").innerHTML = configs.map((c) => `<tr data-config="${c.id}"><td>${QD.esc(c.name)}</td><td>${QD.esc(c.strategy)}</td>
      <td>${QD.esc(c.account)}</td><td>${QD.esc(c.symbols.join(", "))}</td><td>${c.timeframe}</td><td class="num">${QD.num(c.leverage, 0)}x</td>
      <td>${c.sizing_mode === "fixed" ? QD.pct(c.allocation, 1) + " of capital" : "kelly " + QD.num(c.kelly_fraction, 2)}</td>
      <td class="num">${QD.num(c.take_profit_pct, 3)}</td><td class="num">${QD.num(c.stop_loss_pct, 3)}</td>
      <td><button class="toggle" data-config="${c.id}" ${c.kill_switch && !c.enabled ? "disabled title='kill switch engaged'" : ""}>${c.enabled ? "enabled — disable" : "disabled — enable"}</button></td>
      <td>${verdict(c)}</td><td>${sig(c.last_signal)}</td><td class="layers-cell">${layers(c.last_signal)}</td></tr>`).join("") || '<tr><td colspan="13" class="muted">No configs.</td></tr>';
    document.querySelectorAll("button.toggle").forEach((b) => b.onclick = async () => {
      const c = configs.find((x) => x.id === Number(b.dataset.config));
      const out = document.getElementById("cfg-error");
      if (!c.enabled) out.textContent = "running the bias checks of this strategy version if they have not run yet…";
      try { const r = c.enabled ? await QD.api("POST", `/api/configs/${c.id}/disable/`) : await enable(c); c.enabled = r.enabled;
        out.textContent = ""; renderConfigs(); }
      catch (err) {
        const gate = err.data && err.data.enabled && String(err.data.enabled).includes("walk-forward verdict");
        if (gate && window.confirm("No walk-forward verdict on record for this LIVE config. Enable it anyway? Your override is recorded.")) {
          try { const r = await enable(c, {override_research: true, reason: "override from the strategies page"});
            c.enabled = r.enabled; out.textContent = ""; renderConfigs(); return; }
          catch (err2) { err = err2; }
        }
        out.textContent = QD.errors(err); }
    });
  }
  const rescan = document.getElementById("rescan");
  if (rescan) rescan.addEventListener("click", async () => {
    const out = document.getElementById("rescan-status");
    try { const r = await QD.api("POST", "/api/strategies/rescan/");
      out.textContent = `new: ${r.created.join(", ") || "none"}; changed: ${r.updated.join(", ") || "none"}; not loaded: ${r.errors.length}; checks queued: ${r.checks_queued.join(", ") || "none"} — reloading`;
      setTimeout(() => location.reload(), 1200); }
    catch (err) { out.textContent = QD.errors(err); }
  });
  QD.onEvent((ev) => {
    if (ev.type === "signal") { const c = configs.find((x) => x.id === ev.data.config); if (c) { c.last_signal = Object.assign(c.last_signal || {}, ev.data); renderConfigs(); } }
    if (ev.type === "kill_switch") { configs.filter((c) => c.account_id === ev.data.account).forEach((c) => { c.kill_switch = ev.data.engaged;
      if (ev.data.configs_disabled.includes(c.id)) c.enabled = false; }); renderConfigs(); }
  });
  renderStrategies(); onStrategy(); renderConfigs();
})();
