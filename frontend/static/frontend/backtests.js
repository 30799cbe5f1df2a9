/* Backtests page: the form (params generated from the strategy's schema by strategy-ui.js), start a run or a sweep, follow progress
   from the socket (backtest events), then render the result; compare several finished runs. */
"use strict";
(function () {
  const schemas = QD.data("schemas");
  const form = document.getElementById("bt-form");
  const paramsBox = document.querySelector("#bt-params > div");
  let current = null;

  function renderParams() { QDStrategy.paramForm(paramsBox, schemas[form.strategy.value]); }
  form.strategy.addEventListener("change", renderParams);
  renderParams();
  if (!form.start.value) {  // default range: the last 7 days of the year of the data is not known; user sets it
    const end = new Date(); const start = new Date(end.getTime() - 7 * 86400e3);
    form.end.value = end.toISOString().slice(0, 16); form.start.value = start.toISOString().slice(0, 16);
  }

  function body() {
    const params = QDStrategy.readParams(paramsBox);
    const v = (name) => form[name].value === "" ? null : form[name].value;
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
    const payload = body();
    try {
      if (form.grid.value.trim()) {
        let grid;
        try { grid = JSON.parse(form.grid.value); } catch (_) { throw {message: "grid: not valid JSON"}; }
        const r = await QD.api("POST", "/api/sweeps/", Object.assign(payload, {grid, metric: form.metric.value}));
        location.href = `/sweeps/${r.sweep_key}/`;
        return;
      }
      const r = await QD.api("POST", "/api/backtests/", payload);
      current = r.id;
      document.getElementById("bt-running").hidden = false;
      const link = document.getElementById("bt-link");
      link.textContent = "#" + r.id; link.href = `/backtests/${r.id}/`;
      showProgress(r.status, 0);
      poll(r.id);
    } catch (err) { document.getElementById("bt-error").textContent = QD.errors(err); }
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
