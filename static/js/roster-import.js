// Roster import pages. Upload page: the chosen zip/CSV goes as the raw request body of one XHR POST to
// /api/v1/roster/imports (X-CSRF-Token header) with a progress bar, speed and time left, then to the import page.
// Import page: polls /api/v1/roster/imports/:id every second and updates state, %, rows, rows/s and the live
// error/warning counts without a reload; when the import ends the page reloads once to show the report.
(function () {
  'use strict';
  function csrf() { var m = document.querySelector('meta[name="csrf-token"]'); return m ? m.content : ''; }
  function human(n) {
    var u = ['B', 'KB', 'MB', 'GB'], i = 0;
    while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
    return n.toFixed(i ? 1 : 0) + ' ' + u[i];
  }
  function clock(s) {
    s = Math.max(0, Math.round(s));
    var m = Math.floor(s / 60), x = s % 60;
    return m + ':' + String(x).padStart(2, '0');
  }

  var form = document.getElementById('roster-upload');
  if (form) {
    var input = document.getElementById('roster-file'), drop = document.getElementById('roster-drop');
    var start = document.getElementById('roster-upload-start'), cancel = document.getElementById('roster-upload-cancel');
    var box = document.getElementById('roster-upload-progress'), bar = document.getElementById('roster-upload-bar');
    var pct = document.getElementById('roster-upload-pct'), speed = document.getElementById('roster-upload-speed');
    var eta = document.getElementById('roster-upload-eta'), err = document.getElementById('roster-upload-error');
    var status = document.getElementById('roster-upload-status'), msg = form.dataset;
    var maxBytes = Number(msg.maxBytes) || 0, file = null, xhr = null, t0 = 0;

    var showError = function (t) { err.textContent = t; err.hidden = false; };
    var pick = function (f) {
      err.hidden = true;
      status.textContent = '';
      file = f || null;
      document.getElementById('roster-file-name').textContent = file ? file.name + ' (' + human(file.size) + ')' : '';
      if (file && file.size === 0) { showError(msg.msgEmpty); file = null; }
      else if (file && maxBytes && file.size > maxBytes) { showError(msg.msgTooLarge); file = null; }
      start.disabled = !file;
    };
    input.addEventListener('change', function () { pick(input.files[0]); });
    ['dragenter', 'dragover'].forEach(function (ev) {
      drop.addEventListener(ev, function (e) { e.preventDefault(); drop.classList.add('over'); });
    });
    ['dragleave', 'drop'].forEach(function (ev) {
      drop.addEventListener(ev, function (e) { e.preventDefault(); drop.classList.remove('over'); });
    });
    drop.addEventListener('drop', function (e) { if (e.dataTransfer.files.length) pick(e.dataTransfer.files[0]); });
    drop.addEventListener('keydown', function (e) {
      if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); input.click(); }
    });
    cancel.addEventListener('click', function () { if (xhr) xhr.abort(); });

    form.addEventListener('submit', function (e) {
      e.preventDefault();
      if (!file) return;
      var q = 'filename=' + encodeURIComponent(file.name);
      if (document.getElementById('roster-dry-run').checked) q += '&dry_run=1';
      if (document.getElementById('roster-delta').checked) q += '&delta=1';
      xhr = new XMLHttpRequest();
      xhr.open('POST', '/api/v1/roster/imports?' + q);
      xhr.setRequestHeader('X-CSRF-Token', csrf());
      xhr.setRequestHeader('Accept', 'application/json');
      xhr.setRequestHeader('Content-Type', /\.csv$/i.test(file.name) ? 'text/csv' : 'application/zip');
      box.hidden = false;
      start.disabled = true;
      cancel.hidden = false;
      t0 = performance.now();
      xhr.upload.addEventListener('progress', function (ev) {
        if (!ev.lengthComputable) return;
        var p = ev.loaded / ev.total * 100, dt = (performance.now() - t0) / 1000;
        bar.value = p;
        pct.textContent = p.toFixed(1) + '%';
        if (dt > 0.3) {
          var rate = ev.loaded / dt;
          speed.textContent = human(rate) + '/s';
          eta.textContent = rate > 0 ? msg.msgLeft + ' ' + clock((ev.total - ev.loaded) / rate) : '';
        }
      });
      xhr.addEventListener('load', function () {
        cancel.hidden = true;
        var body = null;
        try { body = JSON.parse(xhr.responseText); } catch (x) { body = null; }
        if (xhr.status === 202 && body && body.import) {
          bar.value = 100;
          pct.textContent = '100%';
          status.textContent = msg.msgDone;
          window.location.href = '/admin/roster/imports/' + body.import.id;
        } else {
          showError((body && body.error && body.error.message) || msg.msgFailed + ' (' + xhr.status + ')');
          start.disabled = false;
        }
      });
      xhr.addEventListener('error', function () { cancel.hidden = true; showError(msg.msgFailed); start.disabled = false; });
      xhr.addEventListener('abort', function () { cancel.hidden = true; box.hidden = true; start.disabled = false; });
      xhr.send(file);
    });
  }

  var page = document.querySelector('[data-import-id]');
  if (page && page.dataset.live === 'true') {
    var id = page.dataset.importId, set = function (elId, v) {
      var el = document.getElementById(elId);
      if (el && v !== undefined && v !== null) el.textContent = v;
    };
    var tick = function () {
      fetch('/api/v1/roster/imports/' + encodeURIComponent(id), { credentials: 'same-origin', headers: { Accept: 'application/json' } })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (body) {
          if (!body || !body.import) { setTimeout(tick, 2000); return; }
          var im = body.import, st = im.job_stats || {}, progress = Number(im.progress) || 0;
          document.getElementById('roster-progress').value = progress;
          set('roster-pct', Math.round(progress) + '%');
          set('roster-phase', im.job_message_label || im.job_message || '');
          if (st.rows !== undefined) set('roster-rows', st.rows);
          if (st.rows_per_s !== undefined) set('roster-rate', st.rows_per_s);
          if (st.errors !== undefined) set('roster-errors', st.errors);
          if (st.warnings !== undefined) set('roster-warnings', st.warnings);
          var state = document.getElementById('roster-state');
          state.dataset.state = im.state;
          if (im.state === 'queued' || im.state === 'running') setTimeout(tick, 1000);
          else window.location.reload();
        })
        .catch(function () { setTimeout(tick, 3000); });
    };
    tick();
  }
})();
