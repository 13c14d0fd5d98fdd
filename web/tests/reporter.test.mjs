// The reporter app in headless Chromium (Debian's, driven by playwright-core; no
// browser is downloaded). Run by crates/sentinel/tests/api/browser.rs against a real
// server: BASE_URL, PHOTO (a JPEG), ARTIFACTS (where the phone-size screenshots go).
import { chromium } from 'playwright-core';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { axeProblems, unreachable, wrongWords } from './checks.mjs';

const base = process.env.BASE_URL;
const photo = process.env.PHOTO;
const shots = process.env.ARTIFACTS;
mkdirSync(shots, { recursive: true });
const HERE = { latitude: 36.4567, longitude: 115.9854, accuracy: 12 };

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
    '--disable-component-update', '--no-first-run', '--disable-sync'],
});

async function phone(locale) {
  const context = await browser.newContext({
    viewport: { width: 360, height: 740 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true,
    locale, geolocation: HERE, permissions: ['geolocation'],
  });
  const page = await context.newPage();
  page.on('pageerror', (e) => { throw e; });
  return { context, page };
}

async function shot(page, name) {
  // A screenshot is evidence, not a check: on a busy machine Chromium may refuse
  // one; try again once, then say so and go on.
  for (let i = 0; i < 2; i++) {
    try { await page.screenshot({ path: `${shots}/${name}.png`, fullPage: true }); return; } catch (e) {
      if (i === 1) console.log(`screenshot ${name} not taken: ${e.message}`);
      await page.waitForTimeout(500);
    }
  }
}

async function api(path, init) {
  const res = await fetch(base + path, init);
  return { status: res.status, body: await res.json() };
}

/** Photo → location → category, leaving the page at the details form or the nearby list. */
async function toCategory(page, name, { withPhoto = true, category = 'pothole', search = 'pothole' } = {}) {
  await page.goto(base + '/');
  await page.locator('#camera').waitFor();
  await shot(page, `${name}-1-photo`);
  if (withPhoto) {
    await page.setInputFiles('#photo-input', photo);
    await page.locator('.thumbs img').first().waitFor();
    await shot(page, `${name}-2-photo-taken`);
  }
  await page.click('#photo-next');
  // The position found is shown on a map with its accuracy, to confirm or move.
  await page.locator('#pin-use').waitFor();
  await page.locator('#loc-accuracy').waitFor();
  await page.click('#pin-use');
  await page.locator('#cat-search').waitFor();
  await page.fill('#cat-search', search);
  await shot(page, `${name}-3-category`);
  await page.click(`button.cat[data-code="${category}"]`);
}

const results = [];
async function test(name, fn) {
  try { await fn(); results.push(`ok   ${name}`); } catch (e) { results.push(`FAIL ${name}: ${e.stack || e}`); }
}

await test('our own page weight is under 100 KB gzipped, and the camera button time is measured on a slow network', async () => {
  const dir = new URL('../reporter/', import.meta.url);
  const own = readdirSync(dir).filter((f) => /\.(html|js|css|webmanifest|svg)$/.test(f));
  const gz = own.reduce((n, f) => n + gzipSync(readFileSync(new URL(f, dir)), { level: 9 }).length, 0);
  assert.ok(gz < 100 * 1024, `${gz} bytes gzipped`);
  // "Slow 3G" as Chromium's DevTools first defined it: 400 ms round trips, 400 kbit/s.
  const times = [];
  for (let i = 0; i < 5; i++) {
    const context = await browser.newContext({ viewport: { width: 360, height: 740 }, isMobile: true, locale: 'zh-CN' });
    const page = await context.newPage();
    const cdp = await context.newCDPSession(page);
    await cdp.send('Network.enable');
    await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
    await cdp.send('Network.emulateNetworkConditions', {
      offline: false, latency: 400, downloadThroughput: 400 * 1000 / 8, uploadThroughput: 400 * 1000 / 8,
    });
    await page.goto(base + '/', { waitUntil: 'commit' });
    await page.locator('#camera').waitFor();
    times.push(await page.evaluate(() => performance.now()));
    await context.close();
  }
  times.sort((a, b) => a - b);
  console.log(`MEASURE own_gzip_bytes=${gz} files=${own.length} camera_ms_slow3g_median=${Math.round(times[2])} all=${times.map(Math.round).join(',')}`);
});

let firstCode;
let first; // the phone that filed the first report, kept for the tracking page

await test('the whole flow files a report with the photo, the location and the category', async () => {
  const { context, page } = await phone('zh-CN');
  assert.equal(await page.evaluate(() => navigator.language), 'zh-CN');
  await toCategory(page, 'zh-flow');
  await page.locator('#details').waitFor();
  assert.match(await page.textContent('h1'), /补充说明/);
  await page.selectOption('#attr-size', 'medium');
  await page.fill('#description', '人民路上有个大坑 / a deep pothole on Renmin Road');
  await shot(page, 'zh-flow-4-details');
  await page.click('#send');
  await page.locator('#tracking-code').waitFor();
  await shot(page, 'zh-flow-5-done');
  firstCode = (await page.textContent('#tracking-code')).trim();
  const { status, body } = await api(`/api/v1/reports/${firstCode}`);
  assert.equal(status, 200);
  assert.equal(body.category, 'pothole');
  assert.ok(Math.abs(body.lat - HERE.latitude) < 1e-6 && Math.abs(body.lon - HERE.longitude) < 1e-6, `${body.lat},${body.lon}`);
  assert.equal(body.photos.length, 1, 'the photo arrived');
  assert.equal(body.attributes.size, 'medium');
  await page.click('text=查看处理进度');
  await page.locator('#track-status').waitFor();
  assert.match(await page.textContent('#track-status'), /已提交/);
  await shot(page, 'zh-flow-6-tracking');
  first = { context, page };
});

const lost = (page) => unreachable(page, 'main, header');

await test('text at 200% loses nothing at every step, in both languages, and large text stays on', async () => {
  for (const locale of ['zh-CN', 'en-US']) {
    const { context, page } = await phone(locale);
    // What a phone's "text size: 200%" does to a page sized in rem.
    await page.addInitScript(() => document.addEventListener('DOMContentLoaded', () => { document.documentElement.style.fontSize = '200%'; }));
    const steps = [];
    const check = async (step) => {
      const problems = await lost(page);
      steps.push(step);
      assert.deepEqual(problems, [], `${locale} ${step} at 200%`);
    };
    await page.goto(base + '/');
    await page.locator('#camera').waitFor();
    await check('photo');
    await shot(page, `${locale}-text200-1-photo`);
    await page.setInputFiles('#photo-input', photo);
    await page.locator('.thumbs img').first().waitFor();
    await page.click('#photo-next');
    await page.locator('#pin-use').waitFor();
    await check('location');
    await page.click('#pin-use');
    await page.locator('#cat-search').waitFor();
    await page.fill('#cat-search', 'pothole');
    await check('category');
    await shot(page, `${locale}-text200-2-category`);
    await page.click('button.cat[data-code="pothole"]');
    await page.locator('#details, #near-different').first().waitFor();
    if (await page.locator('#near-different').isVisible()) {
      await check('nearby');
      await shot(page, `${locale}-text200-3-nearby`);
      await page.click('#near-different');
    }
    await page.locator('#details').waitFor();
    await page.fill('#description', 'a deep pothole, text at 200%');
    await check('details');
    await page.click('#send');
    await page.locator('#tracking-code').waitFor();
    await check('sent');
    await shot(page, `${locale}-text200-4-sent`);
    const code = (await page.textContent('#tracking-code')).trim();
    await page.goto(`${base}/r/${code}`);
    await page.locator('#track-status').waitFor();
    await check('tracking');
    await page.goto(`${base}/me`);
    await page.locator('main h1').waitFor();
    await check('me');
    await page.goto(`${base}/map`);
    await page.locator('#map canvas').waitFor();
    await check('map');
    const mapWidth = await page.evaluate(() => document.getElementById('map').getBoundingClientRect().width / (visualViewport.width * visualViewport.scale));
    assert.ok(mapWidth > 0.95, `the map takes the screen's width (${mapWidth.toFixed(2)})`);
    await shot(page, `${locale}-text200-5-map`);
    assert.ok(steps.length >= 8, steps.join());
    await context.close();
  }
  // The app's own large-text mode is remembered across visits.
  const { context, page } = await phone('zh-CN');
  await page.goto(base + '/');
  await page.locator('#text-size').click();
  const size = () => page.evaluate(() => parseFloat(getComputedStyle(document.body).fontSize));
  const large = await size();
  await page.reload();
  await page.locator('#camera').waitFor();
  assert.equal(await page.getAttribute('#text-size', 'aria-pressed'), 'true');
  assert.equal(await size(), large);
  assert.ok(large >= 20, `large text is ${large}px`);
  assert.deepEqual(await lost(page), []);
  await context.close();
});

await test('offline, the report waits on the phone and arrives exactly once', async () => {
  const { context, page } = await phone('zh-CN');
  await toCategory(page, 'zh-offline', { category: 'illegal_parking', search: 'parking' });
  await page.locator('#details').waitFor();
  const text = `offline report ${Date.now()}`;
  await page.fill('#description', text);
  await context.setOffline(true);
  await page.click('#send');
  await page.locator('#queued').waitFor();
  await page.locator('#queue:not([hidden])').waitFor();
  await shot(page, 'zh-offline-1-queued');
  const list = async () => (await api('/api/v1/reports?limit=100')).body.reports.filter((r) => r.description === text);
  assert.equal((await list()).length, 0, 'nothing reached the server while offline');
  await context.setOffline(false);
  await page.locator('#queue').waitFor({ state: 'hidden', timeout: 15000 });
  // The waiting screen becomes the sent one, with the code: never a silent bar.
  await page.locator('#tracking-code').waitFor({ timeout: 15000 });
  const offlineCode = (await page.textContent('#tracking-code')).trim();
  assert.doesNotMatch(await page.textContent('main'), /现在没有网络/);
  await shot(page, 'zh-offline-2-sent');
  // Opening the app again sends nothing twice.
  await page.goto(base + '/');
  await page.locator('#camera').waitFor();
  await page.waitForTimeout(500);
  assert.equal((await list()).length, 1, 'exactly one report');
  // The phone keeps its reports' codes: "my reports on this phone".
  await page.locator(`#mine li[data-code="${offlineCode}"]`).waitFor();
  await shot(page, 'zh-offline-3-mine');
  await context.close();
});

await test('a first visit made offline can still file: the categories come from the app\'s cache', async () => {
  const { context, page } = await phone('zh-CN');
  await page.goto(base + '/');
  await page.locator('#camera').waitFor();
  // The service worker has installed and kept what the app needs.
  await page.waitForFunction(async () => Boolean(navigator.serviceWorker.controller) && Boolean(await caches.match('/api/v1/categories')), null, { timeout: 20000 });
  await page.evaluate(() => localStorage.clear());
  await context.setOffline(true);
  await page.reload();
  await page.locator('#camera').waitFor();
  await page.click('#photo-next');
  await page.locator('#pin-use').waitFor();
  await page.click('#pin-use');
  await page.locator('button.cat[data-code="pothole"]').waitFor();
  // Group headings are names, not codes.
  const legends = await page.$$eval('#cat-list legend', (ls) => ls.map((l) => l.textContent));
  assert.ok(legends.includes('道路交通') && !legends.some((l) => /^[a-z_]+$/.test(l)), legends.join(','));
  await shot(page, 'zh-offline-4-first-visit');
  await context.setOffline(false);
  await context.close();
});

await test('"me too" on a nearby report raises its supporters and files nothing new', async () => {
  assert.ok(firstCode, 'the first test filed a report');
  const before = (await api('/api/v1/reports?limit=100')).body.reports.length;
  const { context, page } = await phone('zh-CN');
  await toCategory(page, 'zh-metoo', { withPhoto: false });
  await page.locator(`button.metoo[data-code="${firstCode}"]`).waitFor();
  await shot(page, 'zh-metoo-1-nearby');
  await page.click(`button.metoo[data-code="${firstCode}"]`);
  await page.locator('#metoo-thanks').waitFor();
  await shot(page, 'zh-metoo-2-thanks');
  assert.equal((await api(`/api/v1/reports/${firstCode}`)).body.supporters, 2);
  assert.equal((await api('/api/v1/reports?limit=100')).body.reports.length, before);
  await context.close();
});

await test('English renders, and a refusal comes back as a sentence with the draft kept', async () => {
  const { context, page } = await phone('en-US');
  await page.goto(base + '/');
  await page.locator('#camera').waitFor();
  assert.match(await page.textContent('#camera'), /Take or choose a photo/);
  await shot(page, 'en-1-photo');
  // The English header stays on one line on a 390 px phone.
  for (const id of ['#lang', '#map-link', '#me-link', '.brand']) {
    const lines = await page.evaluate((s) => { const r = document.createRange(); r.selectNodeContents(document.querySelector(s)); return new Set([...r.getClientRects()].map((x) => Math.round(x.top))).size; }, id);
    assert.equal(lines, 1, `${id} on one line`);
  }
  await page.click('#photo-next');
  await page.click('#pin-use');
  await page.fill('#cat-search', 'fire');
  await page.click('button.cat[data-code="fire_lane_blocked"]');
  await page.locator('#details').waitFor();
  await page.click('#send');
  const error = page.locator('.error');
  await error.waitFor();
  assert.match(await error.textContent(), /Describe the problem or add a photo\./);
  await shot(page, 'en-2-refused');
  await page.fill('#description', 'tricycles block the fire lane');
  await page.click('#send');
  await page.locator('#tracking-code').waitFor();
  await shot(page, 'en-3-done');
  // The switch goes back to Chinese, and stays.
  await page.click('#lang');
  assert.match(await page.textContent('#camera'), /拍照或选照片/);
  await context.close();
});

await test('the reporter confirms the fix and rates it from the tracking page', async () => {
  const { page } = first;
  const { body } = await api(`/api/v1/reports/${firstCode}`);
  const act = (action) => api(`/api/v1/reports/${body.id}/actions`, {
    method: 'POST', headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${process.env.STAFF_TOKEN}` },
    body: JSON.stringify(action),
  });
  for (const a of [{ action: 'accept' }, { action: 'assign' }, { action: 'start' }, { action: 'resolve', note: '已修补 / patched' }]) {
    const r = await act(a);
    assert.equal(r.status, 200, JSON.stringify(r.body));
  }
  await page.goto(`${base}/r/${firstCode}`);
  await page.locator('#confirm-fix').waitFor();
  await shot(page, 'zh-track-1-resolved');
  await page.click('#confirm-fix');
  await page.locator('#track-thanks').waitFor();
  await page.locator('.stars').waitFor();
  assert.equal((await api(`/api/v1/reports/${firstCode}`)).body.status, 'closed');
  await page.click('.stars button[data-score="4"]');
  await page.fill('#rating-comment', '很快 / quick');
  await shot(page, 'zh-track-2-rating');
  await page.click('#send-rating');
  // The thanks from confirming is already on the page: wait for the rating itself.
  let rating;
  for (let i = 0; i < 50 && rating !== 4; i++) {
    rating = (await api(`/api/v1/reports/${firstCode}`)).body.rating;
    if (rating !== 4) await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(rating, 4);
  // Another phone sees the progress but not the reporter's buttons.
  const other = await phone('zh-CN');
  await other.page.goto(`${base}/r/${firstCode}`);
  await other.page.locator('#track-status').waitFor();
  assert.equal(await other.page.locator('#reporter-actions').count(), 0);
  await other.context.close();
  await first.context.close();
});

await test('the public map shows reports by category and status, with no personal data', async () => {
  const { context, page } = await phone('zh-CN');
  await page.goto(`${base}/map`);
  const count = async () => Number(await page.locator('#map').getAttribute('data-count'));
  await page.waitForFunction(() => document.getElementById('map').dataset.count !== undefined);
  const open = await count();
  assert.ok(open >= 2, `open reports on the map: ${open}`);
  const wide = await page.evaluate(() => document.getElementById('map').getBoundingClientRect().width / innerWidth);
  assert.ok(wide > 0.95, `the map takes the screen's width (${wide.toFixed(2)})`);
  await shot(page, 'zh-map-1-open');
  await page.selectOption('#f-category', 'illegal_parking');
  await page.waitForFunction(() => document.getElementById('f-count').textContent.includes(' 1 '));
  assert.equal(await count(), 1);
  await page.selectOption('#f-category', '');
  await page.selectOption('#f-status', 'done');
  await page.waitForFunction(() => document.getElementById('map').dataset.count === '1');
  await shot(page, 'zh-map-2-done');
  const served = await (await fetch(`${base}/api/v1/reports?limit=500`)).text();
  assert.ok(!served.includes('13800138000') && !served.includes('reporter_key'), 'no personal data');
  await context.close();
});

await test('without GPS or EXIF the reporter drops a pin on the map, at 320 px', async () => {
  const context = await browser.newContext({ viewport: { width: 320, height: 640 }, isMobile: true, hasTouch: true, locale: 'zh-CN' });
  const page = await context.newPage();
  await page.goto(base + '/');
  await page.locator('#camera').waitFor();
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth > visualViewport.width * visualViewport.scale + 1);
  assert.equal(overflow, false, 'nothing wider than the screen');
  await page.click('#photo-next');
  await page.locator('#pin-map canvas').waitFor({ timeout: 15000 });
  await shot(page, 'zh-pin-1-map-320');
  // Drag the pin a little east, then use it.
  const marker = page.locator('.maplibregl-marker');
  const box = await marker.boundingBox();
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width / 2 + 60, box.y + box.height / 2, { steps: 5 });
  await page.mouse.up();
  await page.click('#pin-use');
  await page.fill('#cat-search', 'manhole');
  await page.locator('button.cat').first().click();
  await page.locator('#details, #near-different').first().waitFor();
  if (await page.locator('#near-different').count()) await page.click('#near-different');
  await page.fill('#description', 'pinned by hand');
  await page.click('#send');
  await page.locator('#tracking-code').waitFor();
  const code = (await page.textContent('#tracking-code')).trim();
  const { body } = await api(`/api/v1/reports/${code}`);
  assert.ok(Math.abs(body.lat - 36.456) < 0.01 && body.lon > 115.985 && body.lon < 116.0, `${body.lat},${body.lon}`);
  await context.close();
});

await test('a place outside the city is refused with a sentence, and a photo that is not one is named', async () => {
  const context = await browser.newContext({ viewport: { width: 360, height: 740 }, isMobile: true, locale: 'zh-CN',
    geolocation: { latitude: 39.9042, longitude: 116.4074, accuracy: 20 }, permissions: ['geolocation'] });
  const page = await context.newPage();
  await page.goto(base + '/');
  await page.locator('#camera').waitFor();
  await page.setInputFiles('#photo-input', { name: 'notes.txt', mimeType: 'image/jpeg', buffer: Buffer.from('not a photo at all') });
  const bad = page.locator('.error');
  await bad.waitFor();
  assert.match(await bad.textContent(), /“notes.txt”不是可以打开的图片/);
  await shot(page, 'zh-bad-1-not-a-photo');
  await page.click('#photo-next');
  await page.click('#pin-use');
  await page.fill('#cat-search', 'pothole');
  await page.click('button.cat[data-code="pothole"]');
  await page.locator('#details').waitFor();
  await page.fill('#description', 'a hole in Beijing');
  await page.click('#send');
  const error = page.locator('.error');
  await error.waitFor();
  assert.match(await error.textContent(), /这个位置不在本市服务范围内/);
  assert.equal(await page.inputValue('#description'), 'a hole in Beijing', 'the draft is kept');
  await shot(page, 'zh-bad-2-outside');
  await context.close();
});

await test('a sentinel signs in, asks to join a group, and sees the report filed while signed in', async () => {
  const { context, page } = await phone('zh-CN');
  await page.goto(`${base}/me`);
  await page.locator('#me-who').waitFor();
  await page.fill('#me-who', '13900002222');
  await page.fill('#me-password', 'wrong password!');
  await page.click('#me-signin');
  assert.match(await page.locator('.error').textContent(), /手机号、邮箱或密码不对/);
  await page.fill('#me-password', 'rider password 1');
  await page.click('#me-signin');
  await page.locator('#me-name').waitFor();
  assert.equal(await page.textContent('#me-name'), '测试骑手');
  assert.match(await page.textContent('li[data-group="delivery_rider"]'), /已加入/);
  await page.click('button.join[data-group="courier"]');
  await page.locator('li[data-group="courier"] .hint').waitFor();
  assert.match(await page.textContent('li[data-group="courier"]'), /审核中/);
  await shot(page, 'zh-me-1-account');
  await toCategory(page, 'zh-me', { withPhoto: false, category: 'food_safety', search: 'food' });
  await page.locator('#details').waitFor();
  await page.fill('#description', '后厨脏乱 / a dirty kitchen');
  await page.click('#send');
  await page.locator('#tracking-code').waitFor();
  await page.goto(`${base}/me`);
  await page.locator('#me-filed').waitFor();
  assert.match(await page.textContent('#me-filed'), /报告 1 件/);
  await shot(page, 'zh-me-2-with-report');
  await context.close();
});

await test('everyday words find everyday categories, under named groups', async () => {
  const { context, page } = await phone('zh-CN');
  await page.goto(base + '/');
  await page.click('#photo-next');
  await page.click('#pin-use');
  await page.locator('#cat-list legend').first().waitFor();
  const legends = await page.$$eval('#cat-list legend', (ls) => ls.map((l) => l.textContent));
  assert.ok(legends.includes('市容市政') && !legends.some((l) => /[a-z_]{3,}/.test(l)), legends.join(','));
  await page.fill('#cat-search', '垃圾');
  assert.deepEqual(await page.$$eval('button.cat', (b) => b.map((x) => x.dataset.code)), ['rubbish']);
  await page.fill('#cat-search', '路灯');
  assert.equal(await page.getAttribute('button.cat >> nth=0', 'data-code'), 'streetlight');
  await shot(page, 'zh-cat-streetlight');
  await context.close();
});

await test('the tracking page says who handles it, by when and where; a photo opens large', async () => {
  const { context, page } = await phone('zh-CN');
  const form = new FormData();
  form.append('report', new Blob([JSON.stringify({ category: 'pothole', description: '跟踪页 / tracking page', lat: HERE.latitude, lon: HERE.longitude })], { type: 'application/json' }));
  form.append('photo', new Blob([readFileSync(photo)], { type: 'image/jpeg' }), 'p.jpg');
  const filed = await (await fetch(`${base}/api/v1/reports`, { method: 'POST', body: form })).json();
  await page.goto(`${base}/r/${filed.tracking_code}`);
  await page.locator('#track-department').waitFor();
  assert.match(await page.textContent('#track-department'), /住房和城乡建设局/);
  await page.locator('#track-due').waitFor();
  assert.equal(await page.getAttribute('.thumbs a', 'href'), filed.photos[0]);
  // No empty grey square beside a photo that has loaded.
  await page.waitForFunction(() => { const i = document.querySelector('.thumbs img'); return i && i.complete && i.naturalWidth > 0; }, null, { timeout: 60000 });
  assert.equal(await page.evaluate(() => [...document.querySelectorAll('.photo-note')].filter((n) => n.offsetWidth > 0).length), 0);
  await shot(page, 'zh-track-facts');
  await context.close();
});

await test('the public map has a legend, and two reports at one spot both open', async () => {
  for (let i = 0; i < 2; i++) {
    await api('/api/v1/reports', { method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ category: 'rubbish', description: `同一处 ${i} / same spot ${i}`, lat: 36.4601, lon: 115.9901 }) });
  }
  const { context, page } = await phone('zh-CN');
  await page.goto(`${base}/map`);
  await page.locator('#legend li').first().waitFor();
  assert.match(await page.textContent('#legend'), /圆点越大/);
  await page.evaluate(() => new Promise((r) => { const m = window.reportsMap; m.jumpTo({ center: [115.9901, 36.4601], zoom: 17 }); m.once('idle', r); }));
  const px = await page.evaluate(() => window.reportsMap.project([115.9901, 36.4601]));
  const box = await page.locator('#map').boundingBox();
  await page.mouse.click(box.x + px.x, box.y + px.y);
  await page.locator('.map-popup').waitFor();
  assert.ok((await page.locator('.map-popup > div').count()) >= 2);
  await shot(page, 'zh-map-3-two-at-one-spot');
  await context.close();
});

