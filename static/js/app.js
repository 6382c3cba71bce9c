// Small behaviours that htmx does not cover. No inline scripts: the CSP allows only 'self'.
(function () {
  "use strict";
  // A page restored from the browser's back-forward cache on a shared kiosk could show the previous
  // person's data: reload it from the server instead.
  window.addEventListener("pageshow", function (event) {
    if (event.persisted) { window.location.reload(); }
  });
  document.addEventListener("htmx:responseError", function (event) {
    var region = document.getElementById("flash");
    if (!region) { return; }
    var box = document.createElement("div");
    box.className = "flash flash-error";
    box.setAttribute("role", "alert");
    box.textContent = document.documentElement.lang.indexOf("zh") === 0
      ? "操作未成功（" + event.detail.xhr.status + "），请刷新页面后重试。"
      : "The action failed (" + event.detail.xhr.status + "). Please reload the page and try again.";
    region.replaceChildren(box);
  });
  document.addEventListener("click", function (event) {
    var target = event.target.closest("[data-confirm]");
    if (target && !window.confirm(target.getAttribute("data-confirm"))) {
      event.preventDefault();
      event.stopPropagation();
    }
  }, true);
})();
