// The Add and Edit participant pages: picking a service fills "Payment required" and its currency in with
// the service's price, which stays editable. The prices come from the select's data-service-prices.
(function () {
  "use strict";
  document.querySelectorAll("select[data-service-prices]").forEach((select) => {
    const form = select.form;
    if (!form) return;
    const prices = JSON.parse(select.dataset.servicePrices);
    const amount = form.querySelector("input[name$='payment_amount']");
    const currency = form.querySelector("select[name$='payment_currency']");
    select.addEventListener("change", () => {
      const price = prices[select.value];
      if (!price) return;
      if (amount) amount.value = price.amount;
      if (currency) currency.value = price.currency;
    });
  });
})();
