// CRF pages. No inline scripts anywhere (Content-Security-Policy); data comes from data- attributes.
"use strict";

// ESSDAI: a live preview of the weighted total while the rater ticks levels.  The score
// that counts is computed by the server (crf/essdai.py) when the form is saved.
(function () {
  const form = document.querySelector("[data-essdai-form]");
  const output = document.getElementById("essdai-preview");
  if (!form || !output) {
    return;
  }
  const domains = Array.from(form.querySelectorAll("fieldset[data-domain]"));
  const moderateFrom = Number(output.dataset.moderateFrom);
  const highFrom = Number(output.dataset.highFrom);

  function update() {
    let total = 0;
    let rated = 0;
    domains.forEach(function (fieldset) {
      const checked = fieldset.querySelector("input[type=radio]:checked");
      if (checked) {
        rated += 1;
        total += Number(fieldset.dataset.weight) * Number(checked.value);
      }
    });
    if (rated < domains.length) {
      output.textContent = total + " (" + output.dataset.labelIncomplete + ": " + rated + "/" + domains.length + ")";
      return;
    }
    let category = output.dataset.labelLow;
    if (total >= highFrom) {
      category = output.dataset.labelHigh;
    } else if (total >= moderateFrom) {
      category = output.dataset.labelModerate;
    }
    output.textContent = total + " (" + category + ")";
  }

  form.addEventListener("change", update);
  update();
})();
