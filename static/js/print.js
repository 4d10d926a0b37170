// The print page's Print button: a file rather than an inline handler, so the Content-Security-Policy can
// refuse every inline script.
(function () {
  "use strict";
  document.querySelectorAll("[data-print]").forEach((button) => {
    button.addEventListener("click", () => window.print());
  });
})();
