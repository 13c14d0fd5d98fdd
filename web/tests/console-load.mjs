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
  const t0 = Date.now();
  await page.click('#signin button[type=submit]');
  await page.locator('#queue-list li').first().waitFor({ timeout: 60000 });
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
