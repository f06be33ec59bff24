// Video upload page: drag and drop or choose a file, chunked resumable upload with a progress bar, speed, time left
// and cancel. Chunks go to PUT /api/v1/videos/uploads/:id?offset=N (nginx writes each to disk); a dropped connection
// is retried from the offset the server reports, and an upload interrupted by a reload resumes from localStorage.
(function () {
  'use strict';
  var form = document.getElementById('upload-form');
  if (!form) return;
  var input = document.getElementById('video-file'), drop = document.getElementById('dropzone');
  var startBtn = document.getElementById('upload-start'), cancelBtn = document.getElementById('upload-cancel');
  var bar = document.getElementById('upload-bar'), pctEl = document.getElementById('upload-pct');
  var speedEl = document.getElementById('upload-speed'), etaEl = document.getElementById('upload-eta');
  var box = document.getElementById('upload-progress'), errEl = document.getElementById('upload-error');
  var statusEl = document.getElementById('upload-status'), titleEl = document.getElementById('video-title');
  var maxBytes = Number(form.dataset.maxBytes) || 0, chunk = Number(form.dataset.chunkBytes) || 8 * 1024 * 1024;
  var msg = form.dataset;
  var file = null, upload = null, xhr = null, cancelled = false, samples = [];

  function csrf() { var m = document.querySelector('meta[name="csrf-token"]'); return m ? m.content : ''; }
  function showError(t) { errEl.textContent = t; errEl.hidden = false; }
  function clearError() { errEl.textContent = ''; errEl.hidden = true; }
  function key(f) { return 'rstream-upload:' + f.name + ':' + f.size + ':' + f.lastModified; }
  function human(n) {
    var u = ['B', 'KB', 'MB', 'GB'], i = 0;
    while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
    return n.toFixed(i ? 1 : 0) + ' ' + u[i];
  }
  function clock(s) {
    s = Math.max(0, Math.round(s));
    var h = Math.floor(s / 3600), m = Math.floor(s / 60) % 60, x = s % 60;
    return (h ? h + ':' + String(m).padStart(2, '0') : m) + ':' + String(x).padStart(2, '0');
  }

  function pick(f) {
    clearError();
    statusEl.textContent = '';
    file = f || null;
    document.getElementById('file-name').textContent = file ? file.name + ' (' + human(file.size) + ')' : '';
    if (file && !titleEl.value) titleEl.value = file.name.replace(/\.[^.]*$/, '');
    if (file && file.size === 0) { showError(msg.msgEmpty); file = null; }
    else if (file && maxBytes && file.size > maxBytes) { showError(msg.msgTooLarge); file = null; }
    startBtn.disabled = !file;
  }
  input.addEventListener('change', function () { pick(input.files[0]); });
  ['dragenter', 'dragover'].forEach(function (ev) {
    drop.addEventListener(ev, function (e) { e.preventDefault(); drop.classList.add('over'); });
  });
  ['dragleave', 'drop'].forEach(function (ev) {
    drop.addEventListener(ev, function (e) { e.preventDefault(); drop.classList.remove('over'); });
  });
  drop.addEventListener('drop', function (e) { if (e.dataTransfer.files.length) pick(e.dataTransfer.files[0]); });
  drop.addEventListener('keydown', function (e) { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); input.click(); } });

  function api(method, url, body) {
    var h = { 'X-CSRF-Token': csrf(), Accept: 'application/json' };
    if (body) h['Content-Type'] = 'application/json';
    return fetch(url, { method: method, credentials: 'same-origin', headers: h, body: body ? JSON.stringify(body) : undefined })
      .then(function (r) {
        return r.text().then(function (t) {
          var j = null;
          try { j = t ? JSON.parse(t) : null; } catch (e) { j = null; }
          return { status: r.status, body: j };
        });
      });
  }

  function progress(sent) {
    var pct = file.size ? sent / file.size * 100 : 100;
    bar.value = pct;
    pctEl.textContent = pct.toFixed(1) + '%';
    var now = performance.now();
    samples.push([now, sent]);
    while (samples.length > 2 && now - samples[0][0] > 5000) samples.shift();
    var first = samples[0], dt = (now - first[0]) / 1000;
    if (dt > 0.3) {
      var rate = (sent - first[1]) / dt;
      speedEl.textContent = human(rate) + '/s';
      etaEl.textContent = rate > 0 ? msg.msgLeft + ' ' + clock((file.size - sent) / rate) : '';
    }
  }

  function putChunk(offset) {
    return new Promise(function (resolve, reject) {
      xhr = new XMLHttpRequest();
      xhr.open('PUT', '/api/v1/videos/uploads/' + upload.id + '?offset=' + offset);
      xhr.setRequestHeader('X-CSRF-Token', csrf());
      xhr.setRequestHeader('Accept', 'application/json');
      xhr.setRequestHeader('Content-Type', 'application/octet-stream');
      xhr.upload.onprogress = function (e) { if (e.lengthComputable) progress(offset + e.loaded); };
      xhr.onload = function () {
        var j = null;
        try { j = JSON.parse(xhr.responseText); } catch (e) { j = null; }
        resolve({ status: xhr.status, body: j });
      };
      xhr.onerror = function () { reject(new Error('network')); };
      xhr.onabort = function () { reject(new Error('abort')); };
      xhr.send(file.slice(offset, Math.min(file.size, offset + chunk)));
    });
  }

  function sleep(ms) { return new Promise(function (r) { setTimeout(r, ms); }); }

  // Send chunks from offset until the server has every byte; network errors retry with backoff from the
  // server's own count, so nothing is sent twice and nothing is skipped.
  function sendFrom(offset, failures) {
    if (cancelled) return Promise.reject(new Error('abort'));
    if (offset >= file.size) return Promise.resolve();
    return putChunk(offset).then(function (r) {
      if (r.status === 200 && r.body && r.body.upload) return sendFrom(r.body.upload.received, 0);
      if (r.status === 409 && r.body && r.body.error && r.body.error.details &&
          typeof r.body.error.details.expected_offset === 'number') return sendFrom(r.body.error.details.expected_offset, failures);
      var e = new Error((r.body && r.body.error && r.body.error.message) || msg.msgFailed);
      e.fatal = r.status >= 400 && r.status < 500;
      throw e;
    }).catch(function (e) {
      if (cancelled || e.fatal || e.message === 'abort' || failures >= 8) throw e;
      statusEl.textContent = msg.msgRetrying;
      return sleep(Math.min(30000, 1000 * Math.pow(2, failures))).then(function () {
        return api('GET', '/api/v1/videos/uploads/' + upload.id);
      }).then(function (r) {
        statusEl.textContent = '';
        var at = r.status === 200 && r.body ? r.body.upload.received : offset;
        return sendFrom(at, failures + 1);
      }, function () { return sendFrom(offset, failures + 1); });
    });
  }

  function begin() {
    var saved = localStorage.getItem(key(file));
    if (saved) {
      return api('GET', '/api/v1/videos/uploads/' + encodeURIComponent(saved)).then(function (r) {
        if (r.status === 200 && r.body && r.body.upload.state === 'open') {
          statusEl.textContent = msg.msgResume;
          return r.body.upload;
        }
        localStorage.removeItem(key(file));
        return create();
      });
    }
    return create();
  }

  function create() {
    return api('POST', '/api/v1/videos/uploads', { filename: file.name, size: file.size, title: titleEl.value }).then(function (r) {
      if (r.status !== 201) throw Object.assign(new Error((r.body && r.body.error && r.body.error.message) || msg.msgFailed), { fatal: true });
      localStorage.setItem(key(file), r.body.upload.id);
      return r.body.upload;
    });
  }

  form.addEventListener('submit', function (e) {
    e.preventDefault();
    if (!file) return;
    clearError();
    cancelled = false;
    samples = [];
    startBtn.disabled = true;
    input.disabled = true;
    cancelBtn.hidden = false;
    box.hidden = false;
    begin().then(function (u) {
      upload = u;
      progress(u.received);
      return sendFrom(u.received, 0);
    }).then(function () {
      progress(file.size);
      etaEl.textContent = '';
      statusEl.textContent = msg.msgProcessing;
      cancelBtn.hidden = true;
      return api('POST', '/api/v1/videos/uploads/' + upload.id + '/complete');
    }).then(function (r) {
      localStorage.removeItem(key(file));
      if (r.status === 201 && r.body && r.body.video) {
        statusEl.textContent = msg.msgDone;
        window.location.href = '/videos/' + r.body.video.id + '/edit';
        return;
      }
      throw Object.assign(new Error((r.body && r.body.error && r.body.error.message) || msg.msgFailed), { fatal: true });
    }).catch(function (err) {
      cancelBtn.hidden = true;
      input.disabled = false;
      startBtn.disabled = !file;
      if (cancelled) { statusEl.textContent = msg.msgCancelled; return; }
      statusEl.textContent = '';
      showError(err.message === 'network' ? msg.msgFailed : err.message);
    });
  });

  cancelBtn.addEventListener('click', function () {
    cancelled = true;
    if (xhr) xhr.abort();
    if (upload) api('DELETE', '/api/v1/videos/uploads/' + upload.id);
    if (file) localStorage.removeItem(key(file));
    bar.value = 0;
    pctEl.textContent = '0%';
    speedEl.textContent = '';
    etaEl.textContent = '';
    statusEl.textContent = msg.msgCancelled;
    cancelBtn.hidden = true;
  });
})();
