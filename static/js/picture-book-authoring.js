// The picture-book part of the material editor (templates/courses/authoring/_picture_book_pages.html).
// - Pages reorder by dragging the ⠿ handle (SortableJS) or with the ↑/↓ buttons (the focus stays on
//   the pressed button); "Remove" drops a page. The form posts page_image/page_caption in list order.
// - Several files upload one after another through media-upload.js's script API (resumable chunks);
//   PDFs as kind picture_book. Each accepted file's pages come from the server (a PDF: one row per PDF
//   page) and are appended; while it is processed, the media layer's self-replacing progress fragment
//   shows in "Being processed", and once it reads "ready" the rows get their thumbnails.
// No inline scripts: the CSP allows only 'self'.
(function () {
  "use strict";

  function book() { return document.querySelector("[data-picture-book]"); }
  function list() { return document.querySelector("[data-pb-list]"); }

  function refreshEmpty() {
    var empty = document.querySelector("[data-pb-empty]"), l = list();
    if (empty && l) { empty.hidden = l.children.length > 0; }
  }

  function initSortable() {
    var l = list();
    if (!l || !window.Sortable || l.dataset.sortableReady) { return; }
    l.dataset.sortableReady = "1";
    window.Sortable.create(l, { handle: ".pb-handle", draggable: "> li", animation: 150, ghostClass: "au-ghost" });
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-pb-up], [data-pb-down], [data-pb-remove]");
    if (!button) { return; }
    var row = button.closest("li.pb-page");
    if (!row) { return; }
    if (button.hasAttribute("data-pb-remove")) {
      var next = row.nextElementSibling || row.previousElementSibling;
      row.remove();
      refreshEmpty();
      var focus = next && next.querySelector("[data-pb-remove]");
      (focus || document.getElementById("pb-upload") || document.getElementById("f-pages")).focus();
      return;
    }
    if (button.hasAttribute("data-pb-up") && row.previousElementSibling) {
      row.parentNode.insertBefore(row, row.previousElementSibling);
    } else if (button.hasAttribute("data-pb-down") && row.nextElementSibling) {
      row.parentNode.insertBefore(row.nextElementSibling, row);
    }
    button.focus();
  });

  // -- uploads ------------------------------------------------------------------------------------

  function fetchRows(assetId) {
    var root = book();
    var url = root.dataset.rowsUrl + "?asset_id=" + encodeURIComponent(assetId);
    return fetch(url, { credentials: "same-origin", headers: { "HX-Request": "true" } }).then(function (r) {
      if (!r.ok) { throw new Error("HTTP " + r.status); }
      return r.text();
    }).then(function (html) {
      var holder = document.createElement("div");
      holder.innerHTML = html;
      return holder.querySelector("[data-pb-new]");
    });
  }

  function watch(fresh) {
    var box = document.querySelector("[data-pb-processing]"), card = document.getElementById("pb-processing-card");
    Array.prototype.forEach.call(fresh.querySelectorAll("[data-pb-processing-for]"), function (item) {
      if (!box || box.querySelector('[data-pb-processing-for="' + item.dataset.pbProcessingFor + '"]')) { return; }
      box.appendChild(item);
      if (window.htmx) { window.htmx.process(item); }
    });
    if (card && box) { card.hidden = !box.children.length; }
  }

  function addAsset(assetId) {
    return fetchRows(assetId).then(function (fresh) {
      var l = list();
      if (!fresh || !l) { return; }
      Array.prototype.forEach.call(fresh.querySelectorAll("li.pb-page"), function (row) { l.appendChild(row); });
      refreshEmpty();
      watch(fresh);
    });
  }

  // A processed asset: give its rows their thumbnails and drop its progress fragment.
  function ready(assetId) {
    fetchRows(assetId).then(function (fresh) {
      if (!fresh) { return; }
      Array.prototype.forEach.call(fresh.querySelectorAll("li.pb-page"), function (row) {
        var thumb = row.querySelector("[data-pb-thumb]");
        document.querySelectorAll('li.pb-page[data-ref="' + row.dataset.ref + '"] [data-pb-thumb]').forEach(function (old) {
          old.replaceWith(thumb.cloneNode(true));
        });
      });
      var item = document.querySelector('[data-pb-processing-for="' + assetId + '"]'), card = document.getElementById("pb-processing-card");
      if (item) { item.remove(); }
      var box = document.querySelector("[data-pb-processing]");
      if (card && box) { card.hidden = !box.children.length; }
    });
  }

  document.addEventListener("htmx:afterSettle", function (event) {
    var el = event.target;
    if (!el || !el.closest || !el.closest("[data-pb-processing]")) { return; }
    var status = el.matches(".media-status") ? el : el.querySelector(".media-status");
    if (status && status.dataset.status === "ready") { ready(status.id.replace(/^media-status-/, "")); }
  });

  function isPdf(file) { return file.type === "application/pdf" || /\.pdf$/i.test(file.name); }

  async function uploadAll(root) {
    var input = root.querySelector("[data-pb-files]"), button = root.querySelector("[data-pb-start]");
    var line = root.querySelector("[data-pb-file]"), msg = root.querySelector("[data-media-message]");
    var files = Array.prototype.slice.call(input.files || []);
    if (!files.length) { input.focus(); return; }
    if (!window.ShixunMedia) { return; }
    button.disabled = true;
    msg.textContent = ""; msg.classList.remove("is-error");
    try {
      for (var i = 0; i < files.length; i++) {
        var file = files[i];
        line.textContent = root.dataset.msgFile.replace("__I__", i + 1).replace("__N__", files.length).replace("__NAME__", file.name);
        var accepted = await window.ShixunMedia.upload(root, file, { title: file.name.replace(/\.[^.]+$/, ""), kind: isPdf(file) ? "picture_book" : null });
        await addAsset(accepted.id);
        root.dispatchEvent(new CustomEvent("media:uploaded", { bubbles: true, detail: { id: accepted.id, status: accepted.status } }));
      }
      msg.textContent = root.dataset.msgDone;
      input.value = "";
    } catch (err) {
      msg.textContent = (err && err.message && err.message !== "network") ? err.message : root.dataset.msgFailed;
      msg.classList.add("is-error");
    } finally {
      button.disabled = false;
    }
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-pb-start]");
    if (button) { uploadAll(button.closest("[data-pb-uploader]")); }
  });

  function init() { initSortable(); refreshEmpty(); }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
  window.addEventListener("load", initSortable);  // Sortable.min.js is deferred too
})();
