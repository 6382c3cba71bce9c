// The attempt page (templates/exams/take/attempt.html) and the notebook practice form.
// The server owns the clock: the countdown runs from the deadline it sent, corrected for this device's
// clock. Every answer is saved as it is given with PUT /api/v1/attempts/{id}/answers/{question} carrying
// a per-question sequence number; saves go through a queue kept in localStorage (keyed by attempt), sent
// in order, so answers given while offline are replayed when the connection returns. A save is shown as
// saved only when the server acknowledged it (after its commit).
//
// Every save this page sends carries its `seq` (the API takes saves without one as the newest, which would
// let an old queued answer overwrite a newer one). The seq is the time the answer was given, in tenths of
// a second of server time since the attempt started (at least one more than the last seq of that question
// known here, the server's included): an answer given later on another device (a phone, while the kiosk
// is offline) outranks one still queued here, whatever each device counted. When the server refuses a
// replayed save as stale, the page shows the answer that stands; queued saves the server has already
// overtaken are dropped when the page loads. Saving stops a few seconds before the
// deadline so it cannot race the final submit; at the deadline the page submits and shows the result.
(function () {
  "use strict";

  // ---- reading and writing an answer by question type -------------------------------------------
  function readResponse(section) {
    var type = section.getAttribute("data-type");
    var inputs = section.querySelectorAll("[name^='a-']");
    var i;
    if (type === "single_choice") {
      var picked = section.querySelector("input:checked");
      return picked ? picked.value : null;
    }
    if (type === "true_false") {
      var tf = section.querySelector("input:checked");
      return tf ? tf.value === "true" : null;
    }
    if (type === "multiple_choice") {
      var ids = [];
      section.querySelectorAll("input:checked").forEach(function (el) { ids.push(el.value); });
      return ids.length ? ids : null;
    }
    if (type === "fill_blank") {
      var texts = [];
      for (i = 0; i < inputs.length; i++) { texts.push(inputs[i].value); }
      return texts.some(function (t) { return t.trim() !== ""; }) ? texts : null;
    }
    if (type === "short_answer") {
      return inputs[0].value.trim() === "" ? null : inputs[0].value;
    }
    if (type === "numerical") {
      var raw = inputs[0].value.trim();
      return raw === "" ? null : raw;
    }
    if (type === "ordering") {
      var list = section.querySelector(".xq-order");
      if (list.getAttribute("data-touched") !== "true") { return null; }
      return Array.prototype.map.call(list.children, function (li) { return li.getAttribute("data-id"); });
    }
    if (type === "matching") {
      var pairs = {};
      var any = false;
      for (i = 0; i < inputs.length; i++) {
        if (inputs[i].value) { pairs[inputs[i].getAttribute("data-left")] = inputs[i].value; any = true; }
      }
      return any ? pairs : null;
    }
    return null;
  }

  function writeResponse(section, response) {
    var type = section.getAttribute("data-type");
    var inputs = section.querySelectorAll("[name^='a-']");
    var i;
    if (type === "single_choice" || type === "true_false" || type === "multiple_choice") {
      var wanted = Array.isArray(response) ? response.map(String) : [String(response)];
      for (i = 0; i < inputs.length; i++) { inputs[i].checked = response !== null && wanted.indexOf(inputs[i].value) >= 0; }
    } else if (type === "fill_blank") {
      for (i = 0; i < inputs.length; i++) { inputs[i].value = (response && response[i]) || ""; }
    } else if (type === "short_answer" || type === "numerical") {
      inputs[0].value = response === null ? "" : String(response);
    } else if (type === "matching") {
      for (i = 0; i < inputs.length; i++) { inputs[i].value = (response && response[inputs[i].getAttribute("data-left")]) || ""; }
    } else if (type === "ordering" && Array.isArray(response)) {
      var list = section.querySelector(".xq-order");
      response.forEach(function (id) {
        var li = list.querySelector("[data-id='" + id + "']");
        if (li) { list.appendChild(li); }
      });
      list.setAttribute("data-touched", "true");
    }
  }

  function wireOrdering(root, onChange) {
    root.addEventListener("click", function (event) {
      var button = event.target.closest(".xq-up, .xq-down");
      if (!button) { return; }
      var li = button.closest("li");
      var list = li.parentElement;
      if (button.classList.contains("xq-up") && li.previousElementSibling) {
        list.insertBefore(li, li.previousElementSibling);
      } else if (button.classList.contains("xq-down") && li.nextElementSibling) {
        list.insertBefore(li.nextElementSibling, li);
      } else {
        return;
      }
      list.setAttribute("data-touched", "true");
      button.focus();
      onChange(button.closest(".xq"));
    });
  }

  // ---- the notebook practice form: serialise the answer into its hidden field -----------------
  var practice = document.getElementById("practice-form");
  if (practice) {
    wireOrdering(practice, function () {});
    practice.addEventListener("submit", function () {
      var section = practice.querySelector(".xq");
      practice.querySelector("input[name='response']").value = JSON.stringify(readResponse(section));
    });
  }

  var root = document.getElementById("exam");
  if (!root) { return; }

  // ---- state ---------------------------------------------------------------------------------
  var attemptId = root.getAttribute("data-attempt");
  var storeKey = "shixun-exam-" + attemptId;
  var csrf = (function () {
    try { return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRF-Token"] || ""; } catch (e) { return ""; }
  })();
  var msg = function (name, n) { return (root.getAttribute("data-msg-" + name) || "").replace("%(n)s", String(n)); };
  var sections = Array.prototype.slice.call(root.querySelectorAll(".xq"));
  var byKey = {};
  sections.forEach(function (s) { byKey[s.getAttribute("data-key")] = s; });

  function load() {
    try { return JSON.parse(window.localStorage.getItem(storeKey) || "{}"); } catch (e) { return {}; }
  }
  var MAX_SEQ = 2147483647;  // AnswerIn.seq's bound
  var startedAt = Date.parse(root.getAttribute("data-started-at"));
  var skew = Date.parse(root.getAttribute("data-server-now")) - Date.now();  // server time - device time
  var stored = load();
  var queue = Array.isArray(stored.queue) ? stored.queue : [];  // [{key, response, seq}] in the order given
  var seqs = stored.seqs || {};
  var serverSeqs = {};
  sections.forEach(function (s) {
    var key = s.getAttribute("data-key");
    serverSeqs[key] = parseInt(s.getAttribute("data-seq"), 10) || 0;
    seqs[key] = Math.max(seqs[key] || 0, serverSeqs[key]);
  });
  function validSeq(seq) { return typeof seq === "number" && seq >= 1 && seq <= MAX_SEQ && Math.floor(seq) === seq; }
  function persist() {
    try { window.localStorage.setItem(storeKey, JSON.stringify({ queue: queue, seqs: seqs })); } catch (e) { /* full or private */ }
  }
  // Answers still waiting from before a reload are shown again and sent, unless the server already has
  // that answer or a newer one (the page shows the server's then) or they carry no usable seq.
  queue = queue.filter(function (item) {
    return item && byKey[item.key] && validSeq(item.seq) && item.seq > serverSeqs[item.key];
  });
  persist();
  queue.forEach(function (item) { writeResponse(byKey[item.key], item.response); });

  function nextSeq(key) {
    var now = isNaN(startedAt) ? 0 : Math.floor((Date.now() + skew - startedAt) / 100);
    seqs[key] = Math.min(MAX_SEQ, Math.max((seqs[key] || 0) + 1, now));
    return seqs[key];
  }

  var frozen = false;     // within the last seconds, or closed: no more saves
  var sending = false;
  var offline = !navigator.onLine;
  var retryTimer = null;

  function setState(section, state, text) {
    var el = section.querySelector(".xq-state");
    el.setAttribute("data-state", state);
    el.textContent = text;
    var nav = root.querySelector(".xm-nav-btn[data-goto='" + section.getAttribute("data-key") + "']");
    if (nav) {
      nav.classList.toggle("is-answered", readResponse(section) !== null);
      nav.classList.toggle("is-queued", state === "queued" || state === "saving");
      nav.classList.toggle("is-error", state === "error");
    }
  }
  function showNet() {
    var el = document.getElementById("net-state");
    if (frozen) { return; }
    if (offline) {
      el.setAttribute("data-state", "offline");
      el.textContent = msg("offline", queue.length);
    } else if (queue.length) {
      el.setAttribute("data-state", "pending");
      el.textContent = msg("pending", queue.length);
    } else {
      el.setAttribute("data-state", "online");
      el.textContent = msg("online");
    }
  }

  // ---- saving ----------------------------------------------------------------------------------
  function give(section) {
    if (frozen) { return; }
    var key = section.getAttribute("data-key");
    var seq = nextSeq(key);
    // A newer answer supersedes one still waiting for the same question (never the one in flight).
    queue = queue.filter(function (item, index) { return item.key !== key || (sending && index === 0); });
    queue.push({ key: key, response: readResponse(section), seq: seq });
    persist();
    setState(section, offline ? "queued" : "saving", offline ? msg("queued") : msg("saving"));
    showNet();
    flush();
  }

  function problemType(response) {
    return response.json().then(function (body) { return body.type || ""; }, function () { return ""; });
  }

  function flush() {
    if (sending || !queue.length || frozen) { return Promise.resolve(); }
    sending = true;
    var item = queue[0];
    var section = byKey[item.key];
    var url = root.getAttribute("data-save-url").replace("KEY", encodeURIComponent(item.key));
    return fetch(url, {
      method: "PUT", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify({ response: item.response, seq: item.seq })
    }).then(function (response) {
      if (response.ok) {
        offline = false;
        done(item);
        if (!queue.some(function (q) { return q.key === item.key; })) { setState(section, "saved", msg("saved")); }
        return;
      }
      if (response.status === 409) {
        return problemType(response).then(function (type) {
          done(item);
          if (type.indexOf("stale-save") >= 0) {
            setState(section, "saved", msg("newer"));
            showStanding(item.key);
          } else {
            closed();
          }
        });
      }
      if (response.status === 422 || response.status === 404) {
        done(item);
        setState(section, "error", msg("error"));
        return;
      }
      if (response.status === 401 || response.status === 403) {
        setState(section, "queued", msg("signin"));
        throw new Error("signed out");
      }
      throw new Error("HTTP " + response.status);
    }).catch(function () {
      offline = true;
      queue.forEach(function (q) { if (byKey[q.key]) { setState(byKey[q.key], "queued", msg("queued")); } });
      scheduleRetry();
    }).then(function () {
      sending = false;
      showNet();
      if (queue.length && !offline) { return flush(); }
    });
  }

  function done(item) {
    queue = queue.filter(function (q) { return q !== item; });
    persist();
  }

  // A replayed save was stale: show the answer that stands on the server (given on another device), and
  // count on from its seq, unless this page has a newer answer of its own waiting.
  function showStanding(key) {
    fetch(root.getAttribute("data-attempt-url"), { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (body) {
        if (!body || !byKey[key] || queue.some(function (q) { return q.key === key; })) { return; }
        var standing = body.answers && Object.prototype.hasOwnProperty.call(body.answers, key) ? body.answers[key] : null;
        writeResponse(byKey[key], standing);
        seqs[key] = Math.max(seqs[key] || 0, (body.seqs && body.seqs[key]) || 0);
        persist();
        setState(byKey[key], "saved", msg("newer"));
      }, function () { /* offline again: the message says a newer answer is saved */ });
  }

  function scheduleRetry() {
    if (retryTimer) { return; }
    retryTimer = window.setTimeout(function () {
      retryTimer = null;
      offline = false;
      flush();
    }, 5000);
  }

  window.addEventListener("online", function () { offline = false; showNet(); flush(); });
  window.addEventListener("offline", function () { offline = true; showNet(); });

  var typingTimers = {};
  root.addEventListener("change", function (event) {
    var section = event.target.closest(".xq");
    if (section) { window.clearTimeout(typingTimers[section.id]); give(section); }
  });
  root.addEventListener("input", function (event) {
    var section = event.target.closest(".xq");
    if (!section || event.target.tagName === "SELECT" || event.target.type === "radio" || event.target.type === "checkbox") { return; }
    window.clearTimeout(typingTimers[section.id]);
    typingTimers[section.id] = window.setTimeout(function () { give(section); }, 800);
  });
  wireOrdering(root, give);
  document.getElementById("exam-form").addEventListener("submit", function (event) { event.preventDefault(); });

  // ---- one question per screen -------------------------------------------------------------
  var current = 0;
  function show(index) {
    current = Math.max(0, Math.min(sections.length - 1, index));
    sections.forEach(function (s, i) { s.hidden = i !== current; });
    root.querySelectorAll(".xm-nav-btn").forEach(function (b, i) {
      if (i === current) { b.setAttribute("aria-current", "step"); } else { b.removeAttribute("aria-current"); }
    });
    document.getElementById("position").textContent = (current + 1) + " / " + sections.length;
    document.getElementById("prev-question").disabled = current === 0;
    document.getElementById("next-question").disabled = current === sections.length - 1;
  }
  root.querySelector(".xm-nav").addEventListener("click", function (event) {
    var button = event.target.closest("[data-goto]");
    if (button) { show(sections.indexOf(byKey[button.getAttribute("data-goto")])); }
  });
  document.getElementById("prev-question").addEventListener("click", function () { show(current - 1); });
  document.getElementById("next-question").addEventListener("click", function () { show(current + 1); });
  show(0);

  // ---- the clock -----------------------------------------------------------------------------
  var deadline = root.getAttribute("data-deadline") ? Date.parse(root.getAttribute("data-deadline")) : null;
  var stopBefore = (parseInt(root.getAttribute("data-stop-before"), 10) || 5) * 1000;
  var clock = document.getElementById("countdown");
  var submitting = false;

  function remaining() { return deadline === null ? null : deadline - (Date.now() + skew); }
  function tick() {
    var left = remaining();
    if (left === null) { return; }
    var s = Math.max(0, Math.ceil(left / 1000));
    var h = Math.floor(s / 3600);
    var text = (h ? h + ":" : "") + String(Math.floor(s / 60) % 60).padStart(2, "0") + ":" + String(s % 60).padStart(2, "0");
    clock.textContent = text;
    clock.parentElement.classList.toggle("is-low", s <= 300);
    if (left <= stopBefore && !frozen) { freeze(msg("closing")); }
    if (left <= 0 && !submitting) { submit(); }
  }
  if (deadline !== null) { tick(); window.setInterval(tick, 250); }

  function freeze(text) {
    frozen = true;
    root.querySelectorAll("#exam-form input, #exam-form select, #exam-form textarea, #exam-form button").forEach(function (el) { el.disabled = true; });
    var net = document.getElementById("net-state");
    net.setAttribute("data-state", "closing");
    net.textContent = text;
  }
  function forget() {
    // Nothing of this attempt stays on a shared kiosk once it is over.
    queue = [];
    try { window.localStorage.removeItem(storeKey); } catch (e) { /* private mode */ }
  }
  function closed() {
    freeze(msg("closed"));
    forget();
    window.location.assign(root.getAttribute("data-result-url"));
  }

  // ---- a light poll while the trainee is active: closed elsewhere? and keep a kiosk session alive ----
  var lastActivity = Date.now();
  ["pointerdown", "keydown", "touchstart", "scroll"].forEach(function (name) {
    window.addEventListener(name, function () { lastActivity = Date.now(); }, { passive: true });
  });
  window.setInterval(function () {
    if (frozen || offline || Date.now() - lastActivity > 180000) { return; }
    fetch(root.getAttribute("data-status-url"), { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (body) {
        if (!body) { return; }
        skew = Date.parse(body.server_now) - Date.now();
        if (body.status !== "in_progress") { closed(); }
      }, function () { /* offline: the save queue reports it */ });
  }, 30000);

  // ---- submit ----------------------------------------------------------------------------------
  function waitForQueue() {
    return new Promise(function (resolve) {
      var started = Date.now();
      (function check() {
        if (!queue.length || frozen || Date.now() - started > 8000) { resolve(); return; }
        flush();
        window.setTimeout(check, 200);
      })();
    });
  }
  function submit() {
    if (submitting) { return; }
    submitting = true;
    var confirmButton = document.getElementById("submit-confirm");
    confirmButton.disabled = true;
    waitForQueue().then(function () {
      return fetch(root.getAttribute("data-submit-url"), {
        method: "POST", credentials: "same-origin", headers: { "Accept": "application/json", "X-CSRF-Token": csrf }
      });
    }).then(function (response) {
      if (!response.ok && response.status !== 404) { throw new Error("HTTP " + response.status); }
      frozen = true;
      forget();
      window.location.assign(root.getAttribute("data-result-url"));
    }).catch(function () {
      submitting = false;
      confirmButton.disabled = false;
      var net = document.getElementById("net-state");
      net.setAttribute("data-state", "offline");
      net.textContent = msg("submit-failed");
      if (remaining() !== null && remaining() <= 0) { window.setTimeout(submit, 3000); }
    });
  }

  var dialog = document.getElementById("submit-dialog");
  document.getElementById("submit-open").addEventListener("click", function () {
    var open = sections.filter(function (s) { return readResponse(s) === null; }).length;
    var text = document.getElementById("submit-dialog-text");
    text.textContent = open ? text.getAttribute("data-template").replace("%(n)s", String(open)) : "";
    if (typeof dialog.showModal === "function") { dialog.showModal(); } else { dialog.setAttribute("open", ""); }
  });
  document.getElementById("submit-cancel").addEventListener("click", function () { dialog.close(); });
  document.getElementById("submit-confirm").addEventListener("click", function () { submit(); });

  showNet();
  flush();
})();
