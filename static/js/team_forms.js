// The Team page's forms: "Also hosts sessions" is shown only for an admin, "Books for" only for a
// scheduler, and the host checkboxes only when the scheduler books for chosen hosts. Without this script
// every field shows, and the services ignore what does not apply to the chosen role.
(function () {
  "use strict";
  const role = document.getElementById("id_role");
  const adminHosts = document.getElementById("div_id_admin_hosts");
  const booksFor = document.getElementById("div_id_books_for");
  const hosts = document.getElementById("div_id_bookable_hosts");
  const newHost = document.getElementById("div_id_new_host");
  const cancelReason = document.getElementById("div_id_cancel_reason");

  function checked(name) {
    const input = document.querySelector(`input[name='${name}']:checked`);
    return input ? input.value : "";
  }

  function sync() {
    const chosenRole = role ? role.value : "scheduler";
    if (adminHosts) adminHosts.hidden = chosenRole !== "admin";
    if (booksFor) booksFor.hidden = chosenRole !== "scheduler";
    if (hosts) hosts.hidden = chosenRole !== "scheduler" || checked("books_for") !== "chosen";
    if (newHost) newHost.hidden = checked("upcoming") === "cancel";
    if (cancelReason) cancelReason.hidden = checked("upcoming") === "reassign";
  }

  if (role) role.addEventListener("change", sync);
  document
    .querySelectorAll("input[name='books_for'], input[name='upcoming']")
    .forEach((radio) => radio.addEventListener("change", sync));
  sync();
})();
