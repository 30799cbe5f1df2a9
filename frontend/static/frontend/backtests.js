/* Backtests page: the desk form (several configs of one account as one portfolio run), the single form (a
   config as it trades, or params generated from the strategy's schema by strategy-ui.js, with its default sizing), start a run or a sweep,
   follow progress from the socket (backtest events), then render the result; compare several finished runs.
   Both forms' default range is the stored data's range. */
"use strict";
(function () {
  const schemas = QD.data("schemas");
  const pickers = QD.data("pickers") || {configs: [], accounts: [], ranges: {}};
  const form = document.getElementById("bt-form");
  const deskForm = document.getElementById("desk-form");
  const byId = (list, id) => list.find((x) => String(x.id) === String(id));
  const local = (iso) => iso.slice(0, 16);
  const paramsBox = document.querySelector("#bt-params > div");
  let current = null;

  function renderParams(values) { QDStrategy.paramForm(paramsBox, schemas[form.strategy.value], values); }

  function setRange(f, symbols, timeframes) {  // the span every (symbol, timeframe) has stored
    let first = null, last = null;
    symbols.forEach((sym, i) => {
      const stored = pickers.ranges[sym] || {};  // a timeframe not stored is resampled from a stored one
      const r = stored[timeframes[i] || timeframes[0]] || Object.values(stored)[0];
      if (!r) return;
      first = first === null || r[0] > first ? r[0] : first;
      last = last === null || r[1] < last ? r[1] : last;
    });
    if (first !== null && last !== null && last > first) { f.start.value = local(first); f.end.value = local(last); }
  }

  function strategyDefaults() {  // a strategy picked by hand starts from its own default sizing
    const d = (schemas[form.strategy.value] || {}).default_sizing;
    if (!d) return;
    form.leverage.value = d.leverage; form.sizing_mode.value = d.mode;
    if (d.kelly_fraction != null) form.kelly_fraction.value = d.kelly_fraction;
    if (d.allocation != null) form.allocation.value = d.allocation;
  }

  const CONFIG_FIELDS = ["strategy", "timeframe", "leverage", "sizing_mode", "kelly_fraction", "allocation",
    "initial_capital", "take_profit_pct", "stop_loss_pct", "maker_fee", "taker_fee"];
  function pickConfig() {  // a config fills the form as it trades; its fields are then read-only
    const c = byId(pickers.configs, form.config.value);
    CONFIG_FIELDS.forEach((k) => { form[k].disabled = !!c; });
    if (!c) { renderParams(); strategyDefaults(); return; }
    form.strategy.value = c.strategy; form.timeframe.value = c.timeframe;
    if (c.symbols.length) form.symbol.value = c.symbols[0];
    CONFIG_FIELDS.slice(2).forEach((k) => { form[k].value = c[k] == null ? "" : c[k]; });
    renderParams(c.params);
    paramsBox.querySelectorAll("[data-param]").forEach((el) => { el.disabled = true; });
    setRange(form, [form.symbol.value], [form.timeframe.value]);
  }
  form.strategy.addEventListener("change", () => { renderParams(); strategyDefaults(); });
  form.config.addEventListener("change", pickConfig);
  const rangeOfForm = () => setRange(form, [form.symbol.value], [form.timeframe.value]);
  form.symbol.addEventListener("change", rangeOfForm);
  form.timeframe.addEventListener("change", rangeOfForm);
  renderParams();
  strategyDefaults();
  rangeOfForm();

  function deskConfigs() {
    const box = document.querySelector("#desk-configs > div");
    const acc = deskForm.account.value;
    const mine = pickers.configs.filter((c) => String(c.account) === acc);
    box.innerHTML = mine.map((c) => `<label class="check"><input type="checkbox" value="${c.id}" ${c.enabled ? "checked" : ""}> ${QD.esc(c.name)}
      <span class="muted">${QD.esc(c.strategy)} ${QD.esc(c.symbols.join(","))} ${QD.esc(c.timeframe)} ${c.leverage}x ${c.sizing_mode}${c.enabled ? "" : " (disabled)"}</span></label>`).join("")
      || '<span class="muted">This account has no configs.</span>';
    const picked = mine.filter((c) => c.enabled).length ? mine.filter((c) => c.enabled) : mine;
    const syms = [], tfs = [];
    picked.forEach((c) => c.symbols.forEach((s) => { syms.push(s); tfs.push(c.timeframe); }));
    setRange(deskForm, syms, tfs);
  }
  deskForm.account.addEventListener("change", deskConfigs);
  deskConfigs();

  function body(adHoc) {  // adHoc: the settings spelled out even when a config is picked (a sweep varies them)
    const v = (name) => form[name].value === "" ? null : form[name].value;
    if (form.config.value && !adHoc) {
      return {name: form.name.value, config: Number(form.config.value), settings: {
        symbol: v("symbol"), start: v("start") + ":00Z", end: v("end") + ":00Z", funding: form.funding.value === "true"}};
    }
    const params = QDStrategy.readParams(paramsBox);
    const settings = {
      symbol: v("symbol"), timeframe: v("timeframe"), start: v("start") + ":00Z", end: v("end") + ":00Z",
      leverage: v("leverage"), sizing_mode: v("sizing_mode"), initial_capital: v("initial_capital"),
      take_profit_pct: v("take_profit_pct"), stop_loss_pct: v("stop_loss_pct"), maker_fee: v("maker_fee"),
      taker_fee: v("taker_fee"), funding: form.funding.value === "true",
    };
    if (settings.sizing_mode === "kelly") settings.kelly_fraction = v("kelly_fraction");
    else settings.allocation = v("allocation");
    return {name: form.name.value, strategy: form.strategy.value, params, settings};
  }

  function showProgress(status, progress) {
    const pct = Math.round(100 * progress);
    document.getElementById("bt-status").textContent = status;
    document.getElementById("bt-pct").textContent = pct + " %";
    const bar = document.getElementById("bt-bar");
    bar.style.width = pct + "%"; bar.setAttribute("aria-valuenow", String(pct));
  }

  async function finish(id) {
    const run = await QD.api("GET", `/api/backtests/${id}/`);
    showProgress(run.status, run.status === "done" ? 1 : run.progress);
    if (run.status === "failed") { document.getElementById("bt-error").textContent = run.error; return; }
    QDCharts.render(run, document.getElementById("bt-result"));
  }

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    document.getElementById("bt-error").textContent = "";
    document.getElementById("bt-result").innerHTML = "";
    const sweep = !!form.grid.value.trim();
    const payload = body(sweep);
    try {
      if (sweep) {
        let grid;
        try { grid = JSON.parse(form.grid.value); } catch (_) { throw {message: "grid: not valid JSON"}; }
        const r = await QD.api("POST", "/api/sweeps/", Object.assign(payload, {grid, metric: form.metric.value}));
        location.href = `/sweeps/${r.sweep_key}/`;
        return;
      }
      follow(await QD.api("POST", "/api/backtests/", payload));
    } catch (err) { document.getElementById("bt-error").textContent = QD.errors(err); }
  });

  function follow(r) {
    current = r.id;
    document.getElementById("bt-running").hidden = false;
    const link = document.getElementById("bt-link");
    link.textContent = "#" + r.id; link.href = `/backtests/${r.id}/`;
    showProgress(r.status, 0);
    poll(r.id);
  }

  deskForm.addEventListener("submit", async (e) => {
    e.preventDefault();
    document.getElementById("desk-error").textContent = "";
    document.getElementById("bt-result").innerHTML = "";
    const ids = [...document.querySelectorAll("#desk-configs input:checked")].map((c) => Number(c.value));
    const payload = {name: deskForm.name.value, configs: ids, settings: {
      start: deskForm.start.value + ":00Z", end: deskForm.end.value + ":00Z", funding: deskForm.funding.value === "true"}};
    try { follow(await QD.api("POST", "/api/backtests/", payload)); }
    catch (err) { document.getElementById("desk-error").textContent = QD.errors(err); }
  });

  async function poll(id) {  // a fallback in case an event is missed; the socket usually gets there first
    while (current === id) {
      await new Promise((r) => setTimeout(r, 3000));
      if (current !== id) return;
      const run = await QD.api("GET", `/api/backtests/${id}/`).catch(() => null);
      if (run && (run.status === "done" || run.status === "failed")) { if (current === id) { current = null; finish(id); } return; }
      if (run) showProgress(run.status, run.progress);
    }
  }

  QD.onEvent((ev) => {
    if (ev.type !== "backtest") return;
    const row = document.querySelector(`#runs tr[data-run="${ev.data.id}"] .status`);
    if (row) row.textContent = ev.data.status;
    if (ev.data.id !== current) return;
    showProgress(ev.data.status, ev.data.status === "done" ? 1 : ev.data.progress);
    if (ev.data.status === "done" || ev.data.status === "failed") { current = null; finish(ev.data.id); }
  });

  document.getElementById("compare").addEventListener("click", async () => {
    const ids = [...document.querySelectorAll("#runs input:checked")].map((c) => c.value);
    if (ids.length < 2) { alert("Tick two or more finished runs."); return; }
    const runs = await Promise.all(ids.map((id) => QD.api("GET", `/api/backtests/${id}/`)));
    QDCharts.compare(runs, document.getElementById("compare-plot"), document.getElementById("compare-table"));
  });
})();
