// The participant forms: show the contact field that matches each participant's invite method (on the
// Schedule form and on the Add and Edit participant pages) and, on the Schedule form, add and remove rows
// of the Django formset.
(function () {
  "use strict";
  const container = document.getElementById("participant-forms");
  const template = document.getElementById("participant-template");
  const addButton = document.getElementById("add-participant");

  function syncContactFields(form) {
    const method = form.querySelector("select[name$='invite_method']");
    if (!method) return;
    const wantsEmail = method.value === "email";
    const wantsPhone = method.value === "sms" || method.value === "whatsapp";
    form.querySelector("[data-contact-field='email']").hidden = !wantsEmail;
    form.querySelector("[data-contact-field='phone']").hidden = !wantsPhone;
  }

  function watchMethod(form) {
    syncContactFields(form);
    form.addEventListener("change", (event) => {
      if (event.target.matches("select[name$='invite_method']")) syncContactFields(form);
    });
  }

  // The Schedule page's template loads only this script. Its participant rows name the contact autofill
  // script by its static URL (hashed in production), so the same autofill as on the Add participant page
  // comes along; a page that loads the autofill itself is left alone.
  const autofill = document.querySelector("[data-contact-autofill-script]");
  if (autofill && !window.contactAutofillReady) {
    const script = document.createElement("script");
    script.src = autofill.dataset.contactAutofillScript;
    document.body.appendChild(script);
  }

  document.querySelectorAll(".participant-form").forEach((form) => {
    if (!container || !container.contains(form)) watchMethod(form);
  });

  if (!container || !template || !addButton) return;
  const total = document.getElementById("id_participants-TOTAL_FORMS");

  function visibleForms() {
    return Array.from(container.querySelectorAll(".participant-form")).filter((f) => !f.hidden);
  }

  function syncRemoveButtons() {
    const forms = visibleForms();
    forms.forEach((f) => {
      f.querySelector(".remove-participant").hidden = forms.length === 1;
    });
  }

  function wire(fieldset) {
    watchMethod(fieldset);
    fieldset.querySelector(".remove-participant").addEventListener("click", () => {
      const deleteBox = fieldset.querySelector("input[name$='-DELETE']");
      if (deleteBox) deleteBox.checked = true;
      fieldset.hidden = true;
      syncRemoveButtons();
    });
  }

  // A form that comes back with errors keeps the rows the person removed ticked for deletion: keep them hidden.
  container.querySelectorAll(".participant-form").forEach((fieldset) => {
    const deleteBox = fieldset.querySelector("input[name$='-DELETE']");
    if (deleteBox && deleteBox.checked) fieldset.hidden = true;
    wire(fieldset);
  });
  syncRemoveButtons();

  addButton.addEventListener("click", () => {
    const index = parseInt(total.value, 10);
    const html = template.innerHTML.replace(/__prefix__/g, String(index));
    const holder = document.createElement("div");
    holder.innerHTML = html.trim();
    const fieldset = holder.firstElementChild;
    container.appendChild(fieldset);
    total.value = String(index + 1);
    wire(fieldset);
    syncRemoveButtons();
    fieldset.querySelector("input[name$='-name']").focus();
  });
})();
