// Dataset pages in the browser (Japanese, 375 px and desktop): an admin creates a roster dataset on the list page,
// two imports (the second renames, removes and adds pupils and blanks one pupil's kana) become a timeline of two
// versions; the diff form shows "+2, ~3, −2" users; the version page shows the quality results with the missing-kana
// warning; the quality page draws the trend as SVG and lists the offending row with a CSV link.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { assert, login } from './helpers.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

async function api(baseURL, token, method, path, body, type) {
  const res = await fetch(`${baseURL}${path}`, {
    method, body, headers: { Authorization: `Bearer ${token}`, Accept: 'application/json', ...(type ? { 'Content-Type': type } : {}) },
  });
  const json = await res.json();
  assert(res.status < 300, `${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

async function importInto(baseURL, token, dataset, file) {
  const up = await api(baseURL, token, 'POST', `/api/v1/roster/imports?filename=bundle.zip&dataset_id=${dataset}`,
    readFileSync(file), 'application/zip');
  for (let i = 0; i < 600; i++) {
    const j = await api(baseURL, token, 'GET', `/api/v1/jobs/${up.import.job_id}`);
    if (j.job.state === 'done') return;
    assert(!['failed', 'cancelled', 'dead'].includes(j.job.state), `import job ${j.job.state}`);
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error('import did not finish');
}

async function fits(page, what) {
  const wide = await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth + 1);
  assert(!wide, `${what} fits 375 px`);
}

export default async function datasetTimelineDiffAndQuality({ page, baseURL, adminEmail, adminPassword, screenshot }) {
  const dir = mkdtempSync(join(tmpdir(), 'rstream-browser-datasets-'));
  try {
    const seed = String(3000 + (Date.now() % 5000));
    const clean = join(dir, 'clean.zip'), tweak = join(dir, 'tweak.zip'), next = join(dir, 'next.zip');
    execFileSync('python3', [join(root, 'scripts', 'gen_roster_bundle.py'), '--users', '30', '--seed', seed, '--out', clean]);
    execFileSync('python3', [join(root, 'tests', 'support', 'data_bundle.py'), clean, tweak, '--tweak']);
    execFileSync('python3', [join(root, 'tests', 'support', 'data_bundle.py'), tweak, next, '--blank-kana', '1']);
    const login1 = await fetch(`${baseURL}/api/v1/auth/login`, {
      method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ email: adminEmail, password: adminPassword }),
    });
    const { token } = await login1.json();

    await page.context().addCookies([{ name: 'rs_lang', value: 'ja', url: baseURL }]);
    await login(page, baseURL, adminEmail, adminPassword);
    await page.goto(`${baseURL}/admin/datasets`);
    assert(await page.isVisible('[data-testid=datasets-list]'), 'the dataset list renders');
    const name = `ブラウザ名簿 ${Date.now()}`;
    await page.fill('#ds-name', name);
    await Promise.all([page.waitForURL(/\/admin\/datasets\/[0-9]+(\?.*)?$/), page.click('[data-testid=dataset-create] button[type=submit]')]);
    const id = page.url().match(/\/admin\/datasets\/([0-9]+)/)[1];
    await importInto(baseURL, token, id, clean);
    await importInto(baseURL, token, id, next);

    // the search finds it
    await page.goto(`${baseURL}/admin/datasets?q=${encodeURIComponent(name)}`);
    assert(await page.locator('[data-testid=dataset-row]').count() === 1, 'the search finds the new dataset');

    await page.goto(`${baseURL}/admin/datasets/${id}`);
    assert(await page.locator('[data-testid=dataset-timeline] li').count() === 2, 'two versions on the timeline');
    await page.selectOption('#diff-from', '1');
    await page.selectOption('#diff-to', '2');
    await Promise.all([page.waitForURL(/\/diff\?/), page.click('[data-testid=dataset-diff-form] button')]);
    const summary = await page.textContent('[data-testid=dataset-diff-summary]');
    assert(summary.includes('ユーザー: +2, ~3, −2'), `users: 2 added, 3 changed (one also without kana), 2 removed (${summary})`);
    await screenshot('datasets-diff');

    await page.goto(`${baseURL}/admin/datasets/${id}/versions/2`);
    assert((await page.textContent('[data-testid=quality-result]')).trim() === '警告', 'the check warns');
    const kana = page.locator('[data-testid=quality-metrics] a', { hasText: 'ふりがな' });
    assert(await kana.count() === 1, 'the missing-kana metric links to its rows');
    await Promise.all([page.waitForURL(/\/quality\?/), kana.click()]);
    assert(await page.locator('[data-testid=dataset-quality] svg.stats-line path.line').count() === 1, 'the trend is drawn');
    assert(await page.locator('[data-testid=quality-rows] tbody tr').count() === 1, 'one pupil without kana is listed');
    const csv = await page.getAttribute('[data-testid=dataset-quality] a[download]', 'href');
    const res = await page.request.get(`${baseURL}${csv}`);
    assert(res.status() === 200 && (await res.text()).includes('sourcedId'), 'the rows download as CSV');
    await screenshot('datasets-quality');

    await page.setViewportSize({ width: 375, height: 800 });
    for (const p of ['', `/${id}`, `/${id}/versions/2`, `/${id}/diff?from=1&to=2`, `/${id}/quality?metric=missing_kana`]) {
      await page.goto(`${baseURL}/admin/datasets${p}`);
      await fits(page, `/admin/datasets${p}`);
    }
    await screenshot('datasets-quality-375');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
