// Pupils of an imported roster sign in: one through the loopback OpenID Connect provider (configured on the admin
// SSO page), one with a printed login card opened from its QR link; both land on the pupil home, at 375 px too.
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { assert, login, submitAndWait } from './helpers.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

// The same generated roster as roster_import.test.mjs (seed 77), so importing it again changes nothing another
// test relies on. Returns the first pupil's userIds entry, e.g. "{mext:S000151}".
function importRoster() {
  const dir = mkdtempSync(join(tmpdir(), 'rstream-signin-'));
  const zip = join(dir, 'roster.zip');
  let r = spawnSync('python3', [join(root, 'scripts/gen_roster_bundle.py'), '--users', '3000', '--seed', '77',
    '--variant', 'clean', '--out', zip], { encoding: 'utf8' });
  assert(r.status === 0, `roster bundle: ${r.stderr}`);
  r = spawnSync(process.env.RSTREAM_BIN, ['import', zip], { encoding: 'utf8', env: process.env });
  assert(r.status === 0, `rstream import: ${r.stdout} ${r.stderr}`);
  r = spawnSync('python3', ['-c', 'import csv, io, sys, zipfile\n' +
    'rows = csv.DictReader(io.TextIOWrapper(zipfile.ZipFile(sys.argv[1]).open("users.csv"), "utf-8-sig"))\n' +
    'print(next(u["userIds"] for u in rows if u["username"].startswith("s")))', zip], { encoding: 'utf8' });
  assert(r.status === 0, `first pupil: ${r.stderr}`);
  return r.stdout.trim();
}

export async function pupilSignsInThroughOpenIDConnect({ page, context, baseURL, adminEmail, adminPassword, screenshot }) {
  const userId = importRoster();   // "{mext:S…}"
  const [type, sub] = userId.slice(1, -1).split(':');
  const issuer = process.env.RSTREAM_TEST_OIDC_URL;
  assert(issuer, 'tests/run.sh starts the OIDC provider');
  await login(page, baseURL, adminEmail, adminPassword);
  await page.goto(`${baseURL}/admin/sso/new`);
  await page.fill('#name', 'さくら市 Google');
  const district = await page.locator('#org option', { hasText: '教育委員会' }).first().getAttribute('value');
  await page.selectOption('#org', district);
  await page.fill('#issuer', issuer);
  await page.fill('#client_id', 'rstream-test');
  await page.fill('#client_secret', 'test-client-secret');
  await page.check('input[name=match_rule][value=user_id]');
  await page.fill('#user_id_type', type);
  await screenshot('sso-form');
  await submitAndWait(page, 'form[action="/admin/sso"] button[type=submit]');
  await page.waitForSelector('[data-testid=sso-list]');
  await context.clearCookies();

  await page.setViewportSize({ width: 375, height: 740 });
  await page.goto(`${baseURL}/login`);
  await page.waitForSelector('[data-testid=sso-buttons]');
  await screenshot('login-with-sso-375');
  await Promise.all([page.waitForURL((u) => u.href.startsWith(issuer)), page.click('.sso-button >> nth=-1')]);
  await page.fill('#login_hint', sub);   // the provider's subject is the roster's userIds entry
  await Promise.all([page.waitForURL((u) => u.href.startsWith(baseURL) && !u.pathname.startsWith('/oidc')), page.click('#idp-submit')]);
  await page.waitForSelector('[data-testid=home-pupil]');
  assert(await page.locator('[data-testid=dashboard]').count() === 0, 'no admin dashboard for a pupil');
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth + 1);
  assert(!overflow, 'the pupil home fits 375 px');
  await screenshot('pupil-home-375');
}

export async function pupilSignsInWithAPrintedCard({ page, context, baseURL, adminEmail, adminPassword, screenshot }) {
  await login(page, baseURL, adminEmail, adminPassword);
  await page.goto(`${baseURL}/cards?q=1組`);
  let rows = await page.locator('[data-testid=cards-classes] tbody a').count();
  if (rows === 0) { importRoster(); await page.goto(`${baseURL}/cards?q=1組`); rows = await page.locator('[data-testid=cards-classes] tbody a').count(); }
  assert(rows > 0, 'classes to print cards for');
  await submitAndWait(page, '[data-testid=cards-classes] tbody a >> nth=0');
  await page.waitForSelector('[data-testid=cards-class]');
  await submitAndWait(page, '[data-testid=cards-class] button[type=submit]');
  await page.waitForSelector('[data-testid=cards-print]');
  assert(await page.locator('.login-card svg.qr').count() > 0, 'each card has a QR code');
  await screenshot('cards-sheet');
  await page.emulateMedia({ media: 'print' });
  await screenshot('cards-print');
  await page.emulateMedia({ media: 'screen' });
  const code = (await page.locator('[data-testid=card-code]').first().textContent()).trim();
  await context.clearCookies();
  // what the QR code holds: the sign-in page with the code in the fragment; the page signs in by itself
  await page.goto(`${baseURL}/login/code#${code.replace('-', '')}`);
  await page.waitForSelector('[data-testid=home-pupil]');
  await screenshot('pupil-home-after-card');
}
