// Searchable picker: choose orgs, classes (or anything a picker endpoint serves) by name instead of typing ids.
// Markup (the input works without script as a comma-separated text field; the picker takes it over):
//   <label for="v-classes">…</label>
//   <input id="v-classes" name="class_sourced_ids" value="id1,id2"
//          data-picker="/api/v1/pickers/classes"   endpoint: GET ?q=text → search, GET ?ids=a,b → labels of chosen
//                                                  (it may carry its own query, e.g. ?mine=1: q and ids are appended)
//          data-picker-multiple                    several values (omit for exactly one)
//          data-picker-placeholder="…" data-picker-empty="…" data-picker-remove="…">   texts in the page language
// The endpoint answers {"items":[{"id","label","detail"}]}. The input becomes hidden and keeps the chosen ids,
// comma-separated, so the form posts exactly what it posted before. Keyboard: type, ↓/↑ to move, Enter to choose,
// Escape to close; each chosen item has a remove button.
(function () {
  'use strict';

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text != null) e.textContent = text;
    return e;
  }

  function getJSON(url) {
    return fetch(url, { credentials: 'same-origin', headers: { Accept: 'application/json' } })
      .then(function (r) { return r.ok ? r.json() : { items: [] }; });
  }

  function setup(input, n) {
    var url = input.getAttribute('data-picker');
    var sep = url.indexOf('?') < 0 ? '?' : '&';
    var multiple = input.hasAttribute('data-picker-multiple');
    var chosen = [];   // [{id,label,detail}]
    var wrap = el('div', 'picker');
    var list = el('ul', 'picker-chosen');
    var search = el('input', 'picker-search');
    var box = el('ul', 'picker-options');
    var active = -1, options = [], timer = null, seq = 0;

    search.type = 'search';
    search.id = (input.id || 'picker' + n) + '-search';
    search.placeholder = input.getAttribute('data-picker-placeholder') || '';
    search.setAttribute('role', 'combobox');
    search.setAttribute('aria-autocomplete', 'list');
    search.setAttribute('aria-expanded', 'false');
    box.id = search.id + '-options';
    box.setAttribute('role', 'listbox');
    box.hidden = true;
    search.setAttribute('aria-controls', box.id);
    var label = input.id && document.querySelector('label[for="' + input.id + '"]');
    if (label) label.htmlFor = search.id;
    input.type = 'hidden';
    input.parentNode.insertBefore(wrap, input.nextSibling);
    wrap.appendChild(list);
    wrap.appendChild(search);
    wrap.appendChild(box);

    function sync() {
      input.value = chosen.map(function (c) { return c.id; }).join(',');
      list.textContent = '';
      chosen.forEach(function (c, i) {
        var li = el('li', 'picker-chip');
        li.appendChild(el('span', 'picker-label', c.label));
        if (c.detail) li.appendChild(el('small', null, c.detail));
        var rm = el('button', 'picker-remove', '×');
        rm.type = 'button';
        rm.setAttribute('aria-label', (input.getAttribute('data-picker-remove') || 'remove') + ': ' + c.label);
        rm.addEventListener('click', function () { chosen.splice(i, 1); sync(); search.focus(); });
        li.appendChild(rm);
        list.appendChild(li);
      });
    }

    function close() {
      box.hidden = true;
      search.setAttribute('aria-expanded', 'false');
      active = -1;
    }

    function choose(item) {
      if (!chosen.some(function (c) { return c.id === item.id; })) {
        if (multiple) chosen.push(item); else chosen = [item];
      }
      search.value = '';
      close();
      sync();
    }

    function highlight(i) {
      active = i;
      Array.prototype.forEach.call(box.children, function (li, k) {
        li.setAttribute('aria-selected', k === i ? 'true' : 'false');
        if (k === i) { search.setAttribute('aria-activedescendant', li.id); li.scrollIntoView({ block: 'nearest' }); }
      });
    }

    function show(items) {
      options = items;
      box.textContent = '';
      if (!items.length) {
        box.appendChild(el('li', 'picker-empty', input.getAttribute('data-picker-empty') || ''));
      }
      items.forEach(function (it, k) {
        var li = el('li', 'picker-option');
        li.id = box.id + '-' + k;
        li.setAttribute('role', 'option');
        li.appendChild(el('span', 'picker-label', it.label));
        if (it.detail) li.appendChild(el('small', null, it.detail));
        li.addEventListener('mousedown', function (e) { e.preventDefault(); choose(it); });
        box.appendChild(li);
      });
      box.hidden = false;
      search.setAttribute('aria-expanded', 'true');
      highlight(items.length ? 0 : -1);
    }

    function query() {
      var q = search.value.trim(), mine = ++seq;
      if (!q) { close(); return; }
      getJSON(url + sep + 'q=' + encodeURIComponent(q)).then(function (b) { if (mine === seq) show(b.items || []); });
    }

    search.addEventListener('input', function () { clearTimeout(timer); timer = setTimeout(query, 200); });
    search.addEventListener('keydown', function (e) {
      if (e.key === 'ArrowDown' && !box.hidden) { e.preventDefault(); highlight(Math.min(active + 1, options.length - 1)); }
      else if (e.key === 'ArrowUp' && !box.hidden) { e.preventDefault(); highlight(Math.max(active - 1, 0)); }
      else if (e.key === 'Enter' && !box.hidden && active >= 0) { e.preventDefault(); choose(options[active]); }
      else if (e.key === 'Escape') close();
    });
    search.addEventListener('blur', function () { setTimeout(close, 150); });

    // values already chosen: show their names (an id the endpoint no longer knows stays, shown as itself)
    var ids = input.value.split(',').map(function (s) { return s.trim(); }).filter(Boolean);
    chosen = ids.map(function (id) { return { id: id, label: id, detail: '' }; });
    sync();
    if (ids.length) {
      getJSON(url + sep + 'ids=' + encodeURIComponent(ids.join(','))).then(function (b) {
        var byId = {};
        (b.items || []).forEach(function (it) { byId[it.id] = it; });
        chosen = chosen.map(function (c) { return byId[c.id] || c; });
        sync();
      });
    }
  }

  Array.prototype.forEach.call(document.querySelectorAll('input[data-picker]'), setup);
})();
