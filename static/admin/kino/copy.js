// "Copy" buttons: <button class="copy" data-copy="ID"> copies the value of the field with
// that id, then says "Copied" for a moment.
(function () {
  "use strict";
  function copied(button) {
    const label = button.textContent;
    button.textContent = "Copied";
    setTimeout(function () { button.textContent = label; }, 1500);
  }
  document.addEventListener("click", function (event) {
    const button = event.target.closest("button.copy[data-copy]");
    if (!button) {
      return;
    }
    const field = document.getElementById(button.dataset.copy);
    const text = "value" in field ? field.value : field.textContent;
    if ("select" in field) {
      field.select();
    }
    const fallback = function () { document.execCommand("copy"); copied(button); };
    if (navigator.clipboard) {
      navigator.clipboard.writeText(text).then(function () { copied(button); }, fallback);
    } else {
      fallback();
    }
  });
})();
