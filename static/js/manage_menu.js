// A dashboard row's Manage menu fetches its items when it opens (_session_manage_menu.html). When that
// fetch fails, the menu says so and offers the session page, whose Quick actions are the same actions.
(function () {
  "use strict";

  function showFailure(event) {
    const menu = event.detail && event.detail.target;
    if (!menu || !menu.classList || !menu.classList.contains("session-manage-items")) {
      return;
    }
    const item = document.createElement("li");
    const text = document.createElement("span");
    text.className = "dropdown-item-text small text-danger";
    text.setAttribute("role", "alert");
    text.textContent = "The actions could not be loaded. ";
    const link = document.createElement("a");
    link.href = menu.dataset.sessionUrl + "#quick-actions";
    link.textContent = "Open the session";
    text.appendChild(link);
    item.appendChild(text);
    menu.replaceChildren(item);
  }

  document.body.addEventListener("htmx:responseError", showFailure);
  document.body.addEventListener("htmx:sendError", showFailure);
})();
