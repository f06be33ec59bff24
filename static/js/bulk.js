// Bulk actions on a list. Markup:
//   <form id="F" data-bulk data-bulk-summary="{n}件（{names}）" data-bulk-sep="、" data-bulk-more="ほか">
//     <select name="action"><option value="disable" data-question="{name}を無効にしますか？">…</select>
//     <span data-bulk-count></span> <button type="submit" disabled>
//   <input type="checkbox" data-bulk-all="F">                       selects every row
//   <input type="checkbox" name="ids" value="…" form="F" data-bulk-name="山田 花子">   one per row
// The form's data-confirm question (asked by confirm.js) names how many rows and the first three names, and is
// kept up to date as boxes are ticked, so the person sees what they are about to change before anything happens.
(function () {
  'use strict';
  document.querySelectorAll('form[data-bulk]').forEach(function (form) {
    var boxes = function () { return Array.prototype.slice.call(document.querySelectorAll('input[name=ids][form="' + form.id + '"]')); };
    var all = document.querySelector('input[data-bulk-all="' + form.id + '"]');
    var select = form.querySelector('select[name=action]');
    var button = form.querySelector('button[type=submit]');
    var count = form.querySelector('[data-bulk-count]');
    function update() {
      var chosen = boxes().filter(function (b) { return b.checked; });
      var names = chosen.slice(0, 3).map(function (b) { return b.getAttribute('data-bulk-name') || b.value; });
      var list = names.join(form.getAttribute('data-bulk-sep') || ', ');
      if (chosen.length > 3) list += form.getAttribute('data-bulk-sep') + (form.getAttribute('data-bulk-more') || '…');
      var summary = (form.getAttribute('data-bulk-summary') || '{n} ({names})')
        .split('{n}').join(String(chosen.length)).split('{names}').join(list);
      var option = select.options[select.selectedIndex];
      form.setAttribute('data-confirm', option ? option.getAttribute('data-question') || '' : '');
      form.setAttribute('data-confirm-name', summary);
      if (count) count.textContent = String(chosen.length);
      button.disabled = chosen.length === 0;
      if (all) {
        var n = boxes().length;
        all.checked = n > 0 && chosen.length === n;
        all.indeterminate = chosen.length > 0 && chosen.length < n;
      }
    }
    if (all) all.addEventListener('change', function () {
      boxes().forEach(function (b) { b.checked = all.checked; });
      update();
    });
    boxes().forEach(function (b) { b.addEventListener('change', update); });
    select.addEventListener('change', update);
    update();
  });
})();
