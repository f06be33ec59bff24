// Confirmation before destructive actions, loaded on every page (layout.html). Markup:
//   <form data-confirm="「{name}」を削除しますか？" data-confirm-name="数学">   asks when the form is submitted
//   <button data-confirm="…{name}…" data-confirm-name="…">                 asks when the button is clicked
// {name} in the question is replaced by data-confirm-name, so the person sees which object they are about to lose.
// Listeners run in the capture phase: a refused action never reaches the page's own handlers.
(function () {
  'use strict';
  function ask(el) {
    var q = el.getAttribute('data-confirm') || '';
    return window.confirm(q.split('{name}').join(el.getAttribute('data-confirm-name') || ''));
  }
  document.addEventListener('submit', function (e) {
    var f = e.target;
    if (f instanceof HTMLFormElement && f.hasAttribute('data-confirm') && !ask(f)) {
      e.preventDefault();
      e.stopImmediatePropagation();
    }
  }, true);
  document.addEventListener('click', function (e) {
    var b = e.target instanceof Element ? e.target.closest('button[data-confirm], a[data-confirm]') : null;
    if (b && !ask(b)) {
      e.preventDefault();
      e.stopImmediatePropagation();
    }
  }, true);
})();
