// Learning in the browser: a creator uploads two clips, builds a course (keyboard reordering in the editor),
// watches the first clip to the end on the watch page; the heartbeats go through Redis and the worker, and the
// course page and the history then show the progress. A rostered teacher assigns a course to their class by
// typing part of the class name into the picker.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assert, login, submitAndWait } from './helpers.mjs';
import { ensureRoster } from './ui_helpers.mjs';

function makeClip(dir, name) {
  const file = join(dir, name);
  execFileSync('ffmpeg', ['-v', 'error', '-nostdin', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=320x180:rate=25',
    '-f', 'lavfi', '-i', 'sine=frequency=330:sample_rate=48000', '-t', '4', '-c:v', 'libx264', '-preset', 'ultrafast',
    '-pix_fmt', 'yuv420p', '-c:a', 'aac', file]);
  return file;
}

async function upload(page, baseURL, file, title) {
  await page.goto(`${baseURL}/videos/upload`);
  await page.setInputFiles('#video-file', file);
  await page.fill('#video-title', title);
  await Promise.all([
    page.waitForURL(/\/videos\/[0-9a-f]{16}\/edit$/, { timeout: 45000 }),
    page.click('#upload-start'),
  ]);
  const id = page.url().match(/\/videos\/([0-9a-f]{16})\/edit/)[1];
  await page.waitForSelector('#status-label.s-ready', { timeout: 90000 });
  return id;
}

