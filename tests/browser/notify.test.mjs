// Notifications in the browser: the bell in the header shows the unread count on every page, the list shows
// the notices in Japanese, "mark read" and "mark all read" bring the count down, the preferences page saves,
// and all of it fits a 375 px phone. The notices are made by the real fan-out job (rstream enqueue → worker).
import { execFileSync } from 'node:child_process';
import { assert, login, submitAndWait } from './helpers.mjs';

function enqueueNotice(uid, n, title) {
  const payload = {
    kind: 'assignment_new', event: `browser-notify:${uid}:${Date.now()}:${n}`, audience: 'user', audience_id: uid,
    data: { title, href: '/my/assignments' },
  };
  execFileSync(process.env.RSTREAM_BIN, ['enqueue', 'notify_fanout', JSON.stringify(payload)], { stdio: 'pipe' });
}

async function bellCount(page) {
  const el = await page.$('[data-testid=notify-count]');
  return el ? (await el.textContent()).trim() : '0';
}

async function fits(page) {
  return page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth + 1);
}

export default async function notificationsBellListAndMarkRead({ page, baseURL, adminEmail, adminPassword, screenshot }) {
  await login(page, baseURL, adminEmail, adminPassword);
  // start from nothing unread, whatever other tests left
  await page.goto(`${baseURL}/notifications`);
  if (await page.$('[data-testid=notify-read-all]')) await submitAndWait(page, '[data-testid=notify-read-all]');
  assert((await bellCount(page)) === '0', 'no unread notices after mark all read');

  const me = await (await page.request.get(`${baseURL}/api/v1/me`, { headers: { Accept: 'application/json' } })).json();
  const uid = me.user ? me.user.id : me.id;
  assert(uid > 0, `my id: ${JSON.stringify(me)}`);
  const stamp = Date.now();
  for (let i = 1; i <= 3; i++) enqueueNotice(uid, i, `ブラウザ課題${stamp}-${i}`);

  // the worker fans out: the bell counts 3 on any page
  let count = '0';
  for (let i = 0; i < 60 && count !== '3'; i++) {
    await page.goto(`${baseURL}/videos`);
    count = await bellCount(page);
    if (count !== '3') await page.waitForTimeout(500);
  }
  assert(count === '3', `bell shows 3 unread (got ${count})`);
  const label = await page.getAttribute('[data-testid=notify-bell]', 'aria-label');
  assert(label.includes('お知らせ') && label.includes('3'), `the bell is labelled for screen readers: ${label}`);

  await page.click('[data-testid=notify-bell]');
  await page.waitForURL(/\/notifications$/);
  const texts = await page.$$eval('[data-testid=notify-item] .notify-text', (els) => els.map((e) => e.textContent));
  assert(texts.filter((t) => t.includes(`ブラウザ課題${stamp}`)).length === 3, `three notices listed: ${texts.join(' | ')}`);
  assert(texts[0].includes('課題「') && texts[0].includes('が出されました'), 'Japanese text');
  await screenshot('notifications-list');

  // mark one read: the count drops to 2
  await submitAndWait(page, '[data-testid=notify-item].unread [data-testid=notify-mark-read]');
  assert((await bellCount(page)) === '2', 'one marked read');
  assert((await page.$$('[data-testid=notify-item].unread')).length === 2, 'two left unread');

  // at 375 px: the list and the bell fit without sideways scrolling
  await page.setViewportSize({ width: 375, height: 800 });
  await page.goto(`${baseURL}/notifications`);
  assert(await fits(page), 'the list fits 375 px');
  assert(await page.isVisible('[data-testid=notify-bell]'), 'the bell is visible on a phone');
  await screenshot('notifications-375');
  await submitAndWait(page, '[data-testid=notify-read-all]');
  assert((await bellCount(page)) === '0', 'all read');

  // preferences: turn e-mail off for new assignments, save, and see it kept
  await page.goto(`${baseURL}/notifications/settings`);
  assert(await fits(page), 'the settings fit 375 px');
  await page.setViewportSize({ width: 1280, height: 800 });
  const box = 'input[name=email_assignment_new]';
  const was = await page.isChecked(box);
  await page.setChecked(box, !was);
  await submitAndWait(page, '[data-testid=notify-save]');
  assert((await page.isChecked(box)) === !was, 'the choice is saved');
  await page.setChecked(box, was);
  await submitAndWait(page, '[data-testid=notify-save]');
}
