// Browser-test runner: runs every tests/browser/*.test.mjs in Debian's Chromium through playwright-core.
// A test file exports `default async function (ctx)` and/or named async functions; each is one test, run in a
// fresh browser profile. ctx = {page, context, baseURL, adminEmail, adminPassword, screenshot(name)}.
// Usage: node tests/browser/run.mjs [name-filter]. Prints "N passed, N failed" last; exit 1 on any failure.
import { chromium } from 'playwright-core';
import { mkdtemp, mkdir, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..', '..');
const filter = process.argv[2] || '';
const baseURL = (process.env.RSTREAM_TEST_URL || 'http://127.0.0.1:18080').replace(/\/$/, '');
const adminEmail = process.env.RSTREAM_TEST_ADMIN_EMAIL || 'admin@test.example';
const adminPassword = process.env.RSTREAM_TEST_ADMIN_PASSWORD || '';
const shotDir = join(process.env.STACK_DIR || join(root, 'var', 'test'), 'screenshots');
const executablePath = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
// generous: a test that walks every page takes minutes on a loaded 2-core machine
const testTimeout = Number(process.env.BROWSER_TEST_TIMEOUT_MS || 300000);
const args = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--disable-dev-shm-usage'];

const safe = (s) => s.replace(/[^A-Za-z0-9_.-]+/g, '_');

async function collectTests() {
  const files = (await readdir(here)).filter((f) => f.endsWith('.test.mjs')).sort();
  const tests = [];
  for (const f of files) {
    const mod = await import(pathToFileURL(join(here, f)).href);
    const stem = basename(f, '.test.mjs');
    for (const [name, fn] of Object.entries(mod)) {
      if (typeof fn !== 'function') continue;
      const full = name === 'default' ? stem : `${stem}: ${name}`;
      if (filter && !full.includes(filter)) continue;
      tests.push({ name: full, fn });
    }
  }
  return tests;
}

function withTimeout(promise, ms, what) {
  let timer;
  const t = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, t]).finally(() => clearTimeout(timer));
}

const launchOptions = { executablePath, headless: true, args, locale: 'ja-JP', viewport: { width: 1280, height: 800 }, timeout: 60000 };

// A loaded machine can take over a minute to hand Chromium's pipe to playwright: one more try, on a fresh
// profile, before the test counts as failed (a browser that never starts says nothing about the product).
async function launch(profile) {
  try {
    return await chromium.launchPersistentContext(profile, launchOptions);
  } catch (e) {
    console.log(`  chromium did not start (${String(e.message).split('\n')[0]}); trying once more`);
    await rm(profile, { recursive: true, force: true }).catch(() => {});
    await mkdir(profile, { recursive: true });
    return chromium.launchPersistentContext(profile, launchOptions);
  }
}

async function runOne(test) {
  const profile = await mkdtemp(join(tmpdir(), 'rstream-chromium-'));
  let context;
  const pageErrors = [];
  const consoleErrors = [];
  try {
    context = await launch(profile);
    context.setDefaultTimeout(15000);
    const page = context.pages()[0] || (await context.newPage());
    page.on('pageerror', (e) => pageErrors.push(String(e)));
    page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
    const ctx = {
      page,
      context,
      baseURL,
      adminEmail,
      adminPassword,
      screenshot: async (name) => {
        const file = join(shotDir, `${safe(test.name)}-${safe(name)}.png`);
        await page.screenshot({ path: file, fullPage: true, timeout: 60000 }); // a loaded machine renders slowly
        return file;
      },
    };
    try {
      // a test that walks every page may ask for more time: export it with fn.timeoutMs set
      await withTimeout(Promise.resolve(test.fn(ctx)), test.fn.timeoutMs || testTimeout, test.name);
      if (pageErrors.length) throw new Error(`uncaught errors in the page:\n  ${pageErrors.join('\n  ')}`);
    } catch (e) {
      await ctx.screenshot('failure').catch(() => {});
      if (consoleErrors.length) e.message += `\nbrowser console errors:\n  ${consoleErrors.join('\n  ')}`;
      throw e;
    }
  } finally {
    if (context) await context.close().catch(() => {});
    await rm(profile, { recursive: true, force: true }).catch(() => {});
  }
}

async function main() {
  await mkdir(shotDir, { recursive: true });
  const tests = await collectTests();
  let passed = 0;
  let failed = 0;
  for (const test of tests) {
    const t0 = Date.now();
    try {
      await runOne(test);
      passed++;
      console.log(`ok   ${test.name} (${Date.now() - t0} ms)`);
    } catch (e) {
      failed++;
      console.log(`FAIL ${test.name} (${Date.now() - t0} ms)\n  ${(e && e.stack) || e}`);
    }
  }
  if (tests.length === 0) console.log(`no browser tests${filter ? ` match "${filter}"` : ''}`);
  console.log(`screenshots in ${shotDir}`);
  console.log(`${passed} passed, ${failed} failed`);
  process.exitCode = failed ? 1 : 0;
}

main().catch((e) => {
  console.error(e);
  console.log('0 passed, 1 failed');
  process.exitCode = 1;
});
