// Sign-in helpers without inline script: a code or reset token travels in the URL fragment (never sent to the
// server, so never in a log); copy it into the form field marked data-from-hash, and submit when it says so.
(function () {
  var el = document.querySelector('[data-from-hash]');
  var h = decodeURIComponent((location.hash || '').replace(/^#/, ''));
  if (el && h) {
    el.value = h;
    history.replaceState(null, '', location.pathname);
    if (el.getAttribute('data-from-hash') === 'submit' && el.form) el.form.submit();
  }
  var p = document.querySelector('[data-print]');
  if (p) p.addEventListener('click', function () { window.print(); });
})();
