// "Copy join link" on the session page: copies the participant's link from the read-only field beside it.
// A file rather than an inline script, so the Content-Security-Policy can refuse every inline script.
(function () {
  "use strict";
  document.querySelectorAll(".copy-link").forEach((button) => {
    button.addEventListener("click", async () => {
      const input = document.getElementById(button.dataset.target);
      input.select();
      try {
        await navigator.clipboard.writeText(input.value);
      } catch (e) {
        document.execCommand("copy");
      }
      button.textContent = "Copied";
      setTimeout(() => {
        button.textContent = "Copy join link";
      }, 2000);
    });
  });
})();
