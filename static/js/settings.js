// Settings page: the logo file is sent as the request body (PUT /api/v1/settings/logo) as soon as it is chosen;
// the server decides by the bytes whether it is a PNG or JPEG and answers a message to show when it is not.
(function () {
  'use strict';
  var input = document.querySelector('input[data-logo-upload]');
  if (!input) return;
  var box = document.querySelector('[data-logo-error]');
  function csrf() { var m = document.querySelector('meta[name="csrf-token"]'); return m ? m.content : ''; }
  function fail(text) { box.textContent = text; box.hidden = false; }
  input.addEventListener('change', function () {
    var f = input.files && input.files[0];
    if (!f) return;
    box.hidden = true;
    input.disabled = true;
    fetch(input.getAttribute('data-logo-upload'), {
      method: 'PUT',
      credentials: 'same-origin',
      headers: { 'Content-Type': f.type || 'application/octet-stream', 'X-CSRF-Token': csrf(), Accept: 'application/json' },
      body: f
    }).then(function (res) {
      if (res.ok) { window.location.assign('/admin/settings?saved=1'); return null; }
      return res.json().then(function (j) { fail(j && j.error ? j.error.message : String(res.status)); },
                            function () { fail(String(res.status)); });
    }).catch(function () { fail(input.getAttribute('data-error-network')); })
      .then(function () { input.disabled = false; });
  });
})();
