// The admin UI shell as a person meets it: every page in the navigation loads without errors (no uncaught
// script errors, no CSP violations, no failed requests), has a heading, and the menu works on a phone.
import { assert, login } from './helpers.mjs';

function watch(page) {
  const problems = [];
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
  page.on('pageerror', (e) => problems.push(`pageerror: ${e}`));
  page.on('response', (r) => { if (r.status() >= 400) problems.push(`HTTP ${r.status()} ${r.url()}`); });
  return problems;
}

export async function everyNavPageLoadsCleanly({ page, baseURL, adminEmail, adminPassword, screenshot }) {
  const problems = watch(page);
  await login(page, baseURL, adminEmail, adminPassword);
  const links = await page.$$eval('#mainnav a', (as) => as.map((a) => ({ href: a.getAttribute('href'), text: a.textContent.trim() })));
  assert(links.length >= 2, `the navigation has links (found ${links.length})`);
  for (const { href, text } of links) {
    problems.length = 0;
    const res = await page.goto(new URL(href, baseURL).href);
    assert(res && res.status() === 200, `${href} (${text}) answers 200, got ${res && res.status()}`);
    await page.waitForLoadState('networkidle');
    assert(await page.locator('main h1').count() > 0, `${href} has a heading`);
    await screenshot(`page${href.replace(/\//g, '_')}`);
    assert(problems.length === 0, `${href} loads cleanly:\n    ${problems.join('\n    ')}`);
  }
}

export async function menuOpensOnAPhone({ page, baseURL, adminEmail, adminPassword, screenshot }) {
  await page.setViewportSize({ width: 390, height: 844 });
  await login(page, baseURL, adminEmail, adminPassword);
  const toggle = page.locator('button.navtoggle');
  assert(await toggle.isVisible(), 'the menu button shows on a narrow screen');
  assert((await toggle.getAttribute('aria-expanded')) === 'false', 'the menu starts closed');
  await toggle.click();
  assert((await toggle.getAttribute('aria-expanded')) === 'true', 'the button says the menu is open');
  assert(await page.locator('#mainnav a').first().isVisible(), 'the links show once the menu is open');
  await screenshot('phone-menu-open');
}
