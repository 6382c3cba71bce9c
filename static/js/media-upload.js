// Resumable media uploader (no inline scripts: the CSP allows only 'self').
//
// Every [data-media-uploader] element becomes an uploader: the file goes up in chunks
// (POST create -> PUT chunks with Content-Range -> POST complete), each chunk retried with backoff, and
// an interrupted upload of the same file resumes from the server's offset (the upload id is kept in
// localStorage). When the server accepts the file it fires a bubbling `media:uploaded` CustomEvent with
// detail {id, status, statusUrl} and loads the processing-progress fragment below the form.
//
// Embedding (e.g. the course editor): load this script, put the fragment from url_for('media:uploader')
// in the page (htmx swaps are picked up), and listen for `media:uploaded`. Script API:
//   window.ShixunMedia.upload(element, file, {title, kind}) -> Promise<{id, status}>
(function () {
  "use strict";
  var MAX_TRIES = 6;

  function csrfToken() {
    var body = document.body;
    try { return JSON.parse(body.getAttribute("hx-headers") || "{}")["X-CSRF-Token"] || ""; } catch (e) { return ""; }
  }

  function request(method, url, body, headers, onProgress) {
    return new Promise(function (resolve, reject) {
      var xhr = new XMLHttpRequest();
      xhr.open(method, url);
      xhr.setRequestHeader("X-CSRF-Token", csrfToken());
      xhr.setRequestHeader("Accept", "application/json");
      Object.keys(headers || {}).forEach(function (k) { xhr.setRequestHeader(k, headers[k]); });
      if (onProgress && xhr.upload) {
        xhr.upload.onprogress = function (e) { if (e.lengthComputable) { onProgress(e.loaded); } };
      }
      xhr.onload = function () {
        var data = null;
        try { data = JSON.parse(xhr.responseText); } catch (e) { data = null; }
        if (xhr.status >= 200 && xhr.status < 300) { resolve(data); return; }
        var err = new Error((data && (data.detail || data.title)) || ("HTTP " + xhr.status));
        err.status = xhr.status; err.data = data;
        reject(err);
      };
      xhr.onerror = function () { var err = new Error("network"); err.status = 0; reject(err); };
      xhr.send(body);
    });
  }

  function sleep(ms) { return new Promise(function (r) { setTimeout(r, ms); }); }

  // Transient: network errors, 5xx, 408/429. A 4xx answer (too large, not a video...) is final.
  function transient(err) { return err.status === 0 || err.status >= 500 || err.status === 408 || err.status === 429; }

  async function withRetries(fn, ui) {
    for (var attempt = 1; ; attempt++) {
      try { return await fn(); } catch (err) {
        if (!transient(err) || attempt >= MAX_TRIES) { throw err; }
        ui.message(ui.root.dataset.msgRetrying, false);
        await sleep(Math.min(30000, 1000 * Math.pow(2, attempt - 1)));
      }
    }
  }

  function resumeKey(file) { return "shixun-media-upload:" + [file.name, file.size, file.lastModified].join(":"); }

  function ui(root) {
    var bar = root.querySelector("[data-media-bar]"), pct = root.querySelector("[data-media-percent]");
    var box = root.querySelector("[data-media-progress]"), msg = root.querySelector("[data-media-message]");
    return {
      root: root,
      progress: function (done, total) {
        var p = total ? Math.floor(done * 100 / total) : 0;
        if (box) { box.hidden = false; }
        if (bar) { bar.value = p; }
        if (pct) { pct.textContent = p + "%"; }
      },
      message: function (text, isError) {
        if (!msg) { return; }
        msg.textContent = text || "";
        msg.classList.toggle("is-error", !!isError);
      }
    };
  }

  async function upload(root, file, options) {
    options = options || {};
    var view = ui(root), maxBytes = parseInt(root.dataset.maxBytes || "0", 10);
    if (maxBytes && file.size > maxBytes) { throw Object.assign(new Error(root.dataset.msgTooLarge), { status: 413 }); }
    var key = resumeKey(file), session = null, stored = null;
    try { stored = window.localStorage.getItem(key); } catch (e) { stored = null; }
    if (stored) {
      try { session = await request("GET", root.dataset.createUrl + "/" + encodeURIComponent(stored)); } catch (e) { session = null; }
      if (session && session.status !== "open") { session = null; }
    }
    if (!session) {
      session = await withRetries(function () {
        return request("POST", root.dataset.createUrl, JSON.stringify({
          filename: file.name, size: file.size, title: options.title || "", kind: options.kind || root.dataset.kind || null
        }), { "Content-Type": "application/json" });
      }, view);
      try { window.localStorage.setItem(key, session.id); } catch (e) { /* private mode: no resume */ }
    }
    var chunk = session.chunk_size || parseInt(root.dataset.chunkBytes, 10) || 8388608;
    var offset = session.offset || 0, url = root.dataset.createUrl + "/" + encodeURIComponent(session.id);
    view.progress(offset, file.size);
    while (offset < file.size) {
      var end = Math.min(offset + chunk, file.size), start = offset;
      var result = await withRetries(async function () {
        try {
          return await request("PUT", url, file.slice(start, end), {
            "Content-Type": "application/octet-stream", "Content-Range": "bytes " + start + "-" + (end - 1) + "/" + file.size
          }, function (loaded) { view.progress(start + loaded, file.size); });
        } catch (err) {
          if (err.status === 409) { return await request("GET", url); }  // out of step: ask where to resume
          throw err;
        }
      }, view);
      offset = result.offset;
      view.progress(offset, file.size);
    }
    view.message(root.dataset.msgChecking, false);
    var accepted = await withRetries(function () { return request("POST", url + "/complete"); }, view);
    try { window.localStorage.removeItem(key); } catch (e) { /* ignore */ }
    return accepted;
  }

  function showStatus(root, id) {
    var target = root.querySelector("[data-media-result]");
    var statusUrl = (root.dataset.statusUrl || "").replace("__ID__", encodeURIComponent(id));
    if (target && statusUrl && window.htmx) {
      window.htmx.ajax("GET", statusUrl, { target: target, swap: "innerHTML" });
    }
    return statusUrl;
  }

  function start(root) {
    var input = root.querySelector("[data-media-file]"), title = root.querySelector("[data-media-title]");
    var button = root.querySelector("[data-media-start]"), view = ui(root);
    if (!input || !input.files || !input.files.length) { input && input.focus(); return; }
    button.disabled = true;
    view.message("", false);
    upload(root, input.files[0], { title: title ? title.value : "" }).then(function (accepted) {
      view.progress(1, 1);
      view.message(root.dataset.msgDone, false);
      var statusUrl = showStatus(root, accepted.id);
      root.dispatchEvent(new CustomEvent("media:uploaded", { bubbles: true, detail: { id: accepted.id, status: accepted.status, statusUrl: statusUrl } }));
      input.value = "";
      if (title) { title.value = ""; }
    }).catch(function (err) {
      view.message((err && err.message && err.message !== "network") ? err.message : root.dataset.msgFailed, true);
    }).then(function () { button.disabled = false; });
  }

  function init(scope) {
    (scope || document).querySelectorAll("[data-media-uploader]").forEach(function (root) {
      if (root.dataset.mediaReady) { return; }
      root.dataset.mediaReady = "1";
      var button = root.querySelector("[data-media-start]");
      if (button) { button.addEventListener("click", function () { start(root); }); }
    });
  }

  window.ShixunMedia = { upload: upload, init: init };
  document.addEventListener("DOMContentLoaded", function () { init(document); });
  document.addEventListener("htmx:afterSettle", function (e) { init(e.target); });
})();
