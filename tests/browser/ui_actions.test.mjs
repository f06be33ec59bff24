// Pickers and confirmations in the browser: a teacher gives a video to a class by typing the class name (no ids),
// the choice survives saving; destructive buttons ask first, naming the object, and nothing happens on "Cancel".
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assert, login, submitAndWait } from './helpers.mjs';
import { ensureRoster } from './ui_helpers.mjs';

async function uploadClip(page, baseURL) {
  const dir = mkdtempSync(join(tmpdir(), 'rstream-ui-clip-'));
  const file = join(dir, 'picker clip.mp4');
  try {
    execFileSync('ffmpeg', ['-v', 'error', '-nostdin', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=320x180:rate=25',
      '-t', '1', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', file]);
    await page.goto(`${baseURL}/videos/upload`);
    await page.setInputFiles('#video-file', file);
    await Promise.all([page.waitForURL(/\/videos\/[0-9a-f]{16}\/edit$/, { timeout: 30000 }), page.click('#upload-start')]);
    return page.url();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function aClassIsChosenByNameNotById({ page, baseURL, adminEmail, adminPassword, screenshot }) {
  await login(page, baseURL, adminEmail, adminPassword);
  await ensureRoster(page, baseURL);
  await page.goto(`${baseURL}/admin/roster/classes`);
  const className = (await page.locator('main table.grid tbody tr td a').first().textContent()).trim();
  const editUrl = await uploadClip(page, baseURL);
  // the edit page reloads itself when the transcode ends: wait for that first
  await page.waitForSelector('#status-label.s-ready', { timeout: 90000 });
  await page.goto(editUrl);
  assert(await page.locator('#v-classes').getAttribute('type') === 'hidden', 'the id field became a picker');
  await page.fill('#v-classes-search', className.slice(0, 4));
  await page.waitForSelector('#v-classes-search-options .picker-option');
  const first = page.locator('#v-classes-search-options .picker-option').first();
  const detail = await first.locator('small').textContent();
  assert(detail && detail.length > 0, 'each hit shows its school / school year / teacher');
  await screenshot('picker-open');
  await page.keyboard.press('Enter');
  const chosen = await page.inputValue('#v-classes');
  assert(chosen.length > 0 && !chosen.includes(' '), `the hidden field holds the class id (${chosen})`);
  await page.check('input[name=visibility][value=class]');
  await submitAndWait(page, 'form:has(#v-classes) button.primary[type=submit]');
  await page.goto(editUrl);
  await page.waitForSelector('.picker-chip .picker-label');
  await page.waitForFunction((id) => document.querySelector('.picker-chip .picker-label').textContent !== id, chosen);
  const label = await page.locator('.picker-chip .picker-label').first().textContent();
  assert(label !== chosen, `the saved class shows by name (${label}), not as ${chosen}`);
  assert(await page.inputValue('#v-classes') === chosen, 'and is still the same class');
  // removing it empties the field
  await page.click('.picker-chip .picker-remove');
  assert(await page.inputValue('#v-classes') === '', 'the remove button takes the class out');
  await screenshot('picker-chosen');
}

export async function destructiveActionsAskWithTheName({ page, baseURL, adminEmail, adminPassword }) {
  await login(page, baseURL, adminEmail, adminPassword);
  // a user to disable
  await page.goto(`${baseURL}/admin/users/new`);
  await page.fill('#email', `confirm.${Date.now()}@example.jp`);
  await page.fill('#name', '確認 太郎');
  await page.check('input[name=sign_in][value=sso]');
  await submitAndWait(page, 'form button.primary[type=submit]');
  const userUrl = page.url();
  const asked = [];
  page.on('dialog', (d) => { asked.push(d.message()); d.dismiss(); });
  await page.click('form[action$="/disable"] button[type=submit]');
  await page.waitForTimeout(300);
  assert(asked.length === 1 && asked[0].includes('確認 太郎'), `the question names the user: ${asked.join(' | ')}`);
  assert(page.url() === userUrl, 'Cancel stays on the page');
  await page.reload();
  assert(await page.locator('form[action$="/disable"] button.danger').count() === 1, 'the user is still enabled');
  // accepting goes through
  page.removeAllListeners('dialog');
  page.on('dialog', (d) => d.accept());
  await submitAndWait(page, 'form[action$="/disable"] button[type=submit]');
  assert(await page.locator('form[action$="/disable"] input[name=enable]').count() === 1, 'after OK the user is disabled');
}

export async function finishedJobsOfferNoCancelAndShowStatsAsATable({ page, baseURL, adminEmail, adminPassword }) {
  await login(page, baseURL, adminEmail, adminPassword);
  await ensureRoster(page, baseURL);
  await page.goto(`${baseURL}/admin/jobs?state=done&kind=roster_import`);
  const link = page.locator('main table.grid tbody tr td a').first();
  assert(await link.count() === 1, 'the state and kind filters find a finished import job');
  await link.click();
  await page.waitForSelector('h1');
  assert(await page.locator('button', { hasText: /キャンセル|Cancel/ }).count() === 0, 'no Cancel on a finished job');
  assert(await page.locator('table.props-table tr').count() > 0, 'stats are a table');
  assert(await page.locator('pre[data-job-stats]').count() === 0, 'not JSON');
}
