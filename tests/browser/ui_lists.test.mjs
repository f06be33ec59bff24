// Roster org and class lists in the browser: numbered pages with a total, a column header that sorts (and sorts the
// other way on a second click), shown to screen readers with aria-sort.
import { assert, login } from './helpers.mjs';
import { ensureRoster } from './ui_helpers.mjs';

async function names(page) {
  return page.$$eval('main table.grid tbody tr td:nth-child(1) a', (as) => as.map((a) => a.textContent.trim()));
}

export async function rosterListsSortAndPage({ page, baseURL, adminEmail, adminPassword, screenshot }) {
  await login(page, baseURL, adminEmail, adminPassword);
  await ensureRoster(page, baseURL);
  for (const [path, col] of [['/admin/roster/orgs', 'name'], ['/admin/roster/classes', 'title']]) {
    await page.goto(`${baseURL}${path}`);
    assert(await page.locator('nav.pager .total').count() === 1, `${path}: the total is shown`);
    const th = page.locator(`main th a[href*="sort=${col}"]`).first();
    await Promise.all([page.waitForNavigation(), th.click()]);
    // the default is ascending by name, so the first click on it reverses
    const sortAttr = await page.locator('main th[aria-sort]:not([aria-sort=""])').first().getAttribute('aria-sort');
    assert(sortAttr === 'descending', `${path}: the header says descending (${sortAttr})`);
    const down = await names(page);
    await Promise.all([page.waitForNavigation(), page.locator(`main th a[href*="sort=${col}"]`).first().click()]);
    const up = await names(page);
    assert(down.length > 1 && up.length > 1, `${path}: rows on both`);
    const collator = new Intl.Collator('ja');
    assert(collator.compare(up[0], up[up.length - 1]) <= 0 || up[0] <= up[up.length - 1], `${path}: ascending ${up[0]} … ${up[up.length - 1]}`);
    assert(up[0] !== down[0] || up.length === 1, `${path}: the two orders differ`);
  }
  await screenshot('roster-classes-sorted');
}