export default async function watchingFillsTheCourseProgress({ page, baseURL, adminEmail, adminPassword, screenshot }) {
  const dir = mkdtempSync(join(tmpdir(), 'rstream-browser-learn-'));
  try {
    await login(page, baseURL, adminEmail, adminPassword);
    const a = await upload(page, baseURL, makeClip(dir, 'learn-a.mp4'), '第1回 たし算');
    const b = await upload(page, baseURL, makeClip(dir, 'learn-b.mp4'), '第2回 ひき算');

    // the course editor: add both, then move the second above the first from the keyboard
    await page.goto(`${baseURL}/courses/new`);
    await page.fill('#course-title', 'ブラウザテストのコース');
    await page.selectOption('#course-add', b);
    await page.click('#course-add-btn');
    await page.selectOption('#course-add', a);
    await page.click('#course-add-btn');
    let order = await page.$$eval('#course-list li', (lis) => lis.map((li) => li.dataset.id));
    assert(order[0] === b && order[1] === a, 'added in order');
    await page.focus(`#course-list li[data-id="${a}"]`);
    await page.keyboard.press('Alt+ArrowUp');
    order = await page.$$eval('#course-list li', (lis) => lis.map((li) => li.dataset.id));
    assert(order[0] === a && order[1] === b, `Alt+ArrowUp moved the row up (${order})`);
    assert((await page.textContent('#course-live')).length > 0, 'the move is announced to screen readers');
    await screenshot('course-editor');
    await Promise.all([page.waitForURL(/\/courses\/\d+$/, { timeout: 15000 }), page.click('#course-save')]);
    const courseURL = page.url();
    assert((await page.textContent('[data-testid=course-progress]')).includes('0/2'), 'nothing watched yet');
    const titles = await page.$$eval('.course-videos li a', (as) => as.map((x) => x.textContent));
    assert(titles[0] === '第1回 たし算', `the saved order holds (${titles})`);

    // watch the first clip to its end: heartbeats go out on "ended"
    await page.goto(`${baseURL}/watch/${a}`);
    await page.waitForSelector('#player[data-session]');
    assert((await page.getAttribute('#player', 'data-session')).split('.').length === 7, 'the page carries a signed playback session');
    const beats = [];
    page.on('response', (r) => { if (r.url().endsWith('/api/v1/views/heartbeat')) beats.push(r.status()); });
    await page.evaluate(() => { const v = document.getElementById('video'); v.muted = true; return v.play(); });
    await page.waitForFunction(() => document.getElementById('video').ended, null, { timeout: 30000 });
    await page.waitForFunction(() => Number(document.getElementById('player').dataset.beats || 0) >= 1, null, { timeout: 10000 });
    assert(beats.length >= 1 && beats.every((s) => s === 202), `heartbeats accepted (${beats})`);

    // the worker flushes within a second or two: reload the course page until the progress shows
    let text = '';
    for (let i = 0; i < 30; i++) {
      await page.goto(courseURL);
      text = await page.textContent('[data-testid=course-progress]');
      if (text.includes('1/2')) break;
      await page.waitForTimeout(500);
    }
    assert(text.includes('1/2'), `the course shows one of two videos complete (${text.trim()})`);
    assert(await page.locator('.course-videos li').first().locator('.badge.done').count() === 1, 'the first video is marked complete');
    await screenshot('course-progress');
    await page.goto(`${baseURL}/my/history`);
    assert((await page.textContent('[data-testid=learn-history]')).includes('第1回 たし算'), 'the history lists the clip');
    await page.setViewportSize({ width: 375, height: 800 });
    await page.goto(courseURL);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth + 1);
    assert(!overflow, 'the course page fits 375 px');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// A teacher from the imported roster (an account linked to a roster teacher, with a password the admin sets) picks
// their class by name in the assignment form's picker, submits, and sees the assignment with that class.
// The first creator account linked to a roster teacher with an active class, found from the admin's roster pages
// (not from the picker under test). Accounts made by other tests may carry a sourcedId with no roster row, or a
// roster import may have left the e-mail empty (taken by an earlier account): neither matters, the test sets both.
async function findRosterTeacher(page, baseURL) {
  for (let after = 0, pages = 0; pages < 100; pages++) {
    const r = await page.request.get(`${baseURL}/api/v1/users?role=creator&limit=500&after=${after}`);
    assert(r.ok(), 'the admin lists the creator accounts');
    const users = (await r.json()).users || [];
    if (users.length === 0) return null;
    for (const u of users) {
      after = Math.max(after, Number(u.id) || 0);
      if (!u.sourced_id || u.disabled) continue;
      const res = await page.goto(`${baseURL}/admin/roster/users/${encodeURIComponent(u.sourced_id)}`);
      if (!res || !res.ok()) continue;
      const row = page.locator('main table.grid tbody tr:has(.state.s-active) td a[href^="/admin/roster/classes/"]').first();
      if (await row.count() === 0) continue;
      return { user: u, className: (await row.textContent()).trim() };
    }
  }
  return null;
}

// A teacher from the imported roster (an account linked to a roster teacher, with a password the admin sets) picks
// their class by name in the assignment form's picker, submits, and sees the assignment with that class.
export async function aTeacherAssignsTheirClassThroughThePicker({ page, baseURL, adminEmail, adminPassword, screenshot }) {
  await login(page, baseURL, adminEmail, adminPassword);
  await ensureRoster(page, baseURL);
  let found = await findRosterTeacher(page, baseURL);
  if (!found) {
    // earlier tests replaced the roster with bundles whose teachers have no account: import a known one
    await ensureRoster(page, baseURL, { force: true });
    found = await findRosterTeacher(page, baseURL);
  }
  assert(found, 'the roster has a teacher with an account and an active class');
  const teacher = found.user, className = found.className;
  const email = `picker-teacher-${Date.now()}@example.jp`;
  const password = 'Picker-Teacher-Passw0rd!';
  await page.goto(`${baseURL}/admin/users/${teacher.id}/edit`);
  await page.fill('#email', email);
  const pw = page.locator('input[name=sign_in][value=password]');
  if (await pw.count() > 0) await pw.check();
  await page.fill('#password', password);
  await submitAndWait(page, 'main form button.primary[type=submit]');

  await page.context().clearCookies();
  await login(page, baseURL, email, password);
  const courseTitle = `課題のコース ${Date.now()}`;
  await page.goto(`${baseURL}/courses/new`);
  await page.fill('#course-title', courseTitle);
  await Promise.all([page.waitForURL(/\/courses\/\d+$/, { timeout: 15000 }), page.click('#course-save')]);

  await page.goto(`${baseURL}/assignments`);
  await page.selectOption('#assign-course', { label: courseTitle });
  assert(await page.locator('#assign-classes').getAttribute('type') === 'hidden', 'the class field became a picker');
  assert(await page.getAttribute('label[for="assign-classes-search"]', 'for') === 'assign-classes-search', 'its label names the search box');
  await page.fill('#assign-classes-search', className.slice(0, Math.max(2, Math.ceil(className.length / 2))));
  const option = page.locator('#assign-classes-search-options .picker-option', {
    has: page.locator('.picker-label', { hasText: new RegExp(`^${className.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`) }),
  }).first();
  await option.waitFor();
  await screenshot('assign-picker-open');
  await option.click();
  assert((await page.locator('.picker-chip .picker-label').first().textContent()) === className, 'the chosen class shows by name');
  const chosen = await page.inputValue('#assign-classes');
  assert(chosen.length > 0 && !chosen.includes(','), `the hidden field holds one class id (${chosen})`);
  await Promise.all([page.waitForURL(/\/assignments\/\d+$/, { timeout: 15000 }), page.click('#assign-form button.primary[type=submit]')]);
  assert((await page.textContent('h1')).includes(courseTitle), 'the assignment page shows the course');
  assert((await page.textContent('main .sub')).includes(className), 'and the class it was given to');
  await page.goto(`${baseURL}/assignments`);
  const row = page.locator('[data-testid=learn-assignments] tbody tr', { hasText: courseTitle });
  assert((await row.textContent()).includes(className), 'the teacher\'s list shows the new assignment with its class');
  await screenshot('assign-done');
}
