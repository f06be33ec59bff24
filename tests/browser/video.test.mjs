// Video in the browser: a creator uploads a clip through the upload page (progress bar), waits for the transcode
// on the edit page, opens /watch/:id and playback advances in Debian's Chromium (hls.js over MSE, H.264 + AAC).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assert, login } from './helpers.mjs';

function makeClip() {
  const dir = mkdtempSync(join(tmpdir(), 'rstream-browser-video-'));
  const file = join(dir, 'browser clip.mp4');
  execFileSync('ffmpeg', ['-v', 'error', '-nostdin', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=480x270:rate=25',
    '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000', '-t', '6', '-c:v', 'libx264', '-preset', 'ultrafast',
    '-pix_fmt', 'yuv420p', '-c:a', 'aac', file]);
  return { dir, file };
}

export default async function uploadTranscodeAndWatch({ page, baseURL, adminEmail, adminPassword, screenshot }) {
  const clip = makeClip();
  try {
    await login(page, baseURL, adminEmail, adminPassword);
    await page.goto(`${baseURL}/videos/upload`);
    await page.waitForSelector('[data-testid=video-upload]');
    await page.setInputFiles('#video-file', clip.file);
    assert(await page.inputValue('#video-title') === 'browser clip', 'the title defaults to the file name');
    await page.fill('#video-title', 'Browser <b>test</b> clip');
    // record the highest progress the bar shows; sessionStorage survives the redirect to the edit page
    await page.evaluate(() => {
      const bar = document.getElementById('upload-bar');
      setInterval(() => {
        const max = Number(sessionStorage.getItem('maxpct') || 0);
        if (bar.value > max) sessionStorage.setItem('maxpct', String(bar.value));
      }, 10);
    });
    const chunks = [];
    page.on('request', (r) => { if (r.method() === 'PUT' && r.url().includes('/api/v1/videos/uploads/')) chunks.push(r.url()); });
    await Promise.all([
      page.waitForURL(/\/videos\/[0-9a-f]{16}\/edit$/, { timeout: 30000 }),
      page.click('#upload-start'),
    ]);
    assert(chunks.length >= 1, 'the file went up in chunks');
    const maxpct = Number(await page.evaluate(() => sessionStorage.getItem('maxpct')));
    assert(maxpct >= 100, `the progress bar reached 100% (max seen ${maxpct})`);
    const id = page.url().match(/\/videos\/([0-9a-f]{16})\/edit/)[1];
    await screenshot('status');

    // the status block polls the API and reloads the page once the ladder is published
    await page.waitForSelector('#status-label.s-ready', { timeout: 60000 });
    assert(await page.locator('#status-label.s-failed').count() === 0, 'the transcode did not fail');

    await page.goto(`${baseURL}/watch/${id}`);
    await page.waitForSelector('[data-testid=watch]');
    const title = await page.textContent('h1.vtitle');
    assert(title.includes('<b>test</b>'), 'the title is shown as text, not markup');
    const supported = await page.evaluate(() => window.MediaSource &&
      MediaSource.isTypeSupported('video/mp4; codecs="avc1.42E01E,mp4a.40.2"'));
    assert(supported, 'this Chromium decodes H.264/AAC through MSE');
    // hls.js parsed the master playlist: the quality menu lists every rung after "auto"
    await page.waitForFunction(() => document.querySelectorAll('#sel-quality option').length >= 2, null, { timeout: 20000 });
    await page.evaluate(() => { const v = document.getElementById('video'); v.muted = true; return v.play(); });
    await page.waitForFunction(() => document.getElementById('video').currentTime > 1.0, null, { timeout: 30000 });
    const t1 = await page.evaluate(() => document.getElementById('video').currentTime);
    await page.waitForFunction((t) => document.getElementById('video').currentTime > t + 0.5, t1, { timeout: 15000 });
    await screenshot('playing');

    // keyboard: "k" pauses, speed menu changes the rate
    await page.focus('#btn-full');
    await page.keyboard.press('k');
    await page.waitForFunction(() => document.getElementById('video').paused, null, { timeout: 5000 });
    await page.selectOption('#sel-speed', '1.5');
    assert(await page.evaluate(() => document.getElementById('video').playbackRate) === 1.5, 'speed applied');
  } finally {
    rmSync(clip.dir, { recursive: true, force: true });
  }
}

export async function aViewerWhoMayNotWatchSeesForbidden({ page, baseURL }) {
  // a guest on the catalog sees public videos only, and a made-up id is not found
  const r = await page.goto(`${baseURL}/watch/ffffffffffffffff`);
  assert(r.status() === 404, `unknown video answers 404 (got ${r.status()})`);
  assert((await page.content()).indexOf('/hls/') < 0, 'no signed URL on the error page');
}

// The first chunk request dies on the wire: the page retries from the offset the server reports and finishes.
export async function uploadSurvivesADroppedConnection({ page, baseURL, adminEmail, adminPassword }) {
  const clip = makeClip();
  try {
    await login(page, baseURL, adminEmail, adminPassword);
    await page.goto(`${baseURL}/videos/upload`);
    let aborted = 0;
    const puts = [];
    await page.route('**/api/v1/videos/uploads/*?offset=*', (route) => {
      puts.push(route.request().url());
      if (aborted === 0) { aborted++; return route.abort('connectionreset'); }
      return route.continue();
    });
    await page.setInputFiles('#video-file', clip.file);
    await Promise.all([
      page.waitForURL(/\/videos\/[0-9a-f]{16}\/edit$/, { timeout: 45000 }),
      page.click('#upload-start'),
    ]);
    assert(aborted === 1, 'one chunk request was cut');
    assert(puts.length >= 2, `the chunk was sent again (${puts.length} PUTs)`);
    assert(puts.every((u) => u.endsWith('offset=0')), 'the retry resumed at the offset the server reported');
  } finally {
    rmSync(clip.dir, { recursive: true, force: true });
  }
}

// Cancel while a chunk is in flight: the request is aborted and the upload is deleted on the server.
export async function uploadCanBeCancelled({ page, baseURL, adminEmail, adminPassword }) {
  const clip = makeClip();
  try {
    await login(page, baseURL, adminEmail, adminPassword);
    await page.goto(`${baseURL}/videos/upload`);
    // hold the chunk so there is time to press cancel
    await page.route('**/api/v1/videos/uploads/*?offset=*', () => new Promise(() => {}));
    const deletes = [];
    page.on('request', (r) => { if (r.method() === 'DELETE') deletes.push(r.url()); });
    await page.setInputFiles('#video-file', clip.file);
    await page.click('#upload-start');
    await page.waitForSelector('#upload-cancel:not([hidden])');
    await page.click('#upload-cancel');
    await page.waitForFunction(() => document.getElementById('upload-status').textContent.length > 0);
    await page.waitForTimeout(300);
    assert(deletes.some((u) => /\/api\/v1\/videos\/uploads\/[0-9a-f]{32}$/.test(u)), 'the upload was deleted on the server');
    assert(new URL(page.url()).pathname === '/videos/upload', 'still on the upload page');
  } finally {
    rmSync(clip.dir, { recursive: true, force: true });
  }
}
