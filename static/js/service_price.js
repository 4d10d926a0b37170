// The participant forms (Add and Edit participant, and each participant row of the Schedule form): picking
// a service fills that participant's "Payment required" and its currency in with the service's price, which
// stays editable. The prices come from the select's data-service-prices. The listener sits on the document,
// so the rows the Schedule form adds later (cloned from its <template>) are served too.
(function () {
  "use strict";
  document.addEventListener("change", (event) => {
    const select = event.target;
    if (!(select instanceof HTMLSelectElement) || !select.matches("select[data-service-prices]")) return;
    const price = JSON.parse(select.dataset.servicePrices)[select.value];
    if (!price) return;
    // The Schedule form has a row per participant: fill in this row's fields, not the form's first.
    const row = select.closest(".participant-form") || select.form;
    if (!row) return;
    const amount = row.querySelector("input[name$='payment_amount']");
    const currency = row.querySelector("select[name$='payment_currency']");
    if (amount) amount.value = price.amount;
    if (currency) currency.value = price.currency;
  });
})();
