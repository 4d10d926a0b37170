// The document editor's field form: the options box is only for the choice kinds, so it shows only when one
// is chosen. Without the script it simply stays visible, with its help text saying when it applies.
(function () {
  "use strict";
  document.querySelectorAll(".document-field-form").forEach((form) => {
    const kind = form.querySelector("select[name='kind']");
    const options = form.querySelector("[data-choices-for]");
    if (!kind || !options) return;
    const kinds = options.dataset.choicesFor.split(" ");
    const sync = () => {
      options.hidden = !kinds.includes(kind.value);
    };
    kind.addEventListener("change", sync);
    sync();
  });
})();
