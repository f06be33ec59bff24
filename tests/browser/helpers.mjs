// Shared helpers for browser tests: logging in through the real form, small assertions.

export function assert(cond, message) {
  if (!cond) throw new Error(`assertion failed: ${message}`);
}

// Log in through the form at /login and wait until we have left the login page.
export async function login(page, baseURL, email, password) {
  await page.goto(`${baseURL}/login`);
  await page.fill('input[name=email]', email);
  await page.fill('input[name=password]', password);
  await Promise.all([
    page.waitForURL((u) => !u.pathname.startsWith('/login'), { timeout: 15000 }),
    page.click('form[action="/login"] button[type=submit]'),
  ]);
}

// Click a submit button and wait for the navigation that the form post causes.
export async function submitAndWait(page, selector) {
  await Promise.all([page.waitForNavigation({ timeout: 15000 }), page.click(selector)]);
}
