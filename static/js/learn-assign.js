// New assignment form: sends the course or video, the classes chosen in the picker (its hidden input holds their
// sourcedIds, comma-separated: the API takes that string as it is) and the dates to /api/v1/assignments.
(function () {
  'use strict';
  var form = document.getElementById('assign-form');
  if (!form) return;
  var err = document.getElementById('assign-error');
  function csrf() { var m = document.querySelector('meta[name="csrf-token"]'); return m ? m.content : ''; }
  form.addEventListener('submit', function (e) {
    e.preventDefault();
    err.hidden = true;
    var kind = form.querySelector('input[name=kind]:checked').value, body = {};
    if (kind === 'course') body.course = Number(form.course.value); else body.video = form.video.value;
    body.classes = form.classes ? form.classes.value : '';
    if (form.start_at.value) body.start_at = form.start_at.value;
    if (form.due_at.value) body.due_at = form.due_at.value;
    fetch('/api/v1/assignments', {
      method: 'POST', credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrf(), Accept: 'application/json' },
      body: JSON.stringify(body)
    }).then(function (r) {
      return r.json().then(function (j) {
        if (!r.ok) throw new Error(j && j.error ? j.error.message : form.dataset.msgError);
        window.location.href = '/assignments/' + j.assignment.id;
      });
    }).catch(function (x) { err.textContent = x.message || form.dataset.msgError; err.hidden = false; });
  });
})();
