// The command console in headless Chromium (Debian's, driven by playwright-core).
// Run by crates/sentinel/tests/api/browser.rs against a real server with a small
// city: BASE_URL, STAFF_NAME and STAFF_PASSWORD (a dispatcher), DISPATCH_TOKEN (its
// bearer token), UNIT_TOKEN (the unit's account), ARTIFACTS (where screenshots go).
import { chromium } from 'playwright-core';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';

const base = process.env.BASE_URL;
const shots = process.env.ARTIFACTS;
mkdirSync(shots, { recursive: true });

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
    '--disable-component-update', '--no-first-run', '--disable-sync'],
});

async function api(path, init = {}) {
  const res = await fetch(base + path, { ...init, headers: { 'content-type': 'application/json', ...(init.headers || {}) } });
  return { status: res.status, body: res.headers.get('content-type')?.includes('json') ? await res.json() : null };
}
const asUnit = { authorization: `Bearer ${process.env.UNIT_TOKEN}` };
const asDispatcher = { authorization: `Bearer ${process.env.DISPATCH_TOKEN}` };

async function signedIn(locale) {
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, locale });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e));
  await page.goto(`${base}/console`);
  await page.locator('#si-name').waitFor();
  await page.fill('#si-name', process.env.STAFF_NAME);
  await page.fill('#si-password', process.env.STAFF_PASSWORD);
  await page.click('#signin button[type=submit]');
  await page.locator('body[data-ready="1"]').waitFor({ timeout: 30000 });
  return { context, page, errors };
}

async function idle(page) {
  await page.evaluate(() => new Promise((r) => {
    const m = window.consoleMap;
    if (m.loaded() && m.areTilesLoaded()) setTimeout(r, 50);
    m.once('idle', r);
    m.triggerRepaint();
  }));
}

const results = [];
async function test(name, fn) {
  try { await fn(); results.push(`ok   ${name}`); } catch (e) { results.push(`FAIL ${name}: ${e.stack || e}`); }
}

const { context, page, errors } = await signedIn('zh-CN');

await test('sign in; the map renders reports, units, cameras and hexagons, and the canvas is not blank', async () => {
  assert.equal(await page.textContent('header strong'), '指挥台');
  const { lat, lon } = (await api('/api/v1/reports?limit=1')).body.reports[0];
  await page.evaluate(([lon, lat]) => window.consoleMap.jumpTo({ center: [lon, lat], zoom: 15 }), [lon, lat]);
  await idle(page);
  const counts = await page.evaluate(() => {
    const m = window.consoleMap;
    const n = (layers) => m.queryRenderedFeatures({ layers }).length;
    const cam = m.getStyle().layers.filter((l) => l.id.endsWith('-point') && l.id.startsWith('layer-')).map((l) => l.id);
    return { reports: n(['report-points']), units: n(['units']), cameras: n(cam) };
  });
  assert.ok(counts.reports >= 3, JSON.stringify(counts));
  assert.ok(counts.units >= 1, JSON.stringify(counts));
  assert.ok(counts.cameras >= 1, JSON.stringify(counts));
  await page.evaluate(() => window.consoleMap.jumpTo({ zoom: 10 }));
  await idle(page);
  const cells = await page.evaluate(() => window.consoleMap.queryRenderedFeatures({ layers: ['report-cells'] }).map((f) => f.properties.count));
  assert.ok(cells.length >= 1 && cells.reduce((a, b) => a + b, 0) >= 3, JSON.stringify(cells));
  // Read the drawn frame back: a blank canvas has one colour.
  const colours = await page.evaluate(() => new Promise((resolve) => {
    const m = window.consoleMap;
    m.once('render', () => {
      const src = m.getCanvas();
      const c = document.createElement('canvas');
      c.width = 200; c.height = 200;
      const g = c.getContext('2d');
      g.drawImage(src, 0, 0, 200, 200);
      const d = g.getImageData(0, 0, 200, 200).data;
      const seen = new Set();
      for (let i = 0; i < d.length; i += 4) seen.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]);
      resolve(seen.size);
    });
    m.triggerRepaint();
  }));
  assert.ok(colours > 5, `${colours} colours on the canvas`);
  // The layers panel remembers a choice.
  await page.uncheck('input[data-layer="units"]');
  assert.equal(await page.evaluate(() => window.consoleMap.getLayoutProperty('units', 'visibility')), 'none');
  assert.equal(JSON.parse(await page.evaluate(() => localStorage.getItem('console.layers'))).units, false);
  await page.check('input[data-layer="units"]');
  await page.screenshot({ path: `${shots}/console-1-map.png` });
});