await test('no raw code or wrong-language word on any reporter page, and axe-core finds no serious problem', async () => {
  const problems = [];
  const code = (await api('/api/v1/reports?limit=1')).body.reports[0].tracking_code;
  for (const locale of ['zh-CN', 'en-US']) {
    const lang = locale === 'zh-CN' ? 'zh-CN' : 'en';
    const { context, page } = await phone(locale);
    const check = async (where) => {
      problems.push(...(await wrongWords(page, lang)).map((w) => `${locale} ${where}: ${w}`));
      problems.push(...(await axeProblems(page)).map((w) => `${locale} ${where}: ${w}`));
    };
    await page.goto(base + '/');
    await page.locator('#camera').waitFor();
    await check('photo');
    await page.click('#photo-next');
    await page.locator('#pin-use').waitFor();
    await check('location');
    await page.click('#pin-use');
    await page.locator('#cat-list button.cat').first().waitFor();
    await check('category');
    await page.click('button.cat[data-code="fire_lane_blocked"]');
    await page.locator('#details, #near-different').first().waitFor();
    if (await page.locator('#near-different').count()) { await check('nearby'); await page.click('#near-different'); }
    await page.locator('#details').waitFor();
    await check('details');
    await page.goto(`${base}/r/${code}`);
    await page.locator('#track-status').waitFor();
    await check('tracking');
    await page.goto(`${base}/map`);
    await page.locator('#legend li').first().waitFor();
    await check('map');
    const mapWidth = await page.evaluate(() => document.getElementById('map').getBoundingClientRect().width / (visualViewport.width * visualViewport.scale));
    assert.ok(mapWidth > 0.95, `the map takes the screen's width (${mapWidth.toFixed(2)})`);
    await page.goto(`${base}/me`);
    await page.locator('#me-who').waitFor();
    await check('account');
    await context.close();
  }
  assert.deepEqual(problems, []);
});

await test('signing up sends a code, and a wrong code is refused with a sentence', async () => {
  const { context, page } = await phone('en-US');
  await page.goto(`${base}/me`);
  await page.locator('#me-who').waitFor();
  await page.fill('#me-who', '13900003333');
  await page.fill('#me-password', 'a new password 1');
  await page.click('#me-signup');
  await page.locator('#code-sent').waitFor();
  assert.match(await page.textContent('#code-sent'), /139\*\*\*\*3333/);
  await page.fill('#me-code', '000000');
  await page.click('#me-verify');
  assert.match(await page.locator('.error').textContent(), /The code is wrong or has expired\./);
  await shot(page, 'en-me-code');
  await context.close();
});

await browser.close();
console.log(results.join('\n'));
if (results.some((r) => r.startsWith('FAIL'))) process.exit(1);
