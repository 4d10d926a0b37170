// The participants part of the Schedule form: add and remove rows of the Django formset, and show the
// contact field that matches each participant's invite method.
(function () {
  "use strict";
  const container = document.getElementById("participant-forms");
  const template = document.getElementById("participant-template");
  const addButton = document.getElementById("add-participant");
  if (!container || !template || !addButton) return;
  const total = document.getElementById("id_participants-TOTAL_FORMS");

  function visibleForms() {
    return Array.from(container.querySelectorAll(".participant-form")).filter((f) => !f.hidden);
  }

  function syncContactFields(fieldset) {
    const method = fieldset.querySelector("select[name$='-invite_method']");
    if (!method) return;
    const wantsEmail = method.value === "email";
    const wantsPhone = method.value === "sms" || method.value === "whatsapp";
    fieldset.querySelector("[data-contact-field='email']").hidden = !wantsEmail;
    fieldset.querySelector("[data-contact-field='phone']").hidden = !wantsPhone;
  }

  function syncRemoveButtons() {
    const forms = visibleForms();
    forms.forEach((f) => {
      f.querySelector(".remove-participant").hidden = forms.length === 1;
    });
  }

  function wire(fieldset) {
    syncContactFields(fieldset);
    fieldset.addEventListener("change", (event) => {
      if (event.target.matches("select[name$='-invite_method']")) syncContactFields(fieldset);
    });
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
