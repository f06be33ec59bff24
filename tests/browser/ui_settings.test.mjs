// The admin settings page in the browser: a new site name heads every page at once, a bad value is refused with a
// message and kept in the form, a PNG logo chosen in the file field appears in the header and is removed after a
// confirmation that names the site. Everything is put back at the end (other tests share the stack).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assert, login, submitAndWait } from './helpers.mjs';

// a 2×1 RGB PNG
const PNG = Buffer.from('89504e470d0a1a0a0000000d49484452000000020000000108020000007b40e8dd0000000d49444154789c63f8cf0004ff010700'
  + '01ffe2239e590000000049454e44ae426082', 'hex');

async function save(page) {
  await submitAndWait(page, '[data-testid=settings-save]');
}

export async function settingsChangeTheSiteAtOnce({ page, baseURL, adminEmail, adminPassword, screenshot }) {
  await login(page, baseURL, adminEmail, adminPassword);
  await page.goto(`${baseURL}/admin/users`);
  assert(await page.locator('#mainnav a[href="/admin/settings"]').count() === 1, 'the admin menu links the settings');
  await page.goto(`${baseURL}/admin/settings`);
  const name = `さくら市教育委員会 ${Date.now() % 100000}`;
  try {
    await page.fill('#site_name', name);
    await page.selectOption('#timezone', 'Asia/Tokyo');
    await page.fill('#password_min_length', '12');
    await save(page);
    assert(await page.locator('[data-testid=settings-saved]').count() === 1, 'the page says it saved');
    assert((await page.locator('header .brand').textContent()).includes(name), 'the header shows the new site name');
    assert((await page.title()).endsWith(name), 'so does the page title');
    await page.goto(`${baseURL}/admin/users/new`);
    assert((await page.locator('#pwhelp').textContent()).includes('12'), 'the password help follows the policy');
    assert(await page.locator('#password').getAttribute('minlength') === '12', 'and so does the field');

    // a value out of range (the browser's own check taken away): refused, explained, kept in the field
    await page.goto(`${baseURL}/admin/settings`);
    await page.evaluate(() => document.querySelector('#password_min_length').removeAttribute('max'));
    await page.fill('#password_min_length', '500');
    await Promise.all([page.waitForNavigation(), page.click('[data-testid=settings-save]')]);
    assert(await page.locator('[data-testid=settings-error]').count() === 1, 'the error is shown');
    assert(await page.inputValue('#password_min_length') === '500', 'the refused value stays in the form');

    // the logo: chosen, sent at once, shown in the header
    await page.goto(`${baseURL}/admin/settings`);
    const dir = mkdtempSync(join(tmpdir(), 'rstream-logo-'));
    try {
      const file = join(dir, 'logo.png');
      writeFileSync(file, PNG);
      await Promise.all([page.waitForURL(/saved=1/), page.setInputFiles('#logo_file', file)]);
      // a text file is refused with the server's reason, shown in the page
      const bad = join(dir, 'logo-fake.png');
      writeFileSync(bad, '<svg xmlns="http://www.w3.org/2000/svg"></svg>');
      await page.setInputFiles('#logo_file', bad);
      await page.waitForSelector('[data-logo-error]:not([hidden])');
      assert((await page.locator('[data-logo-error]').textContent()).includes('PNG'), 'the reason names the formats');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    await page.goto(`${baseURL}/admin/settings`);
    assert(await page.locator('header img.brand-logo').count() === 1, 'the header shows the logo');
    assert(await page.locator('[data-testid=logo-preview]').count() === 1, 'the page previews it');
    await page.setViewportSize({ width: 375, height: 800 });
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth + 1);
    assert(!overflow, 'the settings page fits a 375 px phone');
    await screenshot('settings-375');
    await page.setViewportSize({ width: 1280, height: 900 });
    const asked = [];
    page.on('dialog', (d) => { asked.push(d.message()); d.accept(); });
    await submitAndWait(page, '[data-testid=logo-delete]');
    page.removeAllListeners('dialog');
    assert(asked.length === 1 && asked[0].includes(name), `the question names the site: ${asked.join(' | ')}`);
    assert(await page.locator('header img.brand-logo').count() === 0, 'the logo is gone');
    await screenshot('settings');
  } finally {
    // back to the file's values for the tests that follow
    await page.setViewportSize({ width: 1280, height: 900 });
    await page.goto(`${baseURL}/admin/settings`);
    await page.fill('#site_name', '');
    await page.fill('#password_min_length', '10');
    await save(page);
  }
  assert(!(await page.locator('header .brand').textContent()).includes(name), 'the site name is back');
}
