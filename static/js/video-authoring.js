// The video part of the material editor (templates/courses/authoring/_video_asset.html).
// - Choosing a video shows its processing state: the media layer's status fragment, which replaces
//   itself every second until the video is ready ("Processing 42%"), then shows a preview.
// - A finished upload (media-upload.js fires `media:uploaded`) is added to the list and chosen.
// - A subtitle file picked from disk is read into the text box, where it can be edited before saving.
(function () {
  "use strict";

  function picker() { return document.querySelector("[data-video-picker]"); }

  function showStatus(root, id) {
    var box = document.querySelector("[data-video-status]");
    if (!box) { return; }
    box.innerHTML = "";
    if (!id || !window.htmx) { return; }
    var url = root.dataset.statusUrl.replace("__ID__", encodeURIComponent(id));
    window.htmx.ajax("GET", url, { target: box, swap: "innerHTML" });
  }

  function chosen(root) {
    var select = root.querySelector("[data-video-select]"), duration = root.querySelector("[data-video-duration]");
    var option = select.options[select.selectedIndex];
    var seconds = option ? parseFloat(option.dataset.duration || "") : NaN;
    if (duration) { duration.value = isFinite(seconds) && seconds > 0 ? Math.max(1, Math.round(seconds)) : ""; }
    showStatus(root, select.value);
  }

  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target.matches && target.matches("[data-video-select]")) {
      var root = target.closest("[data-video-picker]");
      if (root) { chosen(root); }
    }
    if (target.matches && target.matches("[data-vtt-file]") && target.files && target.files.length) {
      var box = document.querySelector(target.dataset.vttFile), reader = new FileReader();
      if (!box) { return; }
      reader.onload = function () { box.value = String(reader.result || ""); box.dispatchEvent(new Event("input", { bubbles: true })); };
      reader.readAsText(target.files[0], "utf-8");
    }
  });

  // The uploader would show the new video's processing below itself too: it shows next to the choice
  // instead (one self-polling fragment, one set of ids).
  function quietUploader() {
    document.querySelectorAll(".au-video-upload [data-media-result]").forEach(function (el) { el.removeAttribute("data-media-result"); });
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", quietUploader); } else { quietUploader(); }

  document.addEventListener("media:uploaded", function (event) {
    var root = picker(), detail = event.detail || {};
    if (!root || !detail.id) { return; }
    var select = root.querySelector("[data-video-select]");
    var option = Array.prototype.find.call(select.options, function (o) { return o.value === detail.id; });
    if (!option) {
      var title = event.target.querySelector && event.target.querySelector("[data-media-title]");
      option = new Option((title && title.value.trim() ? title.value.trim() + " · " : "") + root.dataset.msgNew, detail.id);
      select.add(option, 1);
    }
    select.value = detail.id;
    chosen(root);
    var status = document.querySelector("[data-video-status]");
    if (status) { status.scrollIntoView({ block: "center", behavior: "smooth" }); }
  });
})();
