// Suggest-as-you-type for every search box marked data-suggest (header and results page): completions of the
// last word from titles and tags (GET /api/v1/search/suggest) fill the input's <datalist>. Without script the
// box is a plain GET form to /search.
(function () {
  'use strict';
  function setup(input) {
    var list = document.getElementById(input.getAttribute('list'));
    if (!list) return;
    var timer = null, last = '', seq = 0;
    input.addEventListener('input', function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        var q = input.value.trim();
        if (q === last || q.length < 1 || q.length > 200) return;
        last = q;
        var mine = ++seq;
        fetch('/api/v1/search/suggest?q=' + encodeURIComponent(q), { credentials: 'same-origin', headers: { Accept: 'application/json' } })
          .then(function (r) { return r.ok ? r.json() : { suggestions: [] }; })
          .then(function (d) {
            if (mine !== seq) return;   // an older answer arriving late
            while (list.firstChild) list.removeChild(list.firstChild);
            (d.suggestions || []).forEach(function (s) {
              var o = document.createElement('option');
              o.value = s.text;
              list.appendChild(o);
            });
          })
          .catch(function () {});
      }, 120);
    });
  }
  document.querySelectorAll('input[data-suggest]').forEach(setup);
})();
