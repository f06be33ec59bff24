// Video edit page: live transcode progress (polls GET /api/v1/videos/:id every second while queued/transcoding),
// caption upload (VTT or SRT, converted on the server), poster replacement, caption delete, delete confirmation.
(function () {
  'use strict';
  function csrf() { var m = document.querySelector('meta[name="csrf-token"]'); return m ? m.content : ''; }
  var box = document.getElementById('video-status');
  if (box) {
    var id = box.dataset.videoId;
    var label = document.getElementById('status-label'), bar = document.getElementById('status-bar');
    var pct = document.getElementById('status-pct'), err = document.getElementById('status-error');
    var poll = function () {
      fetch('/api/v1/videos/' + encodeURIComponent(id), { credentials: 'same-origin', headers: { Accept: 'application/json' } })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (b) {
          if (!b || !b.video) { setTimeout(poll, 3000); return; }
          var v = b.video;
          box.dataset.status = v.status;
          label.textContent = v.status_label;
          label.className = 'state s-' + v.status;
          var p = v.status === 'ready' ? 100 : Math.round(v.progress || 0);
          bar.value = p;
          pct.textContent = p + '%';
          if (v.error_tail) { err.textContent = v.error_tail; err.hidden = false; } else { err.hidden = true; }
          if (v.status === 'queued' || v.status === 'transcoding' || v.status === 'uploading') setTimeout(poll, 1000);
          else if (v.status === 'ready' && !document.querySelector('a[href="/watch/' + id + '"]')) window.location.reload();
        })
        .catch(function () { setTimeout(poll, 3000); });
    };
    var st = box.dataset.status;
    if (st === 'queued' || st === 'transcoding' || st === 'uploading') poll();
  }

  function sendFile(url, f, errEl) {
    errEl.hidden = true;
    return fetch(url, { method: 'PUT', credentials: 'same-origin', body: f,
      headers: { 'X-CSRF-Token': csrf(), Accept: 'application/json', 'Content-Type': 'application/octet-stream' } })
      .then(function (r) {
        if (r.ok) { window.location.reload(); return; }
        return r.json().then(function (b) {
          errEl.textContent = (b && b.error && b.error.message) || String(r.status);
          errEl.hidden = false;
        });
      });
  }

  var cf = document.getElementById('caption-form');
  if (cf) cf.addEventListener('submit', function (e) {
    e.preventDefault();
    var f = document.getElementById('c-file').files[0];
    if (!f) return;
    var q = '?lang=' + encodeURIComponent(document.getElementById('c-lang').value) +
      '&label=' + encodeURIComponent(document.getElementById('c-label').value);
    sendFile('/api/v1/videos/' + cf.dataset.videoId + '/captions' + q, f, document.getElementById('caption-error'));
  });
  var pf = document.getElementById('poster-form');
  if (pf) pf.addEventListener('submit', function (e) {
    e.preventDefault();
    var f = document.getElementById('p-file').files[0];
    if (f) sendFile('/api/v1/videos/' + pf.dataset.videoId + '/poster', f, document.getElementById('poster-error'));
  });
  document.querySelectorAll('[data-caption-delete]').forEach(function (b) {
    b.addEventListener('click', function () {
      var vid = cf ? cf.dataset.videoId : '';
      fetch('/api/v1/videos/' + vid + '/captions/' + encodeURIComponent(b.dataset.captionDelete),
        { method: 'DELETE', credentials: 'same-origin', headers: { 'X-CSRF-Token': csrf(), Accept: 'application/json' } })
        .then(function () { window.location.reload(); });
    });
  });
})();
