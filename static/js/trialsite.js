// Behaviour shared by every page. No inline scripts anywhere (Content-Security-Policy).
"use strict";

// Unsaved changes: a form marked data-warn-unsaved asks before the page is left with
// edits in it (closing the tab, a link, the back button). Submitting the form itself
// never asks; neither does a form whose fields are back to what was loaded.
(function () {
  const forms = Array.from(document.querySelectorAll("form[data-warn-unsaved]"));
  if (!forms.length) {
    return;
  }
  const snapshot = (form) => {
    const values = [];
    Array.from(form.elements).forEach((el) => {
      if (!el.name || el.type === "submit" || el.type === "button" || el.type === "hidden") {
        return;
      }
      if (el.type === "checkbox" || el.type === "radio") {
        values.push(el.name + "=" + el.value + ":" + el.checked);
      } else if (el.tagName === "SELECT" && el.multiple) {
        values.push(el.name + "=" + Array.from(el.selectedOptions).map((o) => o.value).join(","));
      } else {
        values.push(el.name + "=" + el.value);
      }
    });
    return values.join("\n");
  };
  const loaded = new Map(forms.map((form) => [form, snapshot(form)]));
  let submitting = false;
  forms.forEach((form) => {
    form.addEventListener("submit", () => {
      submitting = true;
    });
  });
  // A form redisplayed with errors holds what the user typed: it is unsaved too.
  const redisplayed = (form) => form.querySelector(".is-invalid, .alert-danger") !== null;
  window.addEventListener("beforeunload", (event) => {
    if (submitting) {
      return;
    }
    const dirty = forms.some((form) => redisplayed(form) || snapshot(form) !== loaded.get(form));
    if (dirty) {
      event.preventDefault();
      // Browsers show their own wording; returnValue must be set for older ones.
      event.returnValue = "";
    }
  });
})();

// A "Print" button (data-print) prints the page; @media print CSS shapes the paper.
document.querySelectorAll("[data-print]").forEach((button) => {
  button.addEventListener("click", () => window.print());
});
