// Course editor: the ordered video list is reordered by drag and drop, or from the keyboard (each row's up/down
// buttons, or Alt+ArrowUp/Alt+ArrowDown on a focused row); saving sends the whole course to the JSON API.
(function () {
  'use strict';
  var form = document.getElementById('course-form');
  if (!form) return;
  var list = document.getElementById('course-list'), live = document.getElementById('course-live');
  var err = document.getElementById('course-error'), add = document.getElementById('course-add');
  var d = form.dataset, dragged = null;

  function csrf() { var m = document.querySelector('meta[name="csrf-token"]'); return m ? m.content : ''; }
  function say(li) {
    var items = Array.prototype.slice.call(list.children);
    live.textContent = d.msgMoved.replace('%1', li.querySelector('.vt').textContent).replace('%2', String(items.indexOf(li) + 1));
  }
  function move(li, dir) {
    var other = dir < 0 ? li.previousElementSibling : li.nextElementSibling;
    if (!other) return;
    if (dir < 0) list.insertBefore(li, other); else list.insertBefore(other, li);
    li.focus();
    say(li);
  }
  function button(label, text, fn) {
    var b = document.createElement('button');
    b.type = 'button';
    b.className = 'mini';
    b.textContent = text;
    b.setAttribute('aria-label', label);
    b.addEventListener('click', fn);
    return b;
  }
  function decorate(li) {
    var title = li.querySelector('.vt').textContent;
    var tools = document.createElement('span');
    tools.className = 'tools';
    tools.appendChild(button(d.labelUp + ': ' + title, '↑', function () { move(li, -1); }));
    tools.appendChild(button(d.labelDown + ': ' + title, '↓', function () { move(li, 1); }));
    tools.appendChild(button(d.labelRemove + ': ' + title, '✕', function () {
      var next = li.nextElementSibling || li.previousElementSibling;
      li.remove();
      if (next) next.focus();
    }));
    li.appendChild(tools);
    li.addEventListener('keydown', function (e) {
      if (e.target !== li || !e.altKey) return;
      if (e.key === 'ArrowUp') { move(li, -1); e.preventDefault(); }
      if (e.key === 'ArrowDown') { move(li, 1); e.preventDefault(); }
    });
    li.addEventListener('dragstart', function (e) { dragged = li; li.classList.add('dragging'); e.dataTransfer.effectAllowed = 'move'; e.dataTransfer.setData('text/plain', li.dataset.id); });
    li.addEventListener('dragend', function () { li.classList.remove('dragging'); dragged = null; });
    li.addEventListener('dragover', function (e) {
      if (!dragged || dragged === li) return;
      e.preventDefault();
      var r = li.getBoundingClientRect();
      list.insertBefore(dragged, e.clientY < r.top + r.height / 2 ? li : li.nextSibling);
    });
    li.addEventListener('drop', function (e) { e.preventDefault(); if (dragged) say(dragged); });
  }
  Array.prototype.forEach.call(list.children, decorate);

  document.getElementById('course-add-btn').addEventListener('click', function () {
    var id = add.value;
    if (!id || list.querySelector('li[data-id="' + id + '"]')) return;
    var li = document.createElement('li');
    li.dataset.id = id;
    li.draggable = true;
    li.tabIndex = 0;
    var grip = document.createElement('span'), vt = document.createElement('span');
    grip.className = 'grip'; grip.setAttribute('aria-hidden', 'true'); grip.textContent = '⠿';
    vt.className = 'vt'; vt.textContent = add.options[add.selectedIndex].textContent;
    li.appendChild(grip); li.appendChild(vt);
    list.appendChild(li);
    decorate(li);
    add.value = '';
    li.focus();
  });

  form.addEventListener('submit', function (e) {
    e.preventDefault();
    err.hidden = true;
    var body = {
      title: form.title.value, description: form.description.value, visibility: form.visibility.value,
      videos: Array.prototype.map.call(list.children, function (li) { return li.dataset.id; })
    };
    fetch(d.id ? '/api/v1/courses/' + d.id : '/api/v1/courses', {
      method: d.id ? 'PUT' : 'POST', credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrf(), Accept: 'application/json' },
      body: JSON.stringify(body)
    }).then(function (r) {
      return r.json().then(function (j) {
        if (!r.ok) throw new Error(j && j.error ? j.error.message : d.msgError);
        window.location.href = '/courses/' + j.course.id;
      });
    }).catch(function (x) { err.textContent = x.message || d.msgError; err.hidden = false; });
  });
})();
