// "My learning" at 375 px in Japanese: a pupil follows the link on their home to their own record (range picker,
// summary tiles, assignments; nothing overflows); another pupil's record is refused; the admin opens it.
// The chart with real progress is checked in tests/integration/test_stats_student.c.
import { assert, login, submitAndWait } from './helpers.mjs';

export async function aPupilSeesTheirOwnLearningRecord({ page, context, baseURL, adminEmail, adminPassword, screenshot }) {
  const email = `mylearn-${Date.now()}@sig.example`;
  await login(page, baseURL, adminEmail, adminPassword);
  await page.goto(`${baseURL}/admin/users/new`);
  await page.fill('#email', email);
  await page.fill('#name', '学習 さくら');
  await page.selectOption('#role', 'viewer');
  await page.fill('#password', 'pupil-pass-2026');
  await submitAndWait(page, 'main form button[type=submit]');
  await context.clearCookies();

  await page.setViewportSize({ width: 375, height: 740 });
  await login(page, baseURL, email, 'pupil-pass-2026');
  await page.goto(`${baseURL}/`);
  await submitAndWait(page, '[data-testid=my-learning]');
  await page.waitForSelector('[data-testid=stats-student]');
  const text = await page.innerText('main');
  assert(text.includes('わたしの学習の記録') && text.includes('見た動画') && text.includes('完了した課題'), 'Japanese record');
  assert(await page.locator('[data-testid=stats-range] input[type=date]').count() === 2, 'a date-range picker');
  const own = new URL(page.url()).pathname;
  assert(/^\/stats\/students\/\d+$/.test(own), `their own page: ${own}`);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth + 1);
  assert(!overflow, 'the record fits 375 px');
  await screenshot('my-learning-375');
  const other = await page.goto(`${baseURL}/stats/students/1`);
  assert(other.status() === 403 || own === '/stats/students/1', `someone else's record is refused (${other.status()})`);

  await context.clearCookies();
  await page.setViewportSize({ width: 1280, height: 800 });
  await login(page, baseURL, adminEmail, adminPassword);
  const res = await page.goto(`${baseURL}${own}`);
  assert(res.status() === 200, 'the admin sees it');
  assert((await page.innerText('h1')).includes('学習 さくら'), 'titled with the student name');
}
