// Statistics in the browser: a creator uploads a short clip and watches it; the video's stats page then draws the
// views-per-day line and the retention area as SVG with labelled axes, a data table under a disclosure, a date-range
// form and a CSV link; it fits a 375 px screen. The admin's KPI page draws its charts too.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assert, login } from './helpers.mjs';

function makeClip(dir) {
  const file = join(dir, 'stats.mp4');
  execFileSync('ffmpeg', ['-v', 'error', '-nostdin', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=320x180:rate=25',
    '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000', '-t', '4', '-c:v', 'libx264', '-preset', 'ultrafast',
    '-pix_fmt', 'yuv420p', '-c:a', 'aac', file]);
  return file;
}

// an SVG chart with a title, axis titles, tick labels on both axes and a drawn line
async function checkLineChart(page, testid) {
  const c = await page.evaluate((id) => {
    const fig = document.querySelector(`[data-testid=${id}]`);
    const svg = fig && fig.querySelector('svg.stats-line');
    if (!svg) return null;
    return {
      title: svg.querySelector('title')?.textContent || '',
      xTitle: svg.querySelector('.x-title')?.textContent || '',
      yTitle: svg.querySelector('.y-title')?.textContent || '',
      xticks: svg.querySelectorAll('.xtick').length,
      yticks: svg.querySelectorAll('.ytick').length,
      line: svg.querySelector('path.line')?.getAttribute('d') || '',
      table: fig.querySelectorAll('details table tbody tr').length,
      csv: fig.querySelector('a.csv')?.getAttribute('href') || '',
    };
  }, testid);
  assert(c, `${testid}: an SVG line chart`);
  assert(c.title && c.xTitle && c.yTitle, `${testid}: titled, both axes labelled (${JSON.stringify(c)})`);
  assert(c.xticks >= 2 && c.yticks >= 2, `${testid}: tick labels on both axes`);
  assert(c.line.startsWith('M'), `${testid}: a drawn line`);
  assert(c.table > 0, `${testid}: a data table under <details> as text alternative`);
  return c;
}

// labels of one axis never overlap each other
async function ticksApart(page, testid) {
  return page.evaluate((id) => {
    const boxes = [...document.querySelectorAll(`[data-testid=${id}] svg .xtick`)].map((t) => t.getBoundingClientRect());
    for (let i = 1; i < boxes.length; i++) if (boxes[i].left < boxes[i - 1].right) return false;
    return true;
  }, testid);
}

export default async function videoStatsPageDrawsChartsWithATableAlternative({ page, baseURL, adminEmail, adminPassword, screenshot }) {
  const dir = mkdtempSync(join(tmpdir(), 'rstream-browser-stats-'));
  try {
    await page.context().addCookies([{ name: 'rs_lang', value: 'ja', url: baseURL }]);
    await login(page, baseURL, adminEmail, adminPassword);
    await page.goto(`${baseURL}/videos/upload`);
    await page.setInputFiles('#video-file', makeClip(dir));
    await page.fill('#video-title', `統計の確認 ${Date.now()}`);
    await Promise.all([page.waitForURL(/\/videos\/[0-9a-f]{16}\/edit$/, { timeout: 45000 }), page.click('#upload-start')]);
    const id = page.url().match(/\/videos\/([0-9a-f]{16})\/edit/)[1];
    await page.waitForSelector('#status-label.s-ready', { timeout: 90000 });
    // the edit page links to the stats
    await page.reload();
    assert(await page.locator('[data-testid=video-stats-link]').count() === 1, 'the edit page links to the video stats');

    // watch it to the end: the heartbeats reach the rollups through Redis and the worker
    await page.goto(`${baseURL}/watch/${id}`);
    await page.waitForSelector('#player[data-session]');
    await page.evaluate(() => { const v = document.getElementById('video'); v.muted = true; return v.play(); });
    await page.waitForFunction(() => document.getElementById('video').ended, null, { timeout: 30000 });
    await page.waitForFunction(() => Number(document.getElementById('player').dataset.beats || 0) >= 1, null, { timeout: 10000 });

    let views = '0';
    for (let i = 0; i < 60 && views === '0'; i++) {
      await page.goto(`${baseURL}/stats/videos/${id}`);
      views = (await page.textContent('[data-testid=views]')).trim();
      if (views === '0') await page.waitForTimeout(500);
    }
    assert(views === '1', `one view counted (got ${views})`);
    await checkLineChart(page, 'chart-views');
    const ret = await checkLineChart(page, 'chart-retention');
    assert(await page.locator('[data-testid=chart-retention] path.area').count() === 1, 'the retention curve is an area');
    assert(ret.table === 100, `retention in 100 buckets (1 % of the length each), got ${ret.table}`);
    assert(await ticksApart(page, 'chart-views'), 'date labels do not overlap at desktop width');
    // the picker is a plain GET form; the CSV link carries the same range
    const from = await page.inputValue('[data-testid=stats-range] input[name=from]');
    const to = await page.inputValue('[data-testid=stats-range] input[name=to]');
    assert(/^\d{4}-\d{2}-\d{2}$/.test(from) && /^\d{4}-\d{2}-\d{2}$/.test(to), 'the range form shows ISO dates');
    const csv = await page.getAttribute('[data-testid=csv-daily]', 'href');
    assert(csv.includes(`from=${from}`) && csv.includes(`to=${to}`), 'the CSV is the data drawn');
    const res = await page.request.get(`${baseURL}${csv}`);
    const body = await res.body();
    assert(res.status() === 200 && body[0] === 0xef && body[1] === 0xbb && body[2] === 0xbf, 'the CSV starts with a BOM');
    // a narrower range from the form
    await page.fill('[data-testid=stats-range] input[name=from]', to);
    await Promise.all([page.waitForURL(/from=/), page.click('[data-testid=stats-range] button')]);
    assert(await page.locator('[data-testid=chart-views] details table tbody tr').count() === 1, 'one day drawn for a one-day range');
    await screenshot('stats-video');

    // 375 px: nothing wider than the screen
    await page.setViewportSize({ width: 375, height: 800 });
    await page.goto(`${baseURL}/stats/videos/${id}`);
    const wide = await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth + 1);
    assert(!wide, 'the stats page fits 375 px');
    assert(await ticksApart(page, 'chart-views'), 'date labels do not overlap at 375 px');
    await screenshot('stats-video-375');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function adminKpiPageDrawsActiveUsersAndUploads({ page, baseURL, adminEmail, adminPassword, screenshot }) {
  await page.context().addCookies([{ name: 'rs_lang', value: 'ja', url: baseURL }]);
  await login(page, baseURL, adminEmail, adminPassword);
  await page.goto(`${baseURL}/admin/stats`);
  await checkLineChart(page, 'chart-dau');
  assert(await page.locator('[data-testid=chart-uploads] svg rect.bar').count() === 30, 'uploads per day as 30 bars');
  // a reversed range is refused with a message, not a chart
  const res = await page.goto(`${baseURL}/admin/stats?from=2026-03-02&to=2026-03-01`);
  assert(res.status() === 400, 'a reversed range is a 400');
  await page.setViewportSize({ width: 375, height: 800 });
  await page.goto(`${baseURL}/admin/stats`);
  assert(!(await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth + 1)), 'the KPI page fits 375 px');
  await screenshot('stats-kpis-375');
}
