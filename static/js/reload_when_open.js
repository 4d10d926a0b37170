// "Not open yet" (templates/join/not_open.html) opens the room by itself: the page reloads once the join
// window opens (data-reload-in, in seconds, capped by the view). A script rather than a
// <meta http-equiv="refresh">, which assistive technology reports as a forced timed refresh.
(function () {
  "use strict";
  const holder = document.querySelector("[data-reload-in]");
  const seconds = holder ? Number(holder.dataset.reloadIn) : 0;
  if (seconds > 0) {
    window.setTimeout(() => window.location.reload(), seconds * 1000);
  }
})();
