// Question editor: "Add an option" appends an empty option row (the form works without it: it always
// shows a spare row). No inline scripts: the CSP allows only 'self'.
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-add-option]");
    if (!button) { return; }
    var list = document.getElementById("option-list");
    if (!list || !list.lastElementChild) { return; }
    var row = list.lastElementChild.cloneNode(true);
    var index = list.children.length;
    row.querySelectorAll("input").forEach(function (input) {
      if (input.name === "opt_correct") {
        input.checked = false;
        input.value = String(index);
      } else {
        input.value = "";
      }
      if (input.name === "opt_text") { input.id = "opt-" + index; }
    });
    var label = row.querySelector("label.visually-hidden");
    if (label) { label.setAttribute("for", "opt-" + index); }
    list.appendChild(row);
    var text = row.querySelector("input[name=opt_text]");
    if (text) { text.focus(); }
  });
})();
