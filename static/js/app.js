// R-Stream core UI behaviour: responsive nav toggle and live job progress bars.
// Any <progress data-job-id="N" data-job-live="queued|running"> polls /api/v1/jobs/N until it ends.
(function () {
  'use strict';
  var toggle = document.querySelector('.navtoggle');
  if (toggle) {
    toggle.addEventListener('click', function () {
      var nav = document.getElementById('mainnav');
      var open = nav.classList.toggle('open');
      toggle.setAttribute('aria-expanded', open ? 'true' : 'false');
    });
  }

  // one open menu group at a time; a click elsewhere or Escape closes it
  var groups = document.querySelectorAll('#mainnav details');
  groups.forEach(function (d) {
    d.addEventListener('toggle', function () {
      if (d.open) groups.forEach(function (o) { if (o !== d) o.open = false; });
    });
  });
  document.addEventListener('click', function (e) {
    groups.forEach(function (d) { if (d.open && !d.contains(e.target)) d.open = false; });
  });
  document.addEventListener('keydown', function (e) {
    if (e.key === 'Escape') groups.forEach(function (d) { d.open = false; });
  });

  // tables on phones: each cell carries its column name, so CSS can show a row as a card (app.css)
  document.querySelectorAll('table.grid').forEach(function (t) {
    var heads = Array.prototype.map.call(t.querySelectorAll('thead th'), function (th) { return th.textContent.trim(); });
    if (!heads.length) return;
    t.querySelectorAll('tbody tr').forEach(function (tr) {
      Array.prototype.forEach.call(tr.children, function (td, i) {
        if (heads[i] && !td.hasAttribute('colspan')) td.setAttribute('data-label', heads[i]);
      });
    });
    t.classList.add('stacked');
  });

  function text(sel, value) {
    document.querySelectorAll(sel).forEach(function (el) { el.textContent = value; });
  }

  function poll(id) {
    fetch('/api/v1/jobs/' + encodeURIComponent(id), { credentials: 'same-origin', headers: { Accept: 'application/json' } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (body) {
        if (!body || !body.job) return;
        var j = body.job;
        document.querySelectorAll('progress[data-job-id="' + id + '"]').forEach(function (p) { p.value = j.progress; });
        text('[data-job-pct="' + id + '"]', Math.round(j.progress) + '%');
        text('[data-job-message="' + id + '"]', j.message_label || j.message || '');
        text('[data-job-state="' + id + '"]', j.state_label || j.state);
        document.dispatchEvent(new CustomEvent('rstream:job', { detail: j }));
        if (j.state === 'queued' || j.state === 'running') setTimeout(function () { poll(id); }, 1000);
        else if (document.querySelector('[data-job-reload="' + id + '"]')) window.location.reload();   // final stats, no Cancel
        else document.querySelectorAll('[data-job-state="' + id + '"]').forEach(function (el) {
          el.className = 'state s-' + j.state;
        });
      })
      .catch(function () { setTimeout(function () { poll(id); }, 3000); });
  }

  var seen = {};
  document.querySelectorAll('progress[data-job-live]').forEach(function (p) {
    var st = p.getAttribute('data-job-live'), id = p.getAttribute('data-job-id');
    if ((st === 'queued' || st === 'running') && !seen[id]) { seen[id] = true; poll(id); }
  });
  window.RStream = { pollJob: poll, csrf: function () {
    var m = document.querySelector('meta[name="csrf-token"]'); return m ? m.content : '';
  } };
})();
