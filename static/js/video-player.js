// Watch page player: hls.js (served from /static/vendor, no CDN) or native HLS, quality menu (auto + each rung),
// playback speed, WebVTT captions, storyboard thumbnails over the seek bar, keyboard controls, resume position.
(function () {
  'use strict';
  var box = document.getElementById('player');
  if (!box) return;
  var video = document.getElementById('video'), src = box.dataset.src;
  var qSel = document.getElementById('sel-quality'), sSel = document.getElementById('sel-speed');
  var cSel = document.getElementById('sel-captions'), seek = document.getElementById('seek');
  var timeEl = document.getElementById('time'), playBtn = document.getElementById('btn-play');
  var muteBtn = document.getElementById('btn-mute'), fullBtn = document.getElementById('btn-full');
  var errEl = document.getElementById('player-error');
  var prev = document.getElementById('storyboard-preview'), prevImg = document.getElementById('sb-img');
  var prevTime = document.getElementById('sb-time');
  var startAt = Number(box.dataset.position) || 0, hls = null, seeking = false;
  // ?t=123 (a search hit's moment) wins over the resume position
  var jumpTo = box.dataset.start ? Number(box.dataset.start) : -1;

  function csrf() { var m = document.querySelector('meta[name="csrf-token"]'); return m ? m.content : ''; }
  function fmt(s) {
    if (!isFinite(s)) s = 0;
    s = Math.floor(s);
    var h = Math.floor(s / 3600), m = Math.floor(s / 60) % 60, x = s % 60;
    return (h ? h + ':' + String(m).padStart(2, '0') : m) + ':' + String(x).padStart(2, '0');
  }
  function fail(t) { errEl.textContent = t; errEl.hidden = false; }

  function addLevels(levels) {
    levels.forEach(function (l, i) {
      var o = document.createElement('option');
      o.value = String(i);
      o.textContent = (l.height ? Math.min(l.width, l.height) + 'p' : 'L' + i) + (l.bitrate ? ' (' + Math.round(l.bitrate / 1000) + ' kbps)' : '');
      qSel.appendChild(o);
    });
  }

  if (window.Hls && window.Hls.isSupported()) {
    hls = new window.Hls({ startPosition: -1, capLevelToPlayerSize: false, enableWorker: true });
    hls.on(window.Hls.Events.MANIFEST_PARSED, function (e, data) { addLevels(data.levels); });
    hls.on(window.Hls.Events.ERROR, function (e, data) {
      if (!data.fatal) return;
      if (data.type === window.Hls.ErrorTypes.NETWORK_ERROR) hls.startLoad();
      else if (data.type === window.Hls.ErrorTypes.MEDIA_ERROR) hls.recoverMediaError();
      else fail(box.dataset.msgError);
    });
    hls.loadSource(src);
    hls.attachMedia(video);
  } else if (video.canPlayType('application/vnd.apple.mpegurl')) {
    video.src = src;   // Safari: native HLS, quality is chosen by the browser
    qSel.disabled = true;
  } else {
    fail(box.dataset.msgUnsupported);
  }
  window.rstreamPlayer = { video: video, hls: hls };
  // a caption hit on this page ("search in this video") seeks here instead of reloading the page
  document.querySelectorAll('a[data-seek]').forEach(function (a) {
    a.addEventListener('click', function (e) {
      e.preventDefault();
      video.currentTime = Number(a.getAttribute('data-seek')) || 0;
      if (history.replaceState) history.replaceState(null, '', a.getAttribute('href'));
      video.play().catch(function () {});
    });
  });

  video.addEventListener('loadedmetadata', function () {
    if (jumpTo >= 0 && video.duration) video.currentTime = Math.min(jumpTo, video.duration);
    else if (startAt > 5 && video.duration && startAt < video.duration - 5) video.currentTime = startAt;
    update();
  });
  qSel.addEventListener('change', function () { if (hls) hls.currentLevel = Number(qSel.value); });
  sSel.addEventListener('change', function () { video.playbackRate = Number(sSel.value); });

  function setCaptions(lang) {
    for (var i = 0; i < video.textTracks.length; i++) {
      var t = video.textTracks[i];
      t.mode = lang && t.language === lang ? 'showing' : 'disabled';
    }
    cSel.value = lang || '';
  }
  cSel.addEventListener('change', function () { setCaptions(cSel.value); });
  setCaptions('');

  function toggle() { if (video.paused) video.play().catch(function () {}); else video.pause(); }
  function update() {
    var d = video.duration || 0;
    if (!seeking) seek.value = d ? Math.round(video.currentTime / d * 1000) : 0;
    timeEl.textContent = fmt(video.currentTime) + ' / ' + fmt(d);
    var playing = !video.paused;
    playBtn.textContent = playing ? '❚❚' : '▶';
    playBtn.setAttribute('aria-label', playing ? playBtn.dataset.labelPause : playBtn.dataset.labelPlay);
    muteBtn.textContent = video.muted || video.volume === 0 ? muteBtn.dataset.labelUnmute : muteBtn.dataset.labelMute;
  }
  ['timeupdate', 'play', 'pause', 'volumechange', 'durationchange'].forEach(function (ev) { video.addEventListener(ev, update); });
  playBtn.addEventListener('click', toggle);
  video.addEventListener('click', toggle);
  muteBtn.addEventListener('click', function () { video.muted = !video.muted; });
  fullBtn.addEventListener('click', function () {
    if (document.fullscreenElement) document.exitFullscreen();
    else if (box.requestFullscreen) box.requestFullscreen();
  });
  seek.addEventListener('input', function () {
    seeking = true;
    if (video.duration) video.currentTime = seek.value / 1000 * video.duration;
  });
  seek.addEventListener('change', function () { seeking = false; });

  // storyboard: cues "start --> end" with "storyboard.jpg#xywh=x,y,w,h", relative to the VTT's own URL
  var cues = [];
  function parseTime(t) {
    var p = t.trim().split(':').map(Number);
    return p.length === 3 ? p[0] * 3600 + p[1] * 60 + p[2] : p[0] * 60 + p[1];
  }
  if (box.dataset.storyboard) {
    fetch(box.dataset.storyboard, { credentials: 'same-origin' }).then(function (r) { return r.ok ? r.text() : ''; }).then(function (text) {
      var base = new URL(box.dataset.storyboard, window.location.href);
      text.split(/\r?\n\r?\n/).forEach(function (block) {
        var lines = block.trim().split(/\r?\n/), i = lines.findIndex(function (l) { return l.indexOf('-->') >= 0; });
        if (i < 0 || !lines[i + 1]) return;
        var se = lines[i].split('-->'), m = /^(.*)#xywh=(\d+),(\d+),(\d+),(\d+)$/.exec(lines[i + 1].trim());
        if (!m) return;
        cues.push({ start: parseTime(se[0]), end: parseTime(se[1]), url: new URL(m[1], base).href,
          x: +m[2], y: +m[3], w: +m[4], h: +m[5] });
      });
    }).catch(function () {});
  }
  seek.addEventListener('mousemove', function (e) {
    if (!cues.length || !video.duration) return;
    var r = seek.getBoundingClientRect(), f = Math.min(1, Math.max(0, (e.clientX - r.left) / r.width));
    var t = f * video.duration, c = cues.find(function (q) { return t >= q.start && t < q.end; }) || cues[cues.length - 1];
    prevImg.style.width = c.w + 'px';
    prevImg.style.height = c.h + 'px';
    prevImg.style.backgroundImage = 'url("' + c.url + '")';
    prevImg.style.backgroundPosition = '-' + c.x + 'px -' + c.y + 'px';
    prevTime.textContent = fmt(t);
    prev.hidden = false;
    prev.style.left = Math.max(0, Math.min(r.width - c.w, e.clientX - r.left - c.w / 2)) + 'px';
  });
  seek.addEventListener('mouseleave', function () { prev.hidden = true; });

  // keyboard: works when focus is in the player or on the page body (not in other form fields)
  var speeds = [0.5, 0.75, 1, 1.25, 1.5, 2];
  document.addEventListener('keydown', function (e) {
    var tag = (e.target && e.target.tagName) || '';
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    if ((tag === 'INPUT' && e.target !== seek) || tag === 'TEXTAREA' || tag === 'SELECT') return;
    var d = video.duration || 0, handled = true;
    switch (e.key) {
    case ' ': case 'k': if (tag === 'BUTTON' && e.key === ' ') { handled = false; break; } toggle(); break;
    case 'ArrowLeft': video.currentTime = Math.max(0, video.currentTime - 5); break;
    case 'ArrowRight': video.currentTime = Math.min(d, video.currentTime + 5); break;
    case 'j': video.currentTime = Math.max(0, video.currentTime - 10); break;
    case 'l': video.currentTime = Math.min(d, video.currentTime + 10); break;
    case 'ArrowUp': video.volume = Math.min(1, video.volume + 0.1); break;
    case 'ArrowDown': video.volume = Math.max(0, video.volume - 0.1); break;
    case 'm': video.muted = !video.muted; break;
    case 'f': fullBtn.click(); break;
    case 'c': {
      var opts = Array.prototype.map.call(cSel.options, function (o) { return o.value; });
      setCaptions(opts[(opts.indexOf(cSel.value) + 1) % opts.length]);
      break;
    }
    case '<': case '>': {
      var i = speeds.indexOf(video.playbackRate); if (i < 0) i = 2;
      i = Math.max(0, Math.min(speeds.length - 1, i + (e.key === '>' ? 1 : -1)));
      video.playbackRate = speeds[i];
      sSel.value = String(speeds[i]);
      break;
    }
    default:
      if (/^[0-9]$/.test(e.key) && d) video.currentTime = d * Number(e.key) / 10;
      else handled = false;
    }
    if (handled) e.preventDefault();
  });

  // Viewing heartbeats: every 10 s of playback, on pause, seek and end, and when the page is hidden, the
  // cumulative watched ranges of this playback session go to /api/v1/views/heartbeat (the resume position rides
  // along). Each beat carries everything, so a lost beat is repaired by the next; on 503 (buffer down) or a
  // network error the ranges simply stay here and go out with the next beat.
  var session = box.dataset.session, ranges = [], cur = null, lastBeat = '', stopped = false;
  function close() {
    if (!cur) return;
    cur[1] = video.currentTime;
    if (cur[1] > cur[0]) merge(cur);
    cur = null;
  }
  function merge(r) {
    var out = [], a = r[0], b = r[1];
    ranges.forEach(function (x) {
      if (x[1] < a || x[0] > b) out.push(x);
      else { a = Math.min(a, x[0]); b = Math.max(b, x[1]); }
    });
    out.push([a, b]);
    out.sort(function (x, y) { return x[0] - y[0]; });
    ranges = out;
  }
  function snapshot() {
    var all = ranges.slice();
    if (cur && video.currentTime > cur[0]) {
      var save = ranges; merge([cur[0], video.currentTime]); all = ranges; ranges = save;
    }
    var d = Number(box.dataset.duration) || video.duration || 0;
    var clamp = function (t) { return Math.round(Math.max(0, Math.min(d || t, t)) * 1000) / 1000; };
    return all.map(function (x) { return [clamp(x[0]), clamp(x[1])]; }).filter(function (x) { return x[1] > x[0]; });
  }
  function body() {
    var d = Number(box.dataset.duration) || video.duration || 0;
    return JSON.stringify({ session: session, video: box.dataset.videoId, csrf: csrf(),
      position: Math.round(Math.max(0, Math.min(d || video.currentTime, video.currentTime || 0)) * 1000) / 1000,
      rate: video.playbackRate || 1, ranges: snapshot() });
  }
  function beat(useBeacon) {
    if (!session || stopped) return;
    var b = body();
    if (b === lastBeat) return;
    if (useBeacon && navigator.sendBeacon) {
      // text/plain: the one content type a beacon may carry without CORS preflight rules getting in the way
      if (navigator.sendBeacon('/api/v1/views/heartbeat', new Blob([b], { type: 'text/plain' }))) lastBeat = b;
      return;
    }
    fetch('/api/v1/views/heartbeat', { method: 'POST', credentials: 'same-origin', keepalive: true,
      headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrf(), Accept: 'application/json' }, body: b
    }).then(function (r) {
      if (r.ok) { lastBeat = b; box.dataset.beats = String(Number(box.dataset.beats || 0) + 1); }
      else if (r.status === 403 || r.status === 404 || r.status === 422) stopped = true;   // will not get better
    }).catch(function () {});
  }
  if (session) {
    video.addEventListener('playing', function () { if (!cur) cur = [video.currentTime, video.currentTime]; });
    video.addEventListener('seeking', function () { if (cur) { cur[1] = lastTime; if (cur[1] > cur[0]) merge(cur); cur = null; } });
    video.addEventListener('seeked', function () { if (!video.paused) cur = [video.currentTime, video.currentTime]; beat(false); });
    video.addEventListener('pause', function () { close(); beat(false); });
    video.addEventListener('ended', function () { close(); beat(false); });
    // the time before a seek: timeupdate keeps it, because currentTime already moved when "seeking" fires
    var lastTime = 0;
    video.addEventListener('timeupdate', function () { if (!video.seeking) lastTime = video.currentTime; });
    setInterval(function () { if (!video.paused) beat(false); }, 10000);
    document.addEventListener('visibilitychange', function () { if (document.visibilityState === 'hidden') beat(true); });
    window.addEventListener('pagehide', function () { beat(true); });
    window.rstreamPlayer.beat = function () { beat(false); };
  }
})();
