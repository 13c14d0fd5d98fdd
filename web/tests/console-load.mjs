// How long a dispatcher waits after signing in to the command console over the demo
// city: until the queue lists its reports, and until the map has drawn every tile
// (MapLibre's idle). Each run is a fresh browser profile (nothing cached), at
// 1440×900. Not a test: run by scripts/bench-console against `sentinel demo --scale
// full`. BASE_URL, STAFF_NAME, STAFF_PASSWORD; RUNS (default 7).
import { chromium } from 'playwright-core';

const base = process.env.BASE_URL;
const runs = Number(process.env.RUNS || 7);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
});

const queue = [];
const mapIdle = [];
for (let i = 0; i < runs; i++) {
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, locale: 'zh-CN' });
  const page = await context.newPage();
  await page.goto(`${base}/console`);
  await page.fill('#si-name', process.env.STAFF_NAME);
  await page.fill('#si-password', process.env.STAFF_PASSWORD);
  let t0 = Date.now();
  await page.click('#signin button[type=submit]');
  // Sign-ins from one address are rate-limited (five at once, then one every few
  // seconds): when the page says to wait, wait and time the next try instead.
  for (let tries = 0; tries < 10; tries++) {
    const refused = await page.waitForFunction(() => /秒后再试/.test(document.getElementById('si-error').textContent)
      || document.getElementById('signin').hidden, null, { timeout: 60000 }).then(() => page.evaluate(() => !document.getElementById('signin').hidden));
    if (!refused) break;
    const wait = Number((await page.textContent('#si-error')).match(/\d+/)?.[0] || 2);
    await page.waitForTimeout(wait * 1000 + 200);
    await page.evaluate(() => { document.getElementById('si-error').textContent = ''; });
    t0 = Date.now();
    await page.click('#signin button[type=submit]');
  }
  try {
    await page.locator('#queue-list li').first().waitFor({ timeout: 60000 });
  } catch (e) {
    // Say what the page showed, for whoever looks into it.
    const seen = await page.evaluate(() => ({ url: location.href, error: document.getElementById('si-error')?.textContent,
      signin: !document.getElementById('signin').hidden, ready: document.body.dataset.ready, toast: document.querySelector('.toast:not([hidden])')?.textContent,
      empty: !document.getElementById('queue-empty')?.hidden }));
    console.log(`run ${i + 1}: the queue did not list within 60 s: ${JSON.stringify(seen)}`);
    throw e;
  }
  queue.push(Date.now() - t0);
  await page.waitForFunction(() => {
    const m = window.consoleMap;
    return document.body.dataset.ready === '1' && m && m.loaded() && m.areTilesLoaded() && !m.isMoving();
  }, null, { timeout: 60000, polling: 'raf' });
  mapIdle.push(Date.now() - t0);
  await context.close();
}
await browser.close();
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(`MEASURE console after sign-in (1440x900, ${runs} runs): queue listed median ${median(queue)} ms (${queue.join(', ')}); map drawn median ${median(mapIdle)} ms (${mapIdle.join(', ')})`);