await test('triage with the keyboard: open, accept, assign as routed', async () => {
  await page.locator('#queue-list li').first().waitFor();
  const code = await page.getAttribute('#queue-list li[aria-selected="true"]', 'data-code');
  await page.locator('#map').click({ position: { x: 5, y: 5 } }).catch(() => {});
  await page.keyboard.press('Enter');
  await page.locator(`#drawer[data-code="${code}"]`).waitFor();
  assert.ok((await page.textContent('#d-routing')).length > 3, 'the routing reason is shown');
  await page.keyboard.press('a');
  await page.locator('#d-status[data-status="accepted"]').waitFor();
  await page.click('#d-assign');
  await page.locator('#d-status[data-status="assigned"]').waitFor();
  const r = (await api(`/api/v1/reports/${code}`, { headers: asUnit })).body;
  assert.equal(r.status, 'assigned');
  await page.screenshot({ path: `${shots}/console-2-triaged.png` });
  // Rejecting without a reason says so and changes nothing.
  await page.click('#d-reject');
  await page.locator('.toast').first().waitFor();
  assert.equal((await api(`/api/v1/reports/${code}`, { headers: asUnit })).body.status, 'assigned');
  await page.keyboard.press('Escape');
});

await test('a report filed by someone else appears without reloading', async () => {
  await page.click('#queue-tabs button[data-queue="new"]');
  const before = Number(await page.textContent('#queue-tabs button[data-queue="new"] .count'));
  const seq = Number(await page.getAttribute('#live', 'data-seq') || 0);
  const res = await api('/api/v1/reports', { method: 'POST', body: JSON.stringify({
    category: 'pothole', description: '新来的坑 / a new pothole', lat: 36.4571, lon: 115.9861 }) });
  assert.equal(res.status, 201);
  await page.waitForFunction((n) => Number(document.querySelector('#queue-tabs button[data-queue="new"] .count').textContent) === n, before + 1, { timeout: 10000 });
  await page.locator(`#queue-list li[data-code="${res.body.tracking_code}"]`).waitFor();
  assert.ok(Number(await page.getAttribute('#live', 'data-seq')) > seq);
});

await test('photos: the public copy is blurred; staff draw a missed box, save, and it is on the timeline', async () => {
  // A real portrait (NASA, public domain), filed like a citizen would.
  const form = new FormData();
  form.append('report', new Blob([JSON.stringify({ category: 'pothole', description: '照片里有人 / a person in the photo', lat: 36.4575, lon: 115.9858 })], { type: 'application/json' }));
  form.append('photo', new Blob([readFileSync(new URL('../../crates/sentinel-redact/tests/fixtures/astronaut.jpg', import.meta.url))], { type: 'image/jpeg' }), 'p.jpg');
  const res = await fetch(`${base}/api/v1/reports`, { method: 'POST', body: form });
  assert.equal(res.status, 201);
  const filed = await res.json();
  const id = filed.photos[0].split('/').pop();
  await page.evaluate((c) => window.consoleOpen(c), filed.tracking_code);
  await page.locator(`#drawer[data-code="${filed.tracking_code}"]`).waitFor();
  // The tile shows the blurred copy once it is made (a note says so meanwhile).
  await page.waitForFunction((pid) => {
    const img = document.querySelector(`figure[data-photo="${pid}"] img`);
    return img && img.complete && img.naturalWidth > 0 && !img.hidden;
  }, id, { timeout: 60000 });
  assert.match(await page.getAttribute(`figure[data-photo="${id}"] .ph-original`, 'href'), new RegExp(`/photos/${id}/original$`));
  await page.click(`figure[data-photo="${id}"] .ph-edit`);
  await page.locator('#redact .redact-stage img').waitFor();
  await page.waitForFunction(() => document.querySelector('#redact .redact-stage img').naturalWidth > 0);
  assert.ok(await page.locator('#redact .box.face').count() >= 1, 'the face the detector found is outlined');
  const box = await page.locator('#redact .redact-stage img').boundingBox();
  await page.mouse.move(box.x + box.width * 0.05, box.y + box.height * 0.8);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width * 0.3, box.y + box.height * 0.95, { steps: 5 });
  await page.mouse.up();
  assert.equal(await page.locator('#redact .box.new').count(), 1);
  await page.screenshot({ path: `${shots}/console-photo-redaction.png` });
  await page.click('#redact-save');
  await page.locator('#redact').waitFor({ state: 'detached' });
  // A unit not sent to this report may not read its redaction boxes; the command centre may.
  assert.equal((await api(`/api/v1/reports/${filed.id}/photos/${id}/redaction`, { headers: asUnit })).status, 403);
  const info = (await api(`/api/v1/reports/${filed.id}/photos/${id}/redaction`, { headers: asDispatcher })).body;
  assert.equal(info.added.length, 1, JSON.stringify(info));
  assert.ok(info.added[0].x < 60 && info.added[0].w > 80, JSON.stringify(info.added[0]));
  const events = (await api(`/api/v1/reports/${filed.id}/events`, { headers: asDispatcher })).body.events;
  assert.equal(events.at(-1).action, 'redact_photo');
});

