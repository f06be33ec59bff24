// Roster import in the browser: an admin uploads a generated OneRoster bundle on /admin/roster/imports/new (the
// upload progress bar reaches 100 %), lands on the import page which follows the job live and shows the counts per
// file; then a bundle with row errors shows the report grouped by file and rule, the finding rows and the CSV link.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { assert, login } from './helpers.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

function bundle(variant, users) {
  const dir = mkdtempSync(join(tmpdir(), 'rstream-browser-roster-'));
  const file = join(dir, `roster-${variant}.zip`);
  execFileSync('python3', [join(root, 'scripts', 'gen_roster_bundle.py'), '--users', String(users), '--seed', '77',
    '--variant', variant, '--out', file]);
  return { dir, file };
}

async function upload(page, baseURL, file) {
  await page.goto(`${baseURL}/admin/roster/imports/new`);
  await page.waitForSelector('[data-testid=roster-import-upload]');
  await page.setInputFiles('#roster-file', file);
  await page.evaluate(() => {
    // every value the page's script gives the bar is recorded as it is set: on loopback a small upload can end
    // between two samples of a timer, which then saw nothing
    const bar = document.getElementById('roster-upload-bar');
    const value = Object.getOwnPropertyDescriptor(HTMLProgressElement.prototype, 'value');
    sessionStorage.setItem('maxpct', '0');
    Object.defineProperty(bar, 'value', {
      configurable: true,
      get() { return value.get.call(this); },
      set(v) {
        value.set.call(this, v);
        if (Number(v) > Number(sessionStorage.getItem('maxpct') || 0)) sessionStorage.setItem('maxpct', String(Number(v)));
      },
    });
  });
  await Promise.all([
    page.waitForURL(/\/admin\/roster\/imports\/[0-9]+$/, { timeout: 60000 }),
    page.click('#roster-upload-start'),
  ]);
  // the import page may reload itself right away when a small import is already over: retry the read
  for (let i = 0; ; i++) {
    try {
      await page.waitForLoadState();
      return Number(await page.evaluate(() => sessionStorage.getItem('maxpct')));
    } catch (e) {
      if (i >= 10) throw e;
      await page.waitForTimeout(200);
    }
  }
}

export async function aCleanBundleUploadsWithProgressAndImports({ page, baseURL, adminEmail, adminPassword, screenshot }) {
  const b = bundle('clean', 3000);
  try {
    await login(page, baseURL, adminEmail, adminPassword);
    await page.goto(`${baseURL}/admin/roster/imports`);
    assert(await page.isVisible('[data-testid=roster-imports]'), 'the imports history page renders');
    const maxpct = await upload(page, baseURL, b.file);
    assert(maxpct === 100, `the upload progress bar reached 100 % (saw ${maxpct})`);
    // the page follows the job and reloads itself once when it ends
    await page.waitForSelector('[data-testid=roster-import-state][data-state=done]', { timeout: 120000 });
    await screenshot('clean-done');
    const rows = Number((await page.textContent('[data-testid=roster-rows]')).trim());
    assert(rows > 15000, `rows counted live (${rows})`);
    assert(await page.isVisible('[data-testid=roster-file-counts]'), 'counts per file are shown');
    assert((await page.textContent('[data-testid=roster-no-findings]')).length > 0, 'a clean bundle has no findings');
    assert(await page.isVisible('[data-testid=roster-rerun]'), 're-run is offered');
  } finally {
    rmSync(b.dir, { recursive: true, force: true });
  }
}

export async function aBrokenBundleShowsTheErrorReport({ page, baseURL, adminEmail, adminPassword, screenshot }) {
  const b = bundle('rows', 60);
  try {
    await login(page, baseURL, adminEmail, adminPassword);
    await upload(page, baseURL, b.file);
    await page.waitForSelector('[data-testid=roster-import-state][data-state=failed]', { timeout: 120000 });
    await screenshot('rows-failed');
    const errors = Number((await page.textContent('[data-testid=roster-errors]')).trim());
    assert(errors >= 4, `error count shown (${errors})`);
    const groups = await page.textContent('[data-testid=roster-groups]');
    for (const rule of ['OR-REQ-001', 'JP-GRADE-001', 'OR-REF-001', 'OR-DUP-001'])
      assert(groups.includes(rule), `the report groups ${rule}`);
    const rowsText = await page.textContent('[data-testid=roster-finding-rows]');
    assert(rowsText.includes('users.csv') && rowsText.includes('G9'), 'finding rows name the file and the bad value');
    assert(rowsText.includes('学年コード'), 'messages are Japanese by default');
    const href = await page.getAttribute('[data-testid=roster-findings-csv]', 'href');
    assert(/\/findings\?format=csv$/.test(href), `CSV download link (${href})`);
    const csv = await page.evaluate((u) => fetch(u, { credentials: 'same-origin' }).then((r) => r.text()), href);
    assert(csv.includes('JP-GRADE-001') && csv.includes('message_en'), 'the CSV holds the findings');
    // filtering by a rule from the grouped table
    await Promise.all([page.waitForNavigation(), page.click('[data-testid=roster-groups] a >> text=JP-GRADE-001')]);
    const filtered = await page.textContent('[data-testid=roster-finding-rows]');
    assert(filtered.includes('JP-GRADE-001') && !filtered.includes('OR-DUP-001'), 'rule filter applies');
  } finally {
    rmSync(b.dir, { recursive: true, force: true });
  }
}
