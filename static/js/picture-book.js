// The lesson player's picture book in full screen (templates/courses/lesson.html). Turning a page
// replaces the whole player (htmx), so the element in full screen is the document itself and a class
// on <html> lays the book out over the page: it survives the swaps, and the new page shows in full
// screen too. Swipes and arrow keys stay with static/js/learning.js. No inline scripts (CSP 'self').
(function () {
  "use strict";
  var root = document.documentElement, CLASS = "is-book-fullscreen";

  function active() { return !!document.fullscreenElement && root.classList.contains(CLASS); }

  function label() {
    var button = document.querySelector("[data-book-fullscreen]");
    if (!button) { return; }
    button.hidden = !root.requestFullscreen;  // no Fullscreen API (older iOS): no button
    button.textContent = active() ? button.dataset.labelExit : button.dataset.labelEnter;
    button.setAttribute("aria-pressed", active() ? "true" : "false");
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-book-fullscreen]");
    if (!button) { return; }
    if (active()) { document.exitFullscreen(); return; }
    root.classList.add(CLASS);
    root.requestFullscreen().catch(function () { root.classList.remove(CLASS); label(); });
  });

  document.addEventListener("fullscreenchange", function () {
    if (!document.fullscreenElement) { root.classList.remove(CLASS); }
    label();
  });

  // Leaving the book (another item of the lesson) leaves full screen too.
  document.addEventListener("htmx:afterSettle", function () {
    if (active() && !document.getElementById("book")) { document.exitFullscreen(); }
    label();
  });
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", label); } else { label(); }
})();