await test('dispatch a unit end to end: recommend, assign, the unit works it, clear', async () => {
  const { reports } = (await api('/api/v1/reports?status=assigned&limit=1', { headers: asUnit })).body;
  const code = reports[0].tracking_code;
  // Opened from the map or a search, like a dispatcher would.
  await page.evaluate((c) => window.consoleOpen(c), code);
  await page.locator(`#drawer[data-code="${code}"]`).waitFor();
  await page.locator('#d-units li button').first().waitFor();
  await page.locator('#d-units li button').first().click();
  await page.locator('#d-dispatches li[data-step="assigned"]').waitFor();
  const d = (await api(`/api/v1/reports/${code}/dispatches`, { headers: asUnit })).body.dispatches[0];
  for (const step of ['acknowledged', 'en_route', 'on_scene']) {
    const res = await api(`/api/v1/dispatches/${d.id}`, { method: 'POST', headers: asUnit, body: JSON.stringify({ step }) });
    assert.equal(res.status, 200, JSON.stringify(res.body));
  }
  // The unit's steps reach the open drawer live.
  await page.locator('#d-dispatches li[data-step="on_scene"]').waitFor({ timeout: 10000 });
  await page.screenshot({ path: `${shots}/console-3-dispatch.png` });
  await page.locator('#d-dispatches li[data-step="on_scene"] button').click();
  await page.locator('#d-dispatches li[data-step="cleared"]').waitFor();
  const unit = (await api(`/api/v1/units/${d.unit}`, { headers: asUnit })).body;
  assert.equal(unit.status, 'available');
  const steps = (await api(`/api/v1/dispatches/${d.id}`, { headers: asUnit })).body.steps.map((s) => s.step);
  assert.deepEqual(steps, ['assigned', 'acknowledged', 'en_route', 'on_scene', 'cleared']);
});

await test('patrol: points with their coverage, a check-in for a unit shows at once', async () => {
  await page.keyboard.press('Escape');
  await page.locator('#map').click({ position: { x: 5, y: 5 } }).catch(() => {});
  await page.keyboard.press('5');
  const item = page.locator('#queue-list li[data-point]').first();
  await item.waitFor();
  assert.match(await item.textContent(), /南关岛巡逻点/);
  assert.match(await item.textContent(), /今日 0\/3 次/);
  assert.ok(await page.evaluate(() => window.consoleMap.getSource('patrol').serialize().data.features.length === 1));
  await item.locator('button').click();
  await page.waitForFunction(() => /今日 1\/3 次/.test(document.querySelector('#queue-list li[data-point]')?.textContent || ''), null, { timeout: 10000 });
  await page.screenshot({ path: `${shots}/console-5-patrol.png` });
  await page.keyboard.press('1');
});

