// Shared by the ui_* browser tests: a small roster when the stack has none, and the list of every page an admin
// reaches from the navigation (two clicks deep, one page per URL shape), so new pages are covered without a list.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { assert } from './helpers.mjs';

export const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

// Import a small generated bundle through the upload page unless an org already exists (or force is set).
export async function ensureRoster(page, baseURL, { force = false } = {}) {
  await page.goto(`${baseURL}/admin/roster/orgs`);
  if (!force && await page.locator('main a[href^="/admin/roster/orgs/"]').count() > 0) return;
  const dir = mkdtempSync(join(tmpdir(), 'rstream-ui-roster-'));
  const file = join(dir, 'roster.zip');
  try {
    execFileSync('python3', [join(root, 'scripts', 'gen_roster_bundle.py'), '--users', '40', '--seed', '5',
      '--variant', 'clean', '--out', file]);
    await page.goto(`${baseURL}/admin/roster/imports/new`);
    await page.setInputFiles('#roster-file', file);
    await Promise.all([
      page.waitForURL(/\/admin\/roster\/imports\/[0-9]+$/, { timeout: 60000 }),
      page.click('#roster-upload-start'),
    ]);
    const id = page.url().split('/').pop();
    for (let i = 0; i < 300; i++) {
      const r = await page.request.get(`${baseURL}/api/v1/roster/imports/${id}`);
      const body = r.ok() ? await r.json() : {};
      const imp = body.import || body;
      if (imp.state === 'done') return;
      assert(imp.state !== 'failed', `the seed import ${id} succeeds`);
      await page.waitForTimeout(200);
    }
    throw new Error('the seed import did not finish');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// "/admin/users/12/edit" and "/admin/users/7/edit" are one page shape; so are two roster orgs.
function shape(path) {
  return path.split('/').map((s) => (/[0-9]/.test(s) || s.length > 24 ? ':id' : s)).join('/');
}

const skip = /^\/(api|ims|oauth|static|hls|logout|lang|healthz|readyz|metrics)\b|\.(csv|zip|vtt|m3u8|json)$|\/download$/;

// Every page reachable from the navigation in two steps, as same-origin paths without query strings.
let crawled = null;   // one crawl per test run: every test sees the same pages
export async function collectPages(page, baseURL) {
  if (crawled) return crawled;
  await page.goto(`${baseURL}/admin/users`);
  const start = await page.$$eval('#mainnav a', (as) => as.map((a) => a.getAttribute('href')));
  const seen = new Map();
  let frontier = ['/', ...start];
  for (let depth = 0; depth < 3 && frontier.length; depth++) {
    const next = [];
    for (const href of frontier) {
      const u = new URL(href, baseURL);
      if (u.origin !== new URL(baseURL).origin || skip.test(u.pathname) || u.search) continue;
      const s = shape(u.pathname);
      if (seen.has(s)) continue;
      const res = await page.goto(u.href);
      if (!res || res.status() !== 200 || !(res.headers()['content-type'] || '').startsWith('text/html')) continue;
      seen.set(s, u.pathname);
      if (depth < 2) next.push(...await page.$$eval('main a[href]', (as) => as.map((a) => a.getAttribute('href'))));
    }
    frontier = next;
  }
  crawled = [...seen.values()];
  return crawled;
}

// Catalogue keys that contain an underscore: a key like that in visible text is a missing translation.
export function catalogueKeys() {
  const dir = join(root, 'conf', 'i18n');
  const keys = new Set();
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.json'))) {
    for (const k of Object.keys(JSON.parse(readFileSync(join(dir, f), 'utf8')))) if (k.includes('_')) keys.add(k);
  }
  return keys;
}
