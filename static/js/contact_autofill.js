// Contact autofill for the participant forms: typing at least two letters of a name lists the
// organisation's matching contacts; picking one fills the invite method, email, phone, time zone and the
// hidden contact id. Typing in the name again unlinks the contact (the service then matches or creates one).
//
// Any element with data-contact-autofill="<search URL>" is a participant form. Its fields are found by name,
// with or without a formset prefix ("email" or "participants-0-email"), and the listeners sit on the
// document, so rows the Schedule form adds later get the autofill too. Contact details are written with
// textContent only: they are typed by people and never treated as HTML.
(function () {
  "use strict";
  if (window.contactAutofillReady) return;
  window.contactAutofillReady = true;

  const MIN_LENGTH = 2;
  const DELAY_MS = 200;
  const states = new WeakMap();
  let lists = 0;

  function field(scope, key) {
    return scope.querySelector(`[name='${key}'], [name$='-${key}']`);
  }

  function stateFor(target) {
    if (!(target instanceof HTMLInputElement)) return null;
    const scope = target.closest("[data-contact-autofill]");
    if (!scope || field(scope, "name") !== target) return null;
    let state = states.get(target);
    if (!state) {
      lists += 1;
      const list = document.createElement("div");
      list.id = `contact-suggestions-${lists}`;
      list.className = "contact-suggestions list-group position-absolute start-0 end-0 shadow z-3";
      list.setAttribute("role", "listbox");
      list.setAttribute("aria-label", "Matching contacts");
      list.hidden = true;
      target.insertAdjacentElement("afterend", list);
      target.parentElement.classList.add("position-relative");
      target.setAttribute("autocomplete", "off");
      target.setAttribute("role", "combobox");
      target.setAttribute("aria-autocomplete", "list");
      target.setAttribute("aria-controls", list.id);
      target.setAttribute("aria-expanded", "false");
      state = { input: target, scope, list, url: scope.dataset.contactAutofill, results: [], active: -1 };
      // Keep the focus in the name field while a suggestion is clicked, so the list is not closed first.
      list.addEventListener("mousedown", (event) => event.preventDefault());
      list.addEventListener("click", (event) => {
        const option = event.target.closest("[role='option']");
        if (option) pick(state, state.results[Number(option.dataset.index)]);
      });
      states.set(target, state);
    }
    return state;
  }

  function close(state) {
    state.list.hidden = true;
    state.list.replaceChildren();
    state.results = [];
    state.active = -1;
    state.input.setAttribute("aria-expanded", "false");
    state.input.removeAttribute("aria-activedescendant");
  }

  function render(state, results) {
    close(state);
    if (!results.length) return;
    state.results = results;
    results.forEach((contact, index) => {
      const option = document.createElement("button");
      option.type = "button";
      option.tabIndex = -1;
      option.id = `${state.list.id}-${index}`;
      option.className = "list-group-item list-group-item-action py-1";
      option.setAttribute("role", "option");
      option.setAttribute("aria-selected", "false");
      option.dataset.index = String(index);
      const name = document.createElement("div");
      name.className = "fw-semibold";
      name.textContent = contact.name;
      const details = document.createElement("div");
      details.className = "small text-body-secondary";
      details.textContent = [contact.email, contact.phone, contact.time_zone].filter(Boolean).join(" · ");
      option.append(name, details);
      state.list.appendChild(option);
    });
    state.list.hidden = false;
    state.input.setAttribute("aria-expanded", "true");
  }

  function highlight(state, step) {
    const options = state.list.querySelectorAll("[role='option']");
    if (!options.length) return;
    const start = state.active < 0 && step < 0 ? options.length : state.active;
    state.active = (start + step + options.length) % options.length;
    options.forEach((option, i) => {
      option.classList.toggle("active", i === state.active);
      option.setAttribute("aria-selected", String(i === state.active));
    });
    state.input.setAttribute("aria-activedescendant", options[state.active].id);
  }

  function setValue(element, value) {
    if (!element) return;
    if (element instanceof HTMLSelectElement && !Array.from(element.options).some((o) => o.value === value)) {
      return;
    }
    element.value = value;
    element.dispatchEvent(new Event("change", { bubbles: true }));
  }

  function pick(state, contact) {
    if (!contact) return;
    const scope = state.scope;
    setValue(field(scope, "name"), contact.name);
    setValue(field(scope, "invite_method"), contact.preferred_method);
    setValue(field(scope, "email"), contact.email);
    setValue(field(scope, "phone"), contact.phone);
    setValue(field(scope, "time_zone"), contact.time_zone);
    setValue(field(scope, "contact_id"), String(contact.id));
    close(state);
  }

  async function search(state) {
    const query = state.input.value.trim();
    if (state.controller) state.controller.abort();
    if (query.length < MIN_LENGTH) {
      close(state);
      return;
    }
    state.controller = new AbortController();
    const url = `${state.url}?q=${encodeURIComponent(query)}`;
    try {
      const response = await fetch(url, {
        headers: { Accept: "application/json" },
        credentials: "same-origin",
        signal: state.controller.signal,
      });
      if (!response.ok) return;
      const data = await response.json();
      // An answer that arrives after the name changed again is about another name.
      if (state.input.value.trim() === query && document.activeElement === state.input) {
        render(state, data.results || []);
      }
    } catch (error) {
      if (error.name !== "AbortError") close(state);
    }
  }

  document.addEventListener("input", (event) => {
    const state = stateFor(event.target);
    if (!state) return;
    const contactId = field(state.scope, "contact_id");
    if (contactId) contactId.value = "";
    clearTimeout(state.timer);
    state.timer = setTimeout(() => search(state), DELAY_MS);
  });

  document.addEventListener("focusin", (event) => stateFor(event.target));

  // The Schedule page loads this script after the page (participants.js adds it), so someone may already
  // be typing a name: search for what is there.
  const typing = stateFor(document.activeElement);
  if (typing) search(typing);

  document.addEventListener("focusout", (event) => {
    const state = states.get(event.target);
    if (state) {
      clearTimeout(state.timer);
      close(state);
    }
  });

  document.addEventListener("keydown", (event) => {
    const state = states.get(event.target);
    if (!state) return;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      if (state.list.hidden) return;
      event.preventDefault();
      highlight(state, event.key === "ArrowDown" ? 1 : -1);
    } else if (event.key === "Enter" && !state.list.hidden && state.active >= 0) {
      // Enter picks the highlighted contact instead of submitting the form.
      event.preventDefault();
      pick(state, state.results[state.active]);
    } else if (event.key === "Escape" && !state.list.hidden) {
      event.preventDefault();
      close(state);
    }
  });
})();
