// Bulk actions in the browser: on the user list, "select all" ticks every row, the question names how many and the
// first names, "Cancel" changes nothing, "OK" disables them all in one go and the list says how many changed.
import { assert, login, submitAndWait } from './helpers.mjs';

async function newUser(page, baseURL, name, tag) {
  await page.goto(`${baseURL}/admin/users/new`);
  await page.fill('#email', `bulk.${name.length}.${Date.now()}.${Math.floor(Math.random() * 1e6)}@example.jp`);
  await page.fill('#name', name);
  await page.check('input[name=sign_in][value=sso]');
  await submitAndWait(page, 'form button.primary[type=submit]');
}

export async function bulkDisableNamesCountAndFirstNames({ page, baseURL, adminEmail, adminPassword, screenshot }) {
  await login(page, baseURL, adminEmail, adminPassword);
  const tag = `一括${Date.now() % 1000000}`;
  await newUser(page, baseURL, `${tag} 春子`, tag);
  await newUser(page, baseURL, `${tag} 夏男`, tag);
  await page.goto(`${baseURL}/admin/users?q=${encodeURIComponent(tag)}`);
  assert(await page.locator('input[name=ids]').count() === 2, 'the filtered list has our two users');
  assert(await page.locator('[data-testid=bulk-apply]').isDisabled(), 'nothing selected: the button waits');
  await page.check('input[data-bulk-all]');
  assert(await page.locator('[data-bulk-count]').textContent() === '2', 'select all ticks both');
  const asked = [];
  page.on('dialog', (d) => { asked.push(d.message()); d.dismiss(); });
  await page.selectOption('#users-bulk-action', 'disable');
  await page.click('[data-testid=bulk-apply]');
  await page.waitForTimeout(300);
  assert(asked.length === 1 && asked[0].includes('2件') && asked[0].includes('春子') && asked[0].includes('夏男'),
    `the question names the count and the people: ${asked.join(' | ')}`);
  await page.reload();
  assert(await page.locator('main .state.s-failed').count() === 0, 'Cancel disabled nobody');
  page.removeAllListeners('dialog');
  page.on('dialog', (d) => d.accept());
  await page.check('input[data-bulk-all]');
  await page.selectOption('#users-bulk-action', 'disable');
  await submitAndWait(page, '[data-testid=bulk-apply]');
  assert((await page.locator('[data-testid=bulk-done]').textContent()).includes('2'), 'the list says two changed');
  await page.goto(`${baseURL}/admin/users?q=${encodeURIComponent(tag)}`);
  assert(await page.locator('main .state.s-failed').count() === 2, 'both are disabled');
  await page.setViewportSize({ width: 375, height: 800 });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth + 1);
  assert(!overflow, 'the list with its checkboxes fits a 375 px phone');
  await screenshot('bulk-users-375');
  await page.setViewportSize({ width: 1280, height: 900 });
  page.removeAllListeners('dialog');
}
