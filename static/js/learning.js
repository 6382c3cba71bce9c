// The lesson player's picture book: arrow keys and swipes turn the pages by pressing the page buttons
// (which record the page as seen through htmx). No inline scripts: the CSP allows only 'self'.
(function () {
  "use strict";
  function press(which) {
    var button = document.querySelector("#book [data-book-" + which + "]");
    if (button) { button.click(); }
  }
  document.addEventListener("keydown", function (event) {
    if (!document.getElementById("book") || event.altKey || event.ctrlKey || event.metaKey) { return; }
    var tag = (event.target && event.target.tagName) || "";
    if (tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT") { return; }
    if (event.key === "ArrowRight") { press("next"); event.preventDefault(); }
    if (event.key === "ArrowLeft") { press("prev"); event.preventDefault(); }
  });
  var startX = null, startY = null;
  document.addEventListener("touchstart", function (event) {
    var stage = event.target.closest && event.target.closest("[data-book-stage]");
    if (!stage || event.touches.length !== 1) { startX = null; return; }
    startX = event.touches[0].clientX; startY = event.touches[0].clientY;
  }, { passive: true });
  document.addEventListener("touchend", function (event) {
    if (startX === null) { return; }
    var dx = event.changedTouches[0].clientX - startX, dy = event.changedTouches[0].clientY - startY;
    startX = null;
    if (Math.abs(dx) > 50 && Math.abs(dx) > 1.5 * Math.abs(dy)) { press(dx < 0 ? "next" : "prev"); }
  }, { passive: true });
})();