await test('the analysis page: trends tested for significance, scores, patterns, charts drawn; hotspots on the map', async () => {
  const a = await context.newPage();
  a.on('pageerror', (e) => errors.push(e));
  await a.goto(`${base}/console/analysis`);
  const row = a.locator('#trend-table tbody tr[data-key="pothole"]');
  await row.waitFor({ timeout: 30000 });
  // 30 potholes last month against 90 a year before: a real decline, said so.
  assert.equal(await row.locator('td').nth(1).textContent(), '30');
  assert.equal(await row.locator('td').nth(2).textContent(), '90');
  assert.equal(await row.locator('.v-significant_decline').count(), 1);
  await a.locator('#score-table tbody tr[data-key="housing"]').waitFor();
  const inked = await a.evaluate(() => ['trend-chart', 'heat-chart', 'resolve-chart'].map((id) => {
    const c = document.querySelector(`#${id} canvas`);
    if (!c) return 0;
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 0; i < d.length; i += 4) if (d[i + 3] > 0 && (d[i] < 235 || d[i + 1] < 235 || d[i + 2] < 235)) n++;
    return n;
  }));
  assert.ok(inked.every((n) => n > 200), `every chart draws something: ${JSON.stringify(inked)}`);
  assert.match(await a.getAttribute('#export-csv', 'href'), /format=csv&since=/);
  await a.screenshot({ path: `${shots}/console-6-analysis.png`, fullPage: true });
  await a.click('#lang');
  await a.waitForFunction(() => document.title.startsWith('Analysis'));
  await a.locator('#trend-table .v-significant_decline', { hasText: 'significant decline' }).first().waitFor();
  await a.click('#lang');
  await a.waitForFunction(() => document.title.startsWith('研判'));
  // A bad period is a sentence, not a blank page.
  await a.fill('#at', '2026-13');
  await a.click('#go');
  await a.waitForFunction(() => document.querySelector('#error').textContent.includes('2026-13'));
  await a.close();
  await page.check('input[data-layer="hotspots"]');
  await page.waitForFunction(() => (window.consoleMap.getSource('hotspots').serialize().data.features || []).length > 0, null, { timeout: 15000 });
});

await test('panning stays smooth (frames counted while panning)', async () => {
  await page.evaluate(() => window.consoleMap.jumpTo({ zoom: 12 }));
  await idle(page);
  const fps = await page.evaluate(() => new Promise((resolve) => {
    const m = window.consoleMap;
    let frames = 0;
    const t0 = performance.now();
    const tick = () => {
      frames++;
      const t = performance.now() - t0;
      if (t < 3000) {
        m.panBy([6, 3], { duration: 0 });
        requestAnimationFrame(tick);
      } else resolve(frames / (t / 1000));
    };
    requestAnimationFrame(tick);
  }));
  console.log(`MEASURE console pan fps ${fps.toFixed(1)}`);
  assert.ok(fps > 5, `${fps} fps`);
});

await test('the console speaks English when the browser does', async () => {
  const en = await signedIn('en-US');
  assert.equal(await en.page.textContent('header strong'), 'Command console');
  assert.equal(await en.page.textContent('#queue-tabs button[data-queue="new"]').then((s) => s.replace(/[0-9]/g, '')), 'New');
  await en.page.screenshot({ path: `${shots}/console-4-en.png` });
  await en.context.close();
});

await test('a wrong password gets a sentence, not a blank page', async () => {
  const c = await browser.newContext({ locale: 'zh-CN' });
  const p = await c.newPage();
  await p.goto(`${base}/console`);
  await p.fill('#si-name', 'nobody');
  await p.fill('#si-password', 'wrong password');
  await p.click('#signin button[type=submit]');
  await p.waitForFunction(() => document.querySelector('#si-error').textContent.length > 0);
  assert.equal(await p.textContent('#si-error'), '用户名或密码不对。');
  await c.close();
});

assert.deepEqual(errors, []);
await context.close();
await browser.close();
console.log(results.join('\n'));
if (results.some((r) => r.startsWith('FAIL'))) process.exit(1);
