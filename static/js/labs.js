// Lab panels: the H/L flag of a value against this child's reference range as it is typed.
// No inline scripts (Content-Security-Policy): the range, the unit factors and the words come
// from data- attributes the server writes.  The flag that counts is the server's, on save.
"use strict";

(function () {
  const tables = document.querySelectorAll("[data-lab-entry]");

  function canonical(row, input) {
    // A comma or a point as the decimal separator, as the server reads it (NumberField).
    const text = input.value.trim().replace(",", ".");
    const value = Number(text);
    if (text === "" || !Number.isFinite(value)) {
      return null;
    }
    const unit = row.querySelector("[data-lab-unit]") || row.querySelector("select");
    const factors = JSON.parse(row.dataset.factors || "{}");
    const factor = unit && unit.value && factors[unit.value] ? Number(factors[unit.value]) : 1;
    return value * factor;
  }

  function judge(row, value) {
    if (value === null) {
      return "";
    }
    if (row.dataset.lower !== "" && value < Number(row.dataset.lower)) {
      return "L";
    }
    if (row.dataset.upper !== "" && value > Number(row.dataset.upper)) {
      return "H";
    }
    return "";
  }

  function update(table, row) {
    const input =
      row.querySelector("[data-lab-value]") ||
      row.querySelector("input:not([type=date]):not([type=hidden])");
    const output = row.querySelector("[data-lab-flag]");
    if (!input || !output) {
      return;
    }
    const flag = judge(row, canonical(row, input));
    output.textContent = "";
    if (flag) {
      const badge = document.createElement("span");
      badge.className = "badge " + (flag === "H" ? "text-bg-danger" : "text-bg-primary");
      badge.textContent = flag;
      const words = document.createElement("span");
      words.className = "visually-hidden";
      words.textContent = flag === "H" ? table.dataset.labelHigh : table.dataset.labelLow;
      output.append(badge, words);
    }
    const judgement = row.querySelector("[data-lab-significance]");
    if (judgement) {
      const select = judgement.querySelector("select");
      judgement.hidden = !flag && !(select && select.value);
    }
  }

  tables.forEach(function (table) {
    const rows = table.querySelectorAll("[data-lab-row]");
    rows.forEach(function (row) {
      row.addEventListener("input", function () { update(table, row); });
      row.addEventListener("change", function () { update(table, row); });
      update(table, row);
    });
  });
})();
