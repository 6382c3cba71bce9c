// The lesson player's video (templates/courses/_video_player.html). No inline scripts: the CSP allows only 'self'.
//
// Sources: hls.js (static/vendor, loaded only when a video is on the page) where Media Source Extensions
// exist, else the browser's own HLS (Safari, iOS), else the MP4 fallback. Big touch controls replace the
// native ones; playback rate up to 2x (the server's completion rule assumes no faster); subtitles from
// the <track> elements; resume from the position the server remembers.
//
// Completion is the server's decision (app/courses/video.py): every few seconds, and on pause, end and
// leaving the page, a heartbeat reports the stretches of media time actually played, [start, end], and
// the position (the first one a second after playback starts: the server's wall clock starts there). A
// seek closes the current stretch, so jumping ahead counts for nothing. Heartbeats that
// fail for network reasons are merged into the next one; the server's merge makes repeats harmless.
(function () {
  "use strict";
  var MAX_RATE = 2;
  var NO_SEEK_TOLERANCE = 2;  // as TOLERANCE_S on the server
  var hlsScript = null;
  var players = [];

  function csrfToken() {
    try { return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRF-Token"] || ""; } catch (e) { return ""; }
  }

  function randomId() {
    var bytes = new Uint8Array(12);
    (window.crypto || window.msCrypto).getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  function loadHls(src) {
    if (window.Hls) { return Promise.resolve(window.Hls); }
    if (!hlsScript) {
      hlsScript = new Promise(function (resolve, reject) {
        var s = document.createElement("script");
        s.src = src;
        s.onload = function () { resolve(window.Hls); };
        s.onerror = function () { hlsScript = null; reject(new Error("hls.js failed to load")); };
        document.head.appendChild(s);
      });
    }
    return hlsScript;
  }

  function clock(t) {
    t = Math.max(0, Math.floor(t || 0));
    var h = Math.floor(t / 3600), m = Math.floor((t % 3600) / 60), s = t % 60;
    return (h ? h + ":" + ("0" + m).slice(-2) : m) + ":" + ("0" + s).slice(-2);
  }

  function round2(x) { return Math.round(x * 100) / 100; }

  // Sorted, disjoint intervals (the server merges too; this keeps a retried batch small).
  function merge(list) {
    var sorted = list.filter(function (iv) { return iv[1] > iv[0]; }).sort(function (a, b) { return a[0] - b[0]; });
    var out = [];
    sorted.forEach(function (iv) {
      var lastIv = out[out.length - 1];
      if (lastIv && iv[0] <= lastIv[1]) { lastIv[1] = Math.max(lastIv[1], iv[1]); } else { out.push([iv[0], iv[1]]); }
    });
    return out;
  }

  function Player(root) {
    this.root = root;
    this.video = root.querySelector("video");
    this.data = root.dataset;
    this.session = randomId();
    this.seq = 0;
    this.pending = [];
    this.segStart = null;
    this.last = 0;
    this.started = false;
    this.completed = root.dataset.completed === "true";
    this.noSeek = root.dataset.noSeek === "true";
    this.furthest = parseFloat(root.dataset.furthest) || 0;
    this.duration = parseFloat(root.dataset.duration) || 0;
    this.resume = parseFloat(root.dataset.resume) || 0;
    this.hls = null;
    this.timer = null;
    this.inflight = Promise.resolve();
    this.dragging = false;
    this.init();
  }

  Player.prototype.init = function () {
    var self = this, v = this.video, root = this.root;
    v.removeAttribute("controls");
    v.setAttribute("preload", "metadata");
    root.classList.add("vp-enhanced");
    this.controls = root.querySelector("[data-vp-controls]");
    this.controls.hidden = false;
    this.bigPlay = root.querySelector("[data-vp-big-play]");
    this.bigPlay.hidden = false;
    this.seekBar = root.querySelector("[data-vp-seek]");
    this.timeText = root.querySelector("[data-vp-time]");
    this.playButton = root.querySelector("[data-vp-play]");
    this.rateButton = root.querySelector("[data-vp-rate]");
    this.ccButton = root.querySelector("[data-vp-cc]");
    this.watchedBar = root.querySelector("#video-watched");
    this.watchedText = root.querySelector("#video-watched-text");
    this.attachSource();

    var on = function (el, type, fn) { if (el) { el.addEventListener(type, fn); } };
    on(v, "loadedmetadata", function () {
      if (isFinite(v.duration) && v.duration > 0) { self.duration = self.duration || v.duration; self.seekBar.max = v.duration; }
      if (self.resume > 0 && !self.hls && v.currentTime < 1) { self.last = self.resume; v.currentTime = self.resume; }
      self.render();
    });
    on(v, "playing", function () {
      if (self.segStart === null && !v.seeking) { self.open(v.currentTime); }
      if (!self.started) {
        self.started = true;
        self.send("play");
        var hint = root.querySelector("#video-resume");
        if (hint) { hint.hidden = true; }
      }
      self.startTimer();
      self.render();
    });
    on(v, "timeupdate", function () { self.onTime(); });
    on(v, "seeking", function () { self.onSeeking(); });
    on(v, "seeked", function () {
      self.last = v.currentTime;
      if (!v.paused) { self.open(v.currentTime); }
      self.render();
    });
    on(v, "pause", function () {
      if (!v.seeking) { self.close(self.sane(v.currentTime) ? v.currentTime : self.last); }
      self.stopTimer();
      self.send("pause");
      self.render();
    });
    on(v, "ended", function () {
      self.close(self.sane(v.currentTime) ? v.currentTime : self.last);
      self.stopTimer();
      self.send("ended").then(function () { if (self.completed) { self.reload(); } });
      self.render();
    });
    on(v, "ratechange", function () {
      if (v.playbackRate > MAX_RATE) { v.playbackRate = MAX_RATE; }
      self.render();
    });
    on(v, "click", function () { self.toggle(); });
    on(this.bigPlay, "click", function () { self.toggle(); });
    on(this.playButton, "click", function () { self.toggle(); });
    on(root.querySelector("[data-vp-back]"), "click", function () { self.seekTo(v.currentTime - 10); });
    on(root.querySelector("[data-vp-forward]"), "click", function () { self.seekTo(v.currentTime + 10); });
    on(this.rateButton, "click", function () { self.nextRate(); });
    on(this.ccButton, "click", function () { self.toggleSubtitles(); });
    on(root.querySelector("[data-vp-full]"), "click", function () { self.fullscreen(); });
    on(this.seekBar, "input", function () { self.dragging = true; self.timeText.textContent = clock(self.seekBar.value) + " / " + clock(self.duration); });
    on(this.seekBar, "change", function () { self.dragging = false; self.seekTo(parseFloat(self.seekBar.value)); });
    on(root, "keydown", function (e) { self.onKey(e); });
    this.render();
  };

  Player.prototype.attachSource = function () {
    var self = this, v = this.video, hlsSrc = v.dataset.hlsSrc, mse = window.MediaSource || window.ManagedMediaSource;
    if (hlsSrc && mse) {
      loadHls(this.data.hlsScript).then(function (Hls) {
        if (!Hls || !Hls.isSupported()) { self.nativeOrMp4(); return; }
        var hls = new Hls({ workerPath: self.data.hlsWorker, startPosition: self.resume > 0 ? self.resume : -1,
                            capLevelToPlayerSize: true, maxMaxBufferLength: 60 });
        var recovered = false;
        hls.on(Hls.Events.ERROR, function (_event, data) {
          if (!data.fatal) { return; }
          if (data.type === Hls.ErrorTypes.MEDIA_ERROR && !recovered) { recovered = true; hls.recoverMediaError(); return; }
          hls.destroy(); self.hls = null; self.mp4();  // the MP4 as last resort
        });
        self.hls = hls;
        if (self.resume > 0) { self.last = self.resume; }
        hls.loadSource(hlsSrc);
        hls.attachMedia(v);
      }).catch(function () { self.nativeOrMp4(); });
    } else {
      this.nativeOrMp4();
    }
  };

  Player.prototype.nativeOrMp4 = function () {
    var v = this.video;
    if (v.dataset.hlsSrc && v.canPlayType("application/vnd.apple.mpegurl")) { v.src = v.dataset.hlsSrc; v.load(); return; }
    this.mp4();
  };

  Player.prototype.mp4 = function () {
    var v = this.video;
    if (v.dataset.mp4Src) { v.src = v.dataset.mp4Src; v.load(); }
  };

  // -- watched stretches -------------------------------------------------------------------------

  // A time step that playback itself can make between two timeupdates (anything else is a jump).
  Player.prototype.sane = function (t) {
    var step = t - this.last;
    return step >= -0.3 && step <= Math.max(1.5, 1.5 * (this.video.playbackRate || 1));
  };

  Player.prototype.open = function (t) { this.segStart = t; this.last = t; };

  Player.prototype.close = function (t) {
    if (this.segStart !== null && t > this.segStart) {
      this.pending.push([round2(this.segStart), round2(t)]);
      if (this.segStart <= this.furthest + NO_SEEK_TOLERANCE) { this.furthest = Math.max(this.furthest, t); }
    }
    this.segStart = null;
  };

  Player.prototype.onTime = function () {
    var v = this.video, t = v.currentTime;
    if (v.seeking) { return; }
    if (this.segStart !== null) {
      if (!this.sane(t)) { this.close(this.last); if (!v.paused) { this.open(t); } }
      else if (this.segStart <= this.furthest + NO_SEEK_TOLERANCE) { this.furthest = Math.max(this.furthest, t); }
    } else if (!v.paused) {
      this.open(t);
    }
    this.last = t;
    this.render();
  };

  Player.prototype.onSeeking = function () {
    var v = this.video;
    this.close(this.last);
    if (this.noSeek && v.currentTime > this.furthest + NO_SEEK_TOLERANCE) {
      v.currentTime = this.furthest;
      this.say(this.data.msgNoSeek);
    }
  };

  Player.prototype.seekTo = function (t) {
    var v = this.video, end = isFinite(v.duration) ? v.duration : this.duration;
    t = Math.max(0, Math.min(t, end || t));
    if (this.noSeek && t > this.furthest + NO_SEEK_TOLERANCE) { t = this.furthest; this.say(this.data.msgNoSeek); }
    v.currentTime = t;
  };

  // -- heartbeats --------------------------------------------------------------------------------

  Player.prototype.tick = function () {
    if (this.segStart !== null && !this.video.paused) { var t = this.last; this.close(t); this.open(t); }
    this.send("tick");
  };

  Player.prototype.startTimer = function () {
    var self = this;
    if (this.timer) { return; }
    if (!this.firstTicked) {
      // The server's wall clock starts at the first heartbeat carrying a played stretch, and forgives only
      // a couple of seconds: send that heartbeat soon after playback starts, not a whole period later.
      this.firstTicked = true;
      this.firstTick = window.setTimeout(function () { self.firstTick = null; self.tick(); },
                                         (parseFloat(this.data.firstTick) || 1) * 1000);
    }
    this.timer = window.setInterval(function () { self.tick(); }, (parseInt(this.data.interval, 10) || 5) * 1000);
  };

  Player.prototype.stopTimer = function () {
    if (this.timer) { window.clearInterval(this.timer); this.timer = null; }
    if (this.firstTick) { window.clearTimeout(this.firstTick); this.firstTick = null; }
  };

  // Enough was watched, but faster than the server's wall-clock rule allows so far (a heartbeat was lost,
  // or the network was slow): once playback has stopped, ask again when the server says it may complete.
  Player.prototype.retryLater = function (seconds) {
    var self = this;
    if (this.retry || this.destroyed) { return; }
    this.retry = window.setTimeout(function () {
      self.retry = null;
      if (!self.video.paused || self.destroyed) { return; }  // playing: the ticks carry on
      self.send("tick").then(function () { if (self.completed && self.video.ended) { self.reload(); } });
    }, (seconds + 0.5) * 1000);
  };

  Player.prototype.send = function (event, leaving) {
    var self = this, batch = merge(this.pending);
    this.pending = [];
    if (batch.length > 100) { this.pending = batch.slice(100); batch = batch.slice(0, 100); }
    var position = this.video.currentTime || 0;
    if (this.duration) { position = Math.min(position, this.duration); }
    var body = JSON.stringify({ session: this.session, seq: ++this.seq, position: round2(position), intervals: batch,
                                rate: this.video.playbackRate || 1, event: event });
    var url = this.data.heartbeatUrl;
    function post() {
      try {
        return fetch(url, {
          method: "POST", credentials: "same-origin", keepalive: !!leaving, body: body,
          headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRF-Token": csrfToken() }
        });
      } catch (e) {
        return Promise.reject(e);
      }
    }
    // One heartbeat at a time, in order (the "ended" answer must see the stretch the "pause" before it
    // sent); a page being left cannot wait, and sends at once with keepalive.
    var request = leaving ? post() : this.inflight.then(post, post);
    var done = request.then(function (response) {
      if (response.ok) { return response.json(); }
      var err = new Error("HTTP " + response.status); err.status = response.status; throw err;
    }).then(function (result) {
      self.update(result);
    }).catch(function (err) {
      // A refused heartbeat (4xx) would be refused again; anything else is sent again with the next one.
      if (!err.status || err.status >= 500) { self.pending = merge(self.pending.concat(batch)); self.say(self.data.msgOffline); }
    });
    if (!leaving) { this.inflight = done; }
    return done;
  };

  Player.prototype.update = function (result) {
    this.furthest = Math.max(this.furthest, result.furthest || 0);
    if (this.watchedBar) { this.watchedBar.value = result.watched_percent; }
    if (!result.completed && result.wait_s > 0 && this.video.paused) { this.retryLater(result.wait_s); }
    if (result.completed) {
      this.completed = true;
      this.root.dataset.completed = "true";
      this.say(this.data.msgDone);
    } else {
      this.say(this.data.msgWatched.replace("__P__", result.watched_percent).replace("__N__", result.needed_percent));
    }
    if (result.just_completed) { this.root.dispatchEvent(new CustomEvent("video:completed", { bubbles: true, detail: result })); }
  };

  Player.prototype.reload = function () {
    if (window.htmx && document.getElementById("player")) {
      window.htmx.ajax("GET", this.data.reloadUrl, { target: "#player", swap: "outerHTML" });
    }
  };

  // -- controls ----------------------------------------------------------------------------------

  Player.prototype.toggle = function () {
    var v = this.video;
    if (v.paused || v.ended) { var p = v.play(); if (p && p.catch) { p.catch(function () { /* autoplay refused: wait for a tap */ }); } }
    else { v.pause(); }
  };

  Player.prototype.nextRate = function () {
    var rates = (this.rateButton.dataset.rates || "1").split(",").map(parseFloat), v = this.video;
    var i = rates.indexOf(v.playbackRate);
    var rate = Math.min(MAX_RATE, rates[(i + 1) % rates.length] || 1);
    // The default rate too: attaching the source (HLS loads asynchronously) resets playbackRate to it,
    // which undid a speed chosen before the first play.
    v.defaultPlaybackRate = rate;
    v.playbackRate = rate;
  };

  Player.prototype.toggleSubtitles = function () {
    var tracks = this.video.textTracks, on = this.ccButton.getAttribute("aria-pressed") !== "true";
    for (var i = 0; i < tracks.length; i++) { tracks[i].mode = on && i === 0 ? "showing" : "hidden"; }
    this.ccButton.setAttribute("aria-pressed", on ? "true" : "false");
  };

  Player.prototype.fullscreen = function () {
    var el = this.root;
    if (document.fullscreenElement) { document.exitFullscreen(); return; }
    if (el.requestFullscreen) { el.requestFullscreen().catch(function () { /* not allowed here */ }); }
    else if (this.video.webkitEnterFullscreen) { this.video.webkitEnterFullscreen(); }  // iOS: the video alone
  };

  Player.prototype.onKey = function (e) {
    var tag = (e.target && e.target.tagName) || "";
    if (tag === "INPUT" || tag === "SELECT" || tag === "TEXTAREA") { return; }
    if (e.key === " " || e.key === "k") { this.toggle(); e.preventDefault(); }
    else if (e.key === "ArrowLeft") { this.seekTo(this.video.currentTime - 5); e.preventDefault(); e.stopPropagation(); }
    else if (e.key === "ArrowRight") { this.seekTo(this.video.currentTime + 5); e.preventDefault(); e.stopPropagation(); }
  };

  Player.prototype.say = function (text) { if (this.watchedText && text) { this.watchedText.textContent = text; } };

  Player.prototype.render = function () {
    var v = this.video, playing = !v.paused && !v.ended;
    this.root.classList.toggle("is-playing", playing);
    this.bigPlay.hidden = playing;
    this.playButton.setAttribute("aria-label", playing ? this.playButton.dataset.labelPause : this.playButton.dataset.labelPlay);
    if (!this.dragging) {
      this.seekBar.value = v.currentTime || 0;
      this.timeText.textContent = clock(v.currentTime) + " / " + clock(this.duration || v.duration);
    }
    var rate = v.playbackRate || 1;
    this.rateButton.textContent = (rate === 1 ? "1" : String(rate)) + "×";
  };

  Player.prototype.destroy = function (leaving) {
    if (this.destroyed) { return; }
    this.destroyed = true;
    this.close(this.sane(this.video.currentTime) ? this.video.currentTime : this.last);
    this.stopTimer();
    if (this.retry) { window.clearTimeout(this.retry); this.retry = null; }
    if (this.started || this.pending.length) { this.send("hide", leaving !== false); }
    if (this.hls) { this.hls.destroy(); this.hls = null; }
  };

  function init(scope) {
    (scope || document).querySelectorAll("[data-video-player]").forEach(function (root) {
      if (root.dataset.vpReady) { return; }
      root.dataset.vpReady = "1";
      players.push(new Player(root));
    });
  }

  document.addEventListener("DOMContentLoaded", function () { init(document); });
  document.addEventListener("htmx:load", function (e) { init(e.detail && e.detail.elt ? e.detail.elt : document); });
  // The player fragment is replaced by htmx when the trainee moves to another item: report first.
  document.addEventListener("htmx:beforeSwap", function (e) {
    var target = e.detail && e.detail.target;
    players = players.filter(function (p) {
      if (target && target.contains(p.root)) { p.destroy(false); return false; }
      return true;
    });
  });
  window.addEventListener("pagehide", function () {
    players.forEach(function (p) {
      p.close(p.sane(p.video.currentTime) ? p.video.currentTime : p.last);
      if (p.started || p.pending.length) { p.send("hide", true); }
      if (!p.video.paused) { p.open(p.video.currentTime); }
    });
  });
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState !== "hidden") { return; }
    players.forEach(function (p) {
      var t = p.sane(p.video.currentTime) ? p.video.currentTime : p.last;
      p.close(t);
      if (p.started || p.pending.length) { p.send("hide", true); }
      if (!p.video.paused) { p.open(t); }
    });
  });
  window.ShixunPlayer = { merge: merge, players: function () { return players.slice(); } };
})();
