// Video in the browser: a creator uploads a clip through the upload page (progress bar), waits for the transcode
// on the edit page, opens /watch/:id and playback advances in Debian's Chromium (hls.js over MSE, H.264 + AAC).
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
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

// A phone on a poor connection (issue 12 item 9): the network is throttled (CDP Network.emulateNetworkConditions)
// and drops twice mid-upload, each time while a chunk is on its way and for longer than the first retry; the page
// resumes from the server's offset, completes, and the stored source is byte for byte the file that was chosen.
export async function uploadOnAPoorConnectionResumesWithIdenticalBytes({ page, context, baseURL, adminEmail, adminPassword }) {
  const dir = mkdtempSync(join(tmpdir(), 'rstream-browser-poor-'));
  const file = join(dir, 'phone clip.mp4');
  // about 6 MB: noise does not compress, so 2 s of it make six 1 MB chunks
  execFileSync('ffmpeg', ['-v', 'error', '-nostdin', '-y', '-f', 'lavfi', '-i', 'nullsrc=size=320x240:rate=25,geq=random(1)*255:128:128',
    '-t', '2', '-c:v', 'libx264', '-preset', 'ultrafast', '-qp', '0', '-pix_fmt', 'yuv420p', file]);
  const want = createHash('sha256').update(readFileSync(file)).digest('hex');
  const size = readFileSync(file).length;
  const dataDir = process.env.RSTREAM_DATA_DIR;
  assert(dataDir, 'RSTREAM_DATA_DIR is set by tests/run.sh');
  try {
    await login(page, baseURL, adminEmail, adminPassword);
    // the page's chunk size as video.chunk_mb = 1 would set it (the stack's default is 8 MB, one chunk here)
    await page.route('**/videos/upload', async (route) => {
      const r = await route.fetch();
      const html = (await r.text()).replace(/data-chunk-bytes="\d+"/, 'data-chunk-bytes="1048576"');
      await route.fulfill({ response: r, body: html });
    });
    await page.goto(`${baseURL}/videos/upload`);
    assert(await page.getAttribute('#upload-form', 'data-chunk-bytes') === '1048576', 'chunk size set');
    const cdp = await context.newCDPSession(page);
    const slow = { offline: false, latency: 150, downloadThroughput: 400 * 1024, uploadThroughput: 512 * 1024 };
    await cdp.send('Network.enable');
    await cdp.send('Network.emulateNetworkConditions', slow);
    const offsets = [];
    const dropAt = [];
    let drops = 0;
    await page.route('**/api/v1/videos/uploads/*?offset=*', async (route) => {
      const off = Number(new URL(route.request().url()).searchParams.get('offset'));
      offsets.push(off);
      // the network goes away for 2.5 s under the first chunk after the start, and again two chunks later
      if ((drops === 0 && off > 0) || (drops === 1 && off >= dropAt[0] + 2 * 1048576)) {
        dropAt.push(off);
        drops++;
        await cdp.send('Network.emulateNetworkConditions', { ...slow, offline: true });
        setTimeout(() => { cdp.send('Network.emulateNetworkConditions', slow).catch(() => {}); }, 2500);
        return route.abort('internetdisconnected');
      }
      return route.continue();
    });
    await page.setInputFiles('#video-file', file);
    await Promise.all([
      page.waitForURL(/\/videos\/[0-9a-f]{16}\/edit$/, { timeout: 120000 }),
      page.click('#upload-start'),
    ]);
    await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
    assert(drops === 2, `the connection dropped twice (${drops})`);
    assert(dropAt[0] > 0 && dropAt[1] > dropAt[0], `both drops came mid-upload, at bytes ${dropAt.join(' and ')} of ${size}`);
    const distinct = [...new Set(offsets)];
    assert(distinct.length >= Math.ceil(size / 1048576), `every chunk was sent (${offsets.join(', ')})`);
    for (let i = 1; i < offsets.length; i++) {
      assert(offsets[i] >= offsets[i - 1], `never went back behind what the server had (${offsets.join(', ')})`);
    }
    const id = page.url().match(/\/videos\/([0-9a-f]{16})\/edit/)[1];
    const got = createHash('sha256').update(readFileSync(join(dataDir, 'uploads', 'videos', `${id}.src`))).digest('hex');
    assert(got === want, 'the stored source is byte-identical to the chosen file');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
