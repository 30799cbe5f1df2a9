/* What every strategy page shares: the parameter form generated from a strategy's schema (types, bounds,
   defaults, help; the API's errors name the parameter and the bound) and the indicator traces drawn from a
   strategy's plot declaration (overlay on price, a pane below it, markers), for the chart and backtest pages. */
"use strict";
window.QDStrategy = (function () {
  function paramForm(box, schema, values) {
    values = values || {};
    box.innerHTML = (schema ? schema.params : []).map((p) => {
      const v = values[p.name] !== undefined ? values[p.name] : p.default;
      const limits = [p.min !== undefined ? "min " + p.min : "", p.max !== undefined ? "max " + p.max : ""].filter(Boolean).join(", ");
      let input;
      if (p.type === "bool") input = `<select data-param="${QD.esc(p.name)}" data-type="bool"><option value="true" ${v ? "selected" : ""}>true</option><option value="false" ${v ? "" : "selected"}>false</option></select>`;
      else if (p.type === "choice") input = `<select data-param="${QD.esc(p.name)}" data-type="choice">${p.choices.map((c) => `<option ${c === v ? "selected" : ""}>${QD.esc(c)}</option>`).join("")}</select>`;
      else input = `<input data-param="${QD.esc(p.name)}" data-type="${p.type}" type="number" step="${p.type === "int" ? 1 : "any"}" value="${QD.esc(v)}" ${p.min !== undefined ? `min="${p.min}"` : ""} ${p.max !== undefined ? `max="${p.max}"` : ""}>`;
      return `<label title="${QD.esc(p.help)}">${QD.esc(p.name)} <span class="muted">${QD.esc(limits)}</span>${input}<small class="muted">${QD.esc(p.help)}</small></label>`;
    }).join("") || '<span class="muted">This strategy has no parameters.</span>';
  }
  function readParams(box) {
    const params = {};
    box.querySelectorAll("[data-param]").forEach((el) => {
      const t = el.dataset.type;
      params[el.dataset.param] = t === "bool" ? el.value === "true" : (t === "choice" ? el.value : (el.value === "" ? null : Number(el.value)));
    });
    return params;
  }
  /* Plotly traces for {t, plots:[{name, kind, color, symbol, dash, y}]}; panes go on yaxis2 (layout from layoutFor). */
  function traces(ind) {
    if (!ind || !ind.plots) return [];
    return ind.plots.map((p) => {
      const base = {x: ind.t, y: p.y, type: "scatter", name: p.name, meta: "indicator", legendgroup: "indicators"};
      if (p.kind === "marker") return Object.assign(base, {mode: "markers", marker: {symbol: p.symbol, size: 9, color: p.color}});
      return Object.assign(base, {mode: "lines", line: {color: p.color, width: 1.4, dash: p.dash ? "dot" : "solid"},
        yaxis: p.kind === "pane" ? "y2" : "y", connectgaps: false});
    });
  }
  function hasPane(ind) { return !!(ind && ind.plots && ind.plots.some((p) => p.kind === "pane")); }
  function layoutFor(ind, layout) {
    if (!hasPane(ind)) return layout;
    return Object.assign(layout, {yaxis: Object.assign({}, layout.yaxis || {}, {domain: [0.32, 1]}),
      yaxis2: {domain: [0, 0.25], gridcolor: "#233", anchor: "x"}});
  }
  return {paramForm, readParams, traces, layoutFor};
})();
