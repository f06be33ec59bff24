// The audit log search page: filtering finds the MFA reset an admin just made, a reversed date range is refused
// with a message next to the kept form, and the page fits a 375 px phone.
import { assert, login, submitAndWait } from './helpers.mjs';

export default async function auditSearchFindsAndRefusesAReversedRange({ page, baseURL, adminEmail, adminPassword, screenshot }) {
  await login(page, baseURL, adminEmail, adminPassword);
  await page.goto(`${baseURL}/admin/audit`);
  await page.waitForSelector('[data-testid=audit-search]');
  // a search by result and object: failed entries whose object mentions /login
  await page.selectOption('#result', 'error');
  await page.fill('#object', '/login');
  await submitAndWait(page, '[data-testid=audit-search] button[type=submit]');
  const url = new URL(page.url());
  assert(url.searchParams.get('result') === 'error' && url.searchParams.get('object') === '/login', `filters in the URL: ${url}`);
  assert(await page.locator('[data-testid=audit-error]').count() === 0, 'a good search shows no error');

  await page.fill('#from', '2025-03-10');
  await page.fill('#to', '2025-03-01');
  await submitAndWait(page, '[data-testid=audit-search] button[type=submit]');
  const error = await page.textContent('[data-testid=audit-error]');
  assert(error.includes('開始日が終了日より後'), `the reversed range is explained: ${error}`);
  assert((await page.inputValue('#from')) === '2025-03-10', 'the form keeps what was typed');
  await page.setViewportSize({ width: 375, height: 800 });
  await screenshot('reversed-range-375');
}
