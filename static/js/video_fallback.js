// The room page (host's and participant's): says so in the page when the video engine cannot be loaded,
// instead of leaving a blank or broken frame (templates/join/_video_unavailable.html).
//
// The frame's `load` event proves nothing: Chromium fires it for its own error page too (blocked, offline,
// refused), and it may fire before this script runs. So the engine's origin is probed with a request of our
// own, which fails outright when the engine cannot be reached (config/middleware.py lets it through
// connect-src); and when neither the frame nor the probe answers within data-load-timeout-ms (a provider
// that hangs), the page says so too.
(function () {
  "use strict";
  const frame = document.getElementById("video-room");
  const notice = document.getElementById("video-unavailable");
  if (!frame || !notice) {
    return;
  }
  const timeoutMs = Number(frame.dataset.loadTimeoutMs) || 15000;
  let answered = false;

  function unavailable() {
    notice.hidden = false;
  }

  function reachable() {
    answered = true;
    window.clearTimeout(timer);
  }

  const timer = window.setTimeout(() => {
    if (!answered) {
      unavailable();
    }
  }, timeoutMs);
  frame.addEventListener("load", reachable);

  // An opaque (no-cors) answer is enough: any answer at all means the engine can be reached. The probe
  // carries no cookie and no referrer, and asks the origin only, so the room's address is not sent twice.
  fetch(new URL(frame.src).origin + "/", {
    mode: "no-cors",
    credentials: "omit",
    cache: "no-store",
    referrerPolicy: "no-referrer",
  }).then(reachable, () => {
    answered = true;
    window.clearTimeout(timer);
    unavailable();
  });

  notice.querySelectorAll("[data-video-reload]").forEach((button) => {
    button.addEventListener("click", () => window.location.reload());
  });
})();
