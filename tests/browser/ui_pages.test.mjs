// Every admin page, in Japanese and in English, at 375 px and at 1280 px: no untranslated catalogue key, no English
// code value (roster types and statuses, roles, job states, audit actions) in the Japanese text, and nothing wider
// than the window (no sideways scrolling).
import { assert, login } from './helpers.mjs';
import { catalogueKeys, collectPages, ensureRoster } from './ui_helpers.mjs';

// Words that are code values, never Japanese UI text. Case-sensitive: names people typed are not matched.
const english = /\b(district|school|department|active|inactive|scheduled|tobedeleted|student|teacher|administrator|aide|guardian|true|false|creator|viewer|admin|guest|ready|done|queued|running|failed|cancelled|rows imported|bulk|delta|public|private)\b|\b(user|video|roster|api_client|audit|category|tag|oauth)\.(?![a-z_.]*(zip|csv)\b)[a-z_.]+\b/;

// What a person reads: the page text without code samples, identifiers shown as code, e-mail addresses and URLs.
async function visibleText(page) {
  return page.evaluate(() => {
    const main = document.querySelector('body').cloneNode(true);
    main.querySelectorAll('code, pre, kbd, samp, script, style, [translate=no]').forEach((e) => e.remove());
    return main.innerText.replace(/[^\s@]+@[^\s@]+/g, ' ').replace(/https?:\/\/\S+/g, ' ');
  });
}

async function setLang(page, baseURL, lang) {
  await page.context().addCookies([{ name: 'rs_lang', value: lang, url: baseURL }]);
}

export async function everyPageIsTranslated({ page, baseURL, adminEmail, adminPassword }) {
  await login(page, baseURL, adminEmail, adminPassword);
  await ensureRoster(page, baseURL);
  const pages = await collectPages(page, baseURL);
  assert(pages.length >= 15, `the crawl finds the admin pages (found ${pages.length}: ${pages.join(' ')})`);
  const keys = catalogueKeys();
  const problems = [];
  for (const lang of ['ja', 'en']) {
    await setLang(page, baseURL, lang);
    for (const p of pages) {
      await page.goto(`${baseURL}${p}`);
      const text = await visibleText(page);
      for (const word of text.split(/[^A-Za-z0-9_]+/)) if (keys.has(word)) problems.push(`${lang} ${p}: untranslated key ${word}`);
      if (lang === 'ja') {
        for (const line of text.split('\n')) {
          const m = line.match(english);
          if (m) problems.push(`ja ${p}: English "${m[0]}" in "${line.trim().slice(0, 80)}"`);
        }
      }
    }
  }
  assert(problems.length === 0, `every page speaks the page language:\n    ${[...new Set(problems)].join('\n    ')}`);
}

async function overflow(page, baseURL, lang, width, screenshot) {
  const pages = await collectPages(page, baseURL);
  await setLang(page, baseURL, lang);
  await page.setViewportSize({ width, height: 800 });
  const problems = [];
  for (const p of pages) {
    await page.goto(`${baseURL}${p}`);
    const o = await page.evaluate(() => {
      const d = document.documentElement;
      const wide = [...document.querySelectorAll('main *')].filter((e) => e.getBoundingClientRect().right > d.clientWidth + 1)
        .slice(0, 3).map((e) => `${e.tagName.toLowerCase()}${e.id ? '#' + e.id : ''}${typeof e.className === 'string' && e.className ? '.' + e.className.split(' ')[0] : ''}`);
      return { sw: d.scrollWidth, cw: d.clientWidth, wide };
    });
    if (o.sw > o.cw) {
      problems.push(`${lang} ${width}px ${p}: ${o.sw} > ${o.cw} (${o.wide.join(', ')})`);
      await screenshot(`overflow-${lang}-${width}${p.replace(/\//g, '_')}`);
    }
  }
  assert(problems.length === 0, `no page scrolls sideways:\n    ${problems.join('\n    ')}`);
}

async function overflowTest(ctx, lang, width) {
  await login(ctx.page, ctx.baseURL, ctx.adminEmail, ctx.adminPassword);
  await ensureRoster(ctx.page, ctx.baseURL);
  await overflow(ctx.page, ctx.baseURL, lang, width, ctx.screenshot);
}

export const japaneseFitsAPhone = (ctx) => overflowTest(ctx, 'ja', 375);
export const japaneseFitsADesktop = (ctx) => overflowTest(ctx, 'ja', 1280);
export const englishFitsAPhone = (ctx) => overflowTest(ctx, 'en', 375);
export const englishFitsADesktop = (ctx) => overflowTest(ctx, 'en', 1280);
// each walks every admin page (and the first also crawls them): more than one plain test's time on a busy machine
for (const t of [japaneseFitsAPhone, japaneseFitsADesktop, englishFitsAPhone, englishFitsADesktop]) t.timeoutMs = 300000;
everyPageIsTranslated.timeoutMs = 300000;
