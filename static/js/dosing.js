// Dosing pages: the live dose proposal on the prescription form, and selecting the
// feed address on focus. The dose itself is computed by the server (dosing/doses.py):
// this file only asks for it, so the rule lives in one place. It never fills the
// prescribed dose: the investigator types it (or uses "Calculate").
"use strict";
(function () {
  const box = document.getElementById("dose-proposal");
  if (box) {
    const form = box.closest("form");
    const inputs = form.querySelectorAll("[data-dose-input]");
    let timer = null;
    const refresh = () => {
      const params = new URLSearchParams();
      inputs.forEach((el) => params.set(el.name, el.value));
      fetch(box.dataset.proposalUrl + "?" + params.toString(), { credentials: "same-origin" })
        .then((response) => response.json())
        .then((data) => {
          if (!data.ok) { return; }
          box.replaceChildren();
          const strong = document.createElement("strong");
          strong.textContent = data.dose_mg + " mg" + (data.bsa_m2 ? " · BSA " + data.bsa_m2 + " m²" : "");
          const small = document.createElement("div");
          small.className = "small";
          small.textContent = data.explanation;
          box.append(strong, small);
        })
        .catch(() => {});
    };
    inputs.forEach((el) => el.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(refresh, 300);
    }));
    // Weight and height carried forward (prefilled): the proposal is shown at once.
    if (Array.from(inputs).every((el) => el.value)) { refresh(); }
  }
  document.querySelectorAll("[data-select-on-focus]").forEach((el) => {
    el.addEventListener("focus", () => el.select());
  });
})();
