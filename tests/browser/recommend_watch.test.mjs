// "Next up" on the watch page at 375 px: the next video of a course is listed first under the player, in Japanese,
// with no sideways scrolling, and clicking it opens that video. The test uploads its own two short clips (unique
// titles) and puts them in its own course, so other tests' data does not matter.
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

async function readyVideo(baseURL, token, file, title) {
  const up = await api(baseURL, token, 'POST', `/api/v1/videos?title=${encodeURIComponent(title)}&filename=clip.mp4`,
    readFileSync(file), 'application/octet-stream');
  const id = up.video.id;
  for (let i = 0; i < 240; i++) {
    const v = await api(baseURL, token, 'GET', `/api/v1/videos/${id}`);
    if (v.video.status === 'ready') break;
    assert(v.video.status !== 'failed' && v.video.status !== 'rejected', `transcode: ${v.video.status}`);
    await new Promise((r) => setTimeout(r, 500));
  }
  await api(baseURL, token, 'PUT', `/api/v1/videos/${id}`, JSON.stringify({ visibility: 'public' }), 'application/json');
  return id;
}

export default async function nextUpOnAPhone({ page, baseURL, adminEmail, adminPassword, screenshot }) {
  const dir = mkdtempSync(join(tmpdir(), 'rstream-browser-recommend-'));
  try {
    const file = join(dir, 'clip.mp4');
    execFileSync('ffmpeg', ['-v', 'error', '-nostdin', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=320x180:rate=25',
      '-t', '2', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', file]);
    const r = await fetch(`${baseURL}/api/v1/auth/login`, {
      method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ email: adminEmail, password: adminPassword }),
    });
    const { token } = await r.json();
    const tag = Date.now().toString(36);
    const first = await readyVideo(baseURL, token, file, `第1回 かけ算 ${tag}`);
    const second = await readyVideo(baseURL, token, file, `第2回 わり算 ${tag}`);
    await api(baseURL, token, 'POST', '/api/v1/courses',
      JSON.stringify({ title: `算数コース ${tag}`, visibility: 'public', videos: [first, second] }), 'application/json');

    await page.setViewportSize({ width: 375, height: 800 });
    await login(page, baseURL, adminEmail, adminPassword);
    await page.goto(`${baseURL}/watch/${first}`);
    const section = page.locator('[data-testid=next-up]');
    await section.waitFor();
    assert((await section.locator('h2').textContent()).includes('次に見る'), 'the heading is Japanese');
    const cards = section.locator('li.video-card');
    assert(await cards.count() >= 1, 'at least one video is suggested');
    assert((await cards.first().getAttribute('data-video-id')) === second, 'the next video of the course comes first');
    assert((await cards.first().textContent()).includes('コースの次の動画'), 'with its reason in words');
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert(overflow <= 0, `no sideways scrolling at 375 px (${overflow} px)`);
    await section.scrollIntoViewIfNeeded();
    await screenshot('next-up-375');
    await Promise.all([page.waitForURL(new RegExp(`/watch/${second}$`)), cards.first().locator('a.vtitle').click()]);
    assert((await page.textContent('h1.vtitle')).includes('わり算'), 'the suggested video opens');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
