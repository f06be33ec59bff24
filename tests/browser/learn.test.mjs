// Learning in the browser: a creator uploads two clips, builds a course (keyboard reordering in the editor),
// watches the first clip to the end on the watch page; the heartbeats go through Redis and the worker, and the
// course page and the history then show the progress.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assert, login } from './helpers.mjs';

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
    assert(beats.length >= 1 && beats.every((s) => s === 204), `heartbeats accepted (${beats})`);

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
