/* Admin: the StrategyConfig params edited through fields generated from the chosen strategy's schema; every
   change is written back to the JSON field the server validates (errors name the parameter and the bound). */
"use strict";
(function () {
  function esc(s) { return String(s === null || s === undefined ? "" : s).replace(/[&<>"']/g, (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c])); }
  function init(root) {
    const schemas = JSON.parse(root.dataset.schemas);
    const area = document.getElementById(root.dataset.for);
    const box = root.querySelector(".qd-param-fields");
    const select = document.getElementById("id_strategy");
    function current() { try { return JSON.parse(area.value || "{}"); } catch (_) { return {}; } }
    function write() {
      const out = {};
      box.querySelectorAll("[data-param]").forEach((el) => {
        const t = el.dataset.type;
        out[el.dataset.param] = t === "bool" ? el.value === "true" : (t === "choice" ? el.value : (el.value === "" ? null : Number(el.value)));
      });
      area.value = JSON.stringify(out);
    }
    function render() {
      const schema = schemas[select ? select.value : ""];
      if (!schema) { box.innerHTML = "<p>Choose a strategy to see its parameters.</p>"; return; }
      const values = current();
      box.innerHTML = schema.params.map((p) => {
        const v = values[p.name] !== undefined ? values[p.name] : p.default;
        const limits = [p.min !== undefined ? "min " + p.min : "", p.max !== undefined ? "max " + p.max : ""].filter(Boolean).join(", ");
        let input;
        if (p.type === "bool") input = `<select data-param="${esc(p.name)}" data-type="bool"><option value="true" ${v ? "selected" : ""}>true</option><option value="false" ${v ? "" : "selected"}>false</option></select>`;
        else if (p.type === "choice") input = `<select data-param="${esc(p.name)}" data-type="choice">${p.choices.map((c) => `<option ${c === v ? "selected" : ""}>${esc(c)}</option>`).join("")}</select>`;
        else input = `<input data-param="${esc(p.name)}" data-type="${p.type}" type="number" step="${p.type === "int" ? 1 : "any"}" value="${esc(v)}" ${p.min !== undefined ? `min="${p.min}"` : ""} ${p.max !== undefined ? `max="${p.max}"` : ""}>`;
        return `<div class="form-row"><label>${esc(p.name)}</label> ${input} <span class="help">${esc(p.help)}${limits ? " (" + esc(limits) + ")" : ""}</span></div>`;
      }).join("") || "<p>This strategy has no parameters.</p>";
      box.querySelectorAll("[data-param]").forEach((el) => el.addEventListener("change", write));
      write();
    }
    if (select) select.addEventListener("change", () => { area.value = "{}"; render(); });
    render();
  }
  document.addEventListener("DOMContentLoaded", () => document.querySelectorAll(".qd-params").forEach(init));
})();
