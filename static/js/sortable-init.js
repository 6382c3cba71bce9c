// Drag-to-reorder for the course editor (SortableJS, served locally). Each list (modules, the lessons
// of a module, the materials of a lesson) reorders within itself; the new order is posted with the
// CSRF header and the server answers with the re-rendered tree. The Move up / Move down buttons do
// the same for keyboard users. No inline scripts: the CSP allows only 'self'.
(function () {
  "use strict";

  function csrfToken() {
    try {
      return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRF-Token"] || "";
    } catch (e) {
      return "";
    }
  }

  function replaceTree(html) {
    var tree = document.getElementById("course-tree");
    if (!tree) { return; }
    var holder = document.createElement("div");
    holder.innerHTML = html;
    var fresh = holder.querySelector("#course-tree");
    if (!fresh) { window.location.reload(); return; }
    tree.replaceWith(fresh);
    if (window.htmx) { window.htmx.process(fresh); }
    init(fresh);
  }

  function postOrder(list) {
    var tree = document.getElementById("course-tree");
    var body = new URLSearchParams();
    body.append("scope", list.getAttribute("data-scope"));
    if (list.getAttribute("data-parent")) { body.append("parent_id", list.getAttribute("data-parent")); }
    Array.prototype.forEach.call(list.children, function (item) {
      if (item.getAttribute("data-id")) { body.append("ids", item.getAttribute("data-id")); }
    });
    tree.setAttribute("aria-busy", "true");
    fetch(tree.getAttribute("data-order-url"), {
      method: "POST",
      credentials: "same-origin",
      headers: {"X-CSRF-Token": csrfToken(), "HX-Request": "true", "HX-Target": "course-tree",
                "Content-Type": "application/x-www-form-urlencoded"},
      body: body.toString()
    }).then(function (response) {
      if (!response.ok) { throw new Error(String(response.status)); }
      return response.text();
    }).then(replaceTree).catch(function (err) {
      document.dispatchEvent(new CustomEvent("htmx:responseError", {detail: {xhr: {status: err.message}}}));
      // Show the order the server kept.
      fetch(tree.getAttribute("data-refresh-url"), {headers: {"HX-Request": "true"}, credentials: "same-origin"})
        .then(function (r) { return r.text(); }).then(replaceTree);
    });
  }

  function init(root) {
    if (!window.Sortable) { return; }
    root.querySelectorAll("[data-sortable]").forEach(function (list) {
      if (list.getAttribute("data-sortable-ready")) { return; }
      list.setAttribute("data-sortable-ready", "1");
      window.Sortable.create(list, {
        handle: ".au-handle",
        draggable: "> li[data-id]",
        animation: 150,
        ghostClass: "au-ghost",
        onEnd: function (event) {
          if (event.oldIndex !== event.newIndex) { postOrder(list); }
        }
      });
    });
  }

  // After a Move up / Move down swap, keep the keyboard focus on the button that was pressed. The id is
  // remembered per request (on its XMLHttpRequest): other htmx requests of the page, such as a video's
  // status poll, may start and finish while a move is under way and must neither take nor clear it.
  document.addEventListener("htmx:beforeRequest", function (event) {
    var active = document.activeElement;
    if (event.detail && event.detail.xhr && active && active.id) { event.detail.xhr.shixunFocusId = active.id; }
  });
  document.addEventListener("htmx:afterSwap", function (event) {
    var tree = document.getElementById("course-tree");
    if (!tree) { return; }
    init(tree);
    var focusId = event.detail && event.detail.xhr && event.detail.xhr.shixunFocusId;
    if (!focusId || !/^(up|down)-/.test(focusId)) { return; }
    var active = document.activeElement;
    if (active && active !== document.body && active.isConnected && active.id !== focusId) { return; }  // moved on since
    var target = document.getElementById(focusId);
    if (target && target.disabled) {
      // At the top or bottom now: move the focus to the other button of the pair.
      var other = focusId.indexOf("up-") === 0 ? "down-" + focusId.slice(3) : "up-" + focusId.slice(5);
      target = document.getElementById(other);
    }
    if (target) { target.focus(); }
  });

  document.addEventListener("DOMContentLoaded", function () {
    var tree = document.getElementById("course-tree");
    if (tree) { init(tree); }
  });
})();
