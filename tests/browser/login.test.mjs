// Log in through the form, reach the dashboard, switch the UI to English and back to Japanese.
import { assert, login, submitAndWait } from './helpers.mjs';

export default async function loginAndLanguage({ page, baseURL, adminEmail, adminPassword, screenshot }) {
  await page.goto(`${baseURL}/login`);
  assert(await page.locator('input[name=_csrf]').count() > 0, 'the login form carries a CSRF token');
  await screenshot('login');

  await login(page, baseURL, adminEmail, adminPassword);
  await page.waitForSelector('[data-testid=dashboard]');
  assert((await page.getAttribute('html', 'lang')) === 'ja', 'Japanese is the default language');
  await screenshot('dashboard-ja');

  await submitAndWait(page, 'header button[name=lang][value=en]');
  await page.waitForSelector('[data-testid=dashboard]');
  assert((await page.getAttribute('html', 'lang')) === 'en', 'the switch turns the UI to English');
  await screenshot('dashboard-en');

  await submitAndWait(page, 'header button[name=lang][value=ja]');
  await page.waitForSelector('[data-testid=dashboard]');
  assert((await page.getAttribute('html', 'lang')) === 'ja', 'the switch turns the UI back to Japanese');
}

export async function wrongPasswordStaysOnLogin({ page, baseURL }) {
  // an unknown account: a wrong password on the admin would count towards its lockout
  await page.goto(`${baseURL}/login`);
  await page.fill('input[name=email]', 'nobody@test.example');
  await page.fill('input[name=password]', 'not-the-password');
  await submitAndWait(page, 'form[action="/login"] button[type=submit]');
  assert(new URL(page.url()).pathname.startsWith('/login'), `still on the login page (at ${page.url()})`);
  assert(await page.locator('[role=alert]').count() > 0, 'an error is shown');
  assert(await page.locator('[data-testid=dashboard]').count() === 0, 'no dashboard without a session');
}
