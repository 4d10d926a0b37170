// The Repeat part of the Schedule form: the "Ends" choice and its number or date are shown only once a
// repeat is chosen, and only the input that matches the chosen end.
(function () {
  "use strict";
  const repeat = document.getElementById("id_repeat");
  if (!repeat) return;
  const ends = document.getElementById("div_id_repeat_ends");
  const count = document.getElementById("div_id_repeat_count");
  const until = document.getElementById("div_id_repeat_until");

  function chosenEnd() {
    const checked = document.querySelector("input[name='repeat_ends']:checked");
    return checked ? checked.value : "count";
  }

  function sync() {
    const repeating = repeat.value !== "";
    ends.hidden = !repeating;
    count.hidden = !repeating || chosenEnd() !== "count";
    until.hidden = !repeating || chosenEnd() !== "until";
  }

  repeat.addEventListener("change", sync);
  document.querySelectorAll("input[name='repeat_ends']").forEach((radio) => radio.addEventListener("change", sync));
  sync();
})();
