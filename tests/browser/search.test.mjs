// Search in the browser: a caption line found from the header search box opens the watch page at that moment;
// "search in this video" jumps within the page; the results page fits a 375 px phone without sideways scrolling.
// The test makes its own video (a short clip, transcoded by the stack) with a unique word, so other tests' data
// does not matter.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assert, login } from './helpers.mjs';

async function api(baseURL, token, method, path, body, type) {
  const headers = { Authorization: `Bearer ${token}`, Accept: 'application/json' };
  if (type) headers['Content-Type'] = type;
  const r = await fetch(baseURL + path, { method, headers, body });
  const text = await r.text();
  if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${text.slice(0, 300)}`);
  return text ? JSON.parse(text) : null;
}

export default async function captionHitOpensTheMoment({ page, baseURL, adminEmail, adminPassword, screenshot }) {
  const dir = mkdtempSync(join(tmpdir(), 'rstream-browser-search-'));
  try {
    const file = join(dir, 'search clip.mp4');
    execFileSync('ffmpeg', ['-v', 'error', '-nostdin', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=320x180:rate=25',
      '-t', '14', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', file]);
    const login1 = await fetch(`${baseURL}/api/v1/auth/login`, {
      method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ email: adminEmail, password: adminPassword }),
    });
    const { token } = await login1.json();
    const word = `kw${Date.now().toString(36)}`;
    const up = await api(baseURL, token, 'POST', `/api/v1/videos?title=${encodeURIComponent('授業 ' + word)}&filename=clip.mp4`,
      readFileSync(file), 'application/octet-stream');
    const id = up.video.id;
    for (let i = 0; i < 240; i++) {
      const v = await api(baseURL, token, 'GET', `/api/v1/videos/${id}`);
      if (v.video.status === 'ready') break;
      assert(v.video.status !== 'failed' && v.video.status !== 'rejected', `transcode: ${v.video.status}`);
      await new Promise((r) => setTimeout(r, 500));
    }
    await api(baseURL, token, 'PUT', `/api/v1/videos/${id}`, JSON.stringify({ visibility: 'public' }), 'application/json');
    await api(baseURL, token, 'PUT', `/api/v1/videos/${id}/captions?lang=ja`,
      `WEBVTT\n\n00:00:01.000 --> 00:00:03.000\nはじめに ${word}\n\n00:00:09.000 --> 00:00:11.000\n今日は算数の時間です\n`,
      'text/vtt');

    await login(page, baseURL, adminEmail, adminPassword);
    // the header box is on every page; Enter submits it
    await page.fill('#topq', `算数 ${word}`);
    await Promise.all([page.waitForURL(/\/search\?/), page.press('#topq', 'Enter')]);
    await page.waitForSelector('[data-testid=search-count]');
    const hits = page.locator(`li.search-hit[data-video-id="${id}"] a[data-testid=cue-hit]`);
    assert(await hits.count() === 2, 'both caption lines with a query word are listed under the video');
    const hit = hits.filter({ hasText: '算数' });
    assert(await hit.count() === 1, 'the line that says it is one of them');
    assert((await hit.locator('mark').first().textContent()) === '算数', 'the query is marked in the line');
    assert((await hit.textContent()).includes('0:09'), 'the line shows its time');
    await screenshot('results');

    await Promise.all([page.waitForURL(new RegExp(`/watch/${id}\\?t=9$`)), hit.click()]);
    await page.waitForFunction(() => {
      const v = document.getElementById('video');
      return v && v.readyState >= 1 && Math.abs(v.currentTime - 9) < 0.6;
    }, null, { timeout: 20000 });

    // search in this video: the hit seeks without leaving the page
    await page.evaluate(() => { const v = document.getElementById('video'); v.muted = true; v.currentTime = 0; });
    await page.fill('#vsq', '算数');
    await Promise.all([page.waitForURL(/sq=/), page.press('#vsq', 'Enter')]);
    const inVideo = page.locator('[data-testid=video-search-hits] a[data-seek="9"]');
    assert(await inVideo.count() === 1, 'search in this video lists the line');
    await page.waitForFunction(() => document.getElementById('video').readyState >= 1, null, { timeout: 20000 });
    await page.evaluate(() => { document.getElementById('video').currentTime = 0; });
    await inVideo.click();
    await page.waitForFunction(() => Math.abs(document.getElementById('video').currentTime - 9) < 0.6, null, { timeout: 10000 });
    assert(page.url().includes('t=9'), 'the address keeps the moment');

    // a phone: no sideways scrolling on the results page, the header box still there
    await page.setViewportSize({ width: 375, height: 800 });
    await page.goto(`${baseURL}/search?q=${encodeURIComponent('算数 ' + word)}`);
    await page.waitForSelector('[data-testid=search-count]');
    const wide = await page.evaluate(() => document.documentElement.scrollWidth);
    assert(wide <= 376, `the page fits 375 px (scrollWidth ${wide})`);
    assert(await page.locator('#topq').isVisible(), 'the header search box is visible on a phone');
    await screenshot('results-375');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
