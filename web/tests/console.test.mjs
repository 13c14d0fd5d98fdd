// The command console in headless Chromium (Debian's, driven by playwright-core).
// Run by crates/sentinel/tests/api/browser.rs against a real server with a small
// city: BASE_URL, STAFF_NAME and STAFF_PASSWORD (a dispatcher), DISPATCH_TOKEN (its
// bearer token), UNIT_TOKEN (the unit's account), ARTIFACTS (where screenshots go).
import { chromium } from 'playwright-core';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { axeProblems, unreachable, wrongWords } from './checks.mjs';

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
const asOfficer = { authorization: `Bearer ${process.env.OFFICER_TOKEN}` };

async function signedIn(locale, name = process.env.STAFF_NAME, screen = { viewport: { width: 1440, height: 900 } }) {
  const context = await browser.newContext({ ...screen, locale });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e));
  await page.goto(`${base}/console`);
  await page.locator('#si-name').waitFor();
  await page.fill('#si-name', name);
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
const signInMs = Number(await page.evaluate(() => performance.now()));

/** Files a report as the public would; returns its 201 answer. */
async function file(description, extra = {}) {
  const res = await api('/api/v1/reports', { method: 'POST', body: JSON.stringify({ category: 'pothole', description, lat: 36.4569, lon: 115.9857, ...extra }) });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return res.body;
}

async function act(code, body) {
  const res = await api(`/api/v1/reports/${code}/actions`, { method: 'POST', headers: asDispatcher, body: JSON.stringify(body) });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body.report;
}

async function openInDrawer(p, code) {
  await p.evaluate((c) => window.consoleOpen(c), code);
  await p.locator(`#drawer[data-code="${code}"]`).waitFor();
  await p.waitForFunction(() => !document.querySelector('#drawer').hidden);
}

/** The lifecycle buttons the drawer offers, by action name. */
async function offered(p) {
  return p.evaluate(() => {
    const ids = { 'd-accept': 'accept', 'd-reject': 'reject', 'd-merge-go': 'merge', 'd-assign': 'assign', 'd-start': 'start', 'd-return': 'return',
      'd-resolve': 'resolve', 'd-verify': 'verify', 'd-close-report': 'close', 'd-reopen': 'reopen', 'd-escalate': 'escalate',
      'd-set-priority': 'set_priority', 'd-comment': 'comment', 'd-rate': 'rate' };
    return Object.entries(ids).filter(([id]) => document.getElementById(id)).map(([, a]) => a).sort();
  });
}

await test('sign in; the map renders reports, units, cameras and hexagons, and the canvas is not blank', async () => {
  assert.equal(await page.textContent('header strong'), '指挥台');
  const { lat, lon } = (await api('/api/v1/reports?limit=1')).body.reports[0];
  await page.evaluate(([lon, lat]) => window.consoleMap.jumpTo({ center: [lon, lat], zoom: 15 }), [lon, lat]);
  await idle(page);
  // Cameras wait to be switched on (they crowd reports out at street level).
  const cameraLayer = (await api('/api/v1/layers', { headers: asDispatcher })).body.layers.find((l) => l.kind === 'cameras');
  assert.equal(await page.isChecked(`input[data-layer="layer-${cameraLayer.id}"]`), false, 'cameras are off by default');
  await page.check(`input[data-layer="layer-${cameraLayer.id}"]`);
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
  assert.equal(JSON.parse(await page.evaluate((n) => localStorage.getItem(`console.layers.${n}`), process.env.STAFF_NAME)).units, false);
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
  // Once assigned, accepting or rejecting is no longer offered.
  assert.equal(await page.locator('#d-accept').count(), 0);
  assert.equal(await page.locator('#d-reject').count(), 0);
  // A comment without text says so, in words, and changes nothing.
  await page.click('#d-comment');
  await page.locator('.toast:not([hidden])').waitFor();
  assert.equal(await page.textContent('.toast'), '请填写理由。');
  assert.equal((await api(`/api/v1/reports/${code}/events`, { headers: asDispatcher })).body.events.filter((e) => e.action === 'comment').length, 0);
  await page.keyboard.press('Escape');
});

await test('a shortcut changes only the report the drawer shows, never the row that moved under it', async () => {
  const a = await file('快捷键测试 A / shortcut test A');
  const b = await file('快捷键测试 B / shortcut test B');
  await page.click('#queue-tabs button[data-queue="new"]');
  await page.locator(`#queue-list li[data-code="${a.tracking_code}"]`).waitFor({ timeout: 10000 });
  await page.locator(`#queue-list li[data-code="${a.tracking_code}"]`).click();
  await page.locator(`#drawer[data-code="${a.tracking_code}"]`).waitFor();
  await page.locator('#d-accept').waitFor();
  await page.locator('#map').click({ position: { x: 5, y: 5 } }).catch(() => {});
  await page.keyboard.press('a');
  await page.locator('#d-status[data-status="accepted"]').waitFor();
  // A leaves the new queue; the highlight lands on another report while the
  // drawer still shows A. Pressing a again must not accept that other report.
  await page.waitForFunction((c) => !document.querySelector(`#queue-list li[data-code="${c}"]`), a.tracking_code, { timeout: 10000 });
  const highlighted = await page.getAttribute('#queue-list li[aria-selected="true"]', 'data-code');
  assert.notEqual(highlighted, a.tracking_code);
  await page.keyboard.press('a');
  await page.locator('.toast:not([hidden])').waitFor();
  assert.match(await page.textContent('.toast'), /不能“受理”/);
  await page.waitForTimeout(800);
  for (const code of [highlighted, b.tracking_code]) {
    assert.equal((await api(`/api/v1/reports/${code}`, { headers: asDispatcher })).body.status, 'submitted', `${code} was not touched`);
  }
  assert.equal((await api(`/api/v1/reports/${a.tracking_code}`, { headers: asDispatcher })).body.status, 'accepted');
  await page.screenshot({ path: `${shots}/console-7-shortcut-refused.png` });
  // With the drawer closed, a shortcut changes nothing and says why.
  await page.keyboard.press('Escape');
  await page.keyboard.press('a');
  await page.waitForFunction(() => /先打开一张工单/.test(document.querySelector('.toast')?.textContent || ''));
  assert.equal((await api(`/api/v1/reports/${highlighted}`, { headers: asDispatcher })).body.status, 'submitted');
  // Opening the highlighted one is what makes it actionable.
  await page.keyboard.press('Enter');
  await page.locator(`#drawer[data-code="${highlighted}"] #d-accept`).waitFor();
  await page.keyboard.press('a');
  await page.locator(`#drawer[data-code="${highlighted}"] #d-status[data-status="accepted"]`).waitFor();
  await page.keyboard.press('Escape');
});

await test('the buttons follow the lifecycle table for each state and role, and a refusal is a sentence', async () => {
  // The table, written out here independently of the server.
  const dispatcher = {
    submitted: ['accept', 'comment', 'escalate', 'merge', 'reject', 'set_priority'],
    accepted: ['assign', 'comment', 'escalate', 'set_priority'],
    assigned: ['comment', 'escalate', 'set_priority'],
    in_progress: ['comment', 'escalate', 'set_priority'],
    resolved: ['close', 'comment', 'escalate', 'rate', 'reopen', 'set_priority'],
    closed: ['comment', 'rate'],
  };
  const officer = { assigned: ['comment', 'return', 'start'], in_progress: ['comment', 'resolve'], resolved: ['comment'], closed: ['comment'] };
  const reports = {};
  const r0 = await file('按钮测试 / buttons');
  reports.submitted = r0.tracking_code;
  const steps = [['accepted', { action: 'accept' }], ['assigned', { action: 'assign', department: 'housing' }], ['in_progress', null],
    ['resolved', null], ['closed', { action: 'close' }]];
  for (const [stateName] of steps) {
    const r = await file(`按钮测试 ${stateName} / buttons`);
    for (const [s, body] of steps) {
      if (s === 'in_progress') await api(`/api/v1/reports/${r.tracking_code}/actions`, { method: 'POST', headers: asOfficer, body: JSON.stringify({ action: 'start' }) });
      else if (s === 'resolved') await api(`/api/v1/reports/${r.tracking_code}/actions`, { method: 'POST', headers: asOfficer, body: JSON.stringify({ action: 'resolve', note: '已修好 / fixed' }) });
      else await act(r.tracking_code, body);
      if (s === stateName) break;
    }
    assert.equal((await api(`/api/v1/reports/${r.tracking_code}`, { headers: asDispatcher })).body.status, stateName);
    reports[stateName] = r.tracking_code;
  }
  for (const [stateName, code] of Object.entries(reports)) {
    await openInDrawer(page, code);
    assert.deepEqual(await offered(page), dispatcher[stateName], `dispatcher on ${stateName}`);
    const view = (await api(`/api/v1/reports/${code}`, { headers: asDispatcher })).body;
    assert.deepEqual([...view.allowed_actions].sort(), dispatcher[stateName], `allowed_actions of ${stateName}`);
  }
  await page.keyboard.press('Escape');
  for (const [who, want] of [['analyst', {}], ['officer', officer]]) {
    const s = await signedIn('zh-CN', who === 'analyst' ? process.env.ANALYST_NAME : process.env.OFFICER_NAME);
    // Each role starts with its own layers: an analyst where reports gather, not where cars are.
    const layers = await s.page.$$eval('#layer-list input', (xs) => Object.fromEntries(xs.map((x) => [x.dataset.layer, x.checked])));
    const wantLayers = who === 'analyst' ? { heat: true, hotspots: true, units: false, reports: true } : { heat: false, hotspots: false, units: true, reports: true };
    for (const [k, v] of Object.entries(wantLayers)) assert.equal(layers[k], v, `${who}: layer ${k}`);
    assert.equal(await s.page.evaluate(() => window.consoleMap.getLayoutProperty('report-heat', 'visibility')), who === 'analyst' ? 'visible' : 'none');
    for (const [stateName, code] of Object.entries(reports)) {
      await openInDrawer(s.page, code);
      const got = await offered(s.page);
      assert.deepEqual(got, want[stateName] || [], `${who} on ${stateName}`);
      if (!got.length) await s.page.locator('#d-no-actions').waitFor();
    }
    await s.page.screenshot({ path: `${shots}/console-8-${who}-drawer.png` });
    assert.deepEqual(s.errors, [], `${who}: no page errors`);
    await s.context.close();
  }
  // Someone else acts first: the refusal is a sentence in Chinese, and the drawer
  // is redrawn as the report now is.
  const race = await file('抢先处理 / someone was first');
  await openInDrawer(page, race.tracking_code);
  await page.locator('#d-accept').waitFor();
  await act(race.tracking_code, { action: 'accept' });
  await page.evaluate(() => document.getElementById('d-accept')?.click());
  await page.waitForFunction(() => !document.getElementById('d-accept'), null, { timeout: 10000 });
  const said = await page.evaluate(() => document.querySelector('.toast:not([hidden])')?.textContent || '');
  assert.doesNotMatch(said, /[a-z]{4,}/, `a refusal in words of ours: ${said}`);
  await page.keyboard.press('Escape');
});

await test('no raw code or English word on the Chinese console, no Chinese on the English one', async () => {
  const code = (await file('文字检查 / words check')).tracking_code;
  await act(code, { action: 'accept' });
  await act(code, { action: 'assign', department: 'housing' });
  await openInDrawer(page, code);
  await page.locator('#d-timeline li').nth(2).waitFor();
  assert.doesNotMatch(await page.textContent('#d-routing'), /[a-z]_[a-z]|\d{9}/, 'the routing reason is words');
  assert.match(await page.textContent('#d-timeline'), /调度员/);
  assert.deepEqual(await wrongWords(page, 'zh-CN'), []);
  await page.screenshot({ path: `${shots}/console-9-words-zh.png` });
  await page.keyboard.press('Escape');
  const en = await signedIn('en-US');
  await openInDrawer(en.page, code);
  await en.page.locator('#d-timeline li').nth(2).waitFor();
  assert.deepEqual(await wrongWords(en.page, 'en'), []);
  assert.doesNotMatch(await en.page.textContent('#live'), /实时|\d/);
  await en.page.screenshot({ path: `${shots}/console-9-words-en.png` });
  await en.context.close();
});

await test('search: a tracking code opens its report; a caller\'s phone, a place and a call sign are found', async () => {
  const phoned = await file('按电话找 / found by phone', { contact: { name: '王女士', phone: '139 1234 5678' } });
  await page.fill('#search', phoned.tracking_code);
  await page.press('#search', 'Enter');
  await page.locator(`#drawer[data-code="${phoned.tracking_code}"]`).waitFor();
  await page.keyboard.press('Escape');
  await page.fill('#search', '13912345678');
  await page.press('#search', 'Enter');
  await page.locator('#search-results li[data-kind="report"]').first().waitFor();
  assert.match(await page.textContent('#search-results'), new RegExp(phoned.tracking_code));
  const found = (await api('/api/v1/search?q=13912345678', { headers: asDispatcher })).body.results;
  assert.equal(found[0].code, phoned.tracking_code);
  assert.equal(found[0].matched, 'phone');
  // A unit may not look people up by phone.
  assert.equal((await api('/api/v1/search?q=13912345678', { headers: asUnit })).body.results.filter((x) => x.kind === 'report').length, 0);
  await page.fill('#search', '巡逻-02');
  await page.press('#search', 'Enter');
  await page.locator('#search-results li[data-kind="unit"]').waitFor();
  await page.fill('#search', '路口 1');
  await page.press('#search', 'Enter');
  await page.locator('#search-results li[data-kind="feature"]').first().waitFor();
  await page.screenshot({ path: `${shots}/console-10-search.png` });
  await page.locator('#search-results li[data-kind="feature"]').first().click();
  assert.equal((await api('/api/v1/search?q=', { headers: asDispatcher })).status, 400);
  assert.equal((await api('/api/v1/search?q=x')).status, 401);
});

await test('a call taken by phone is filed from the keyboard and its code read back', async () => {
  await page.locator('#map').click({ position: { x: 5, y: 5 } }).catch(() => {});
  await page.keyboard.press('Escape');
  const t0 = Date.now();
  await page.keyboard.press('n');
  await page.locator('#in-name').waitFor();
  assert.equal(await page.evaluate(() => document.activeElement.id), 'in-name');
  await page.keyboard.type('李先生');
  await page.keyboard.press('Tab');
  await page.keyboard.type('138-0000-1111');
  await page.keyboard.press('Tab');
  await page.selectOption('#in-category', 'pothole');
  await page.selectOption('#in-attr-size', 'large');
  // Sending without a place says what is missing and files nothing.
  await page.keyboard.press('Control+Enter');
  await page.waitForFunction(() => /还缺/.test(document.querySelector('#in-status').textContent));
  const box = await page.locator('#map').boundingBox();
  await page.mouse.click(box.x + box.width / 3, box.y + box.height / 2);
  await page.waitForFunction(() => /地图上的点/.test(document.querySelector('#in-where').textContent));
  await page.fill('#in-description', '电话反映：路面塌陷 / caller says the road has sunk');
  await page.screenshot({ path: `${shots}/console-11-intake.png` });
  await page.keyboard.press('Control+Enter');
  await page.locator('#intake-code').waitFor();
  const code = (await page.textContent('#intake-code')).trim();
  console.log(`MEASURE phone intake in the browser ${Date.now() - t0} ms`);
  const r = (await api(`/api/v1/reports/${code}`, { headers: asDispatcher })).body;
  assert.equal(r.channel, 'phone');
  assert.equal(r.reporter.contact.phone, '13800001111');
  assert.equal(r.attributes.size, 'large');
  await page.screenshot({ path: `${shots}/console-12-intake-done.png` });
  await page.keyboard.press('Escape');
});

await test('the shortcuts dialog closes with Esc; two messages never stack', async () => {
  await page.click('#help');
  await page.locator('#shortcuts[open]').waitFor();
  await page.keyboard.press('Escape');
  await page.locator('#shortcuts:not([open])').waitFor({ state: 'attached' });
  assert.equal(await page.evaluate(() => document.getElementById('shortcuts').open), false);
  await page.keyboard.press('a');
  await page.keyboard.press('a');
  assert.equal(await page.locator('.toast').count(), 1);
});

await test('every console page passes axe-core with no serious or critical problem', async () => {
  const problems = [];
  const code = (await api('/api/v1/reports?limit=1', { headers: asDispatcher })).body.reports[0].tracking_code;
  await openInDrawer(page, code);
  problems.push(...(await axeProblems(page)).map((p) => `console: ${p}`));
  await page.keyboard.press('Escape');
  const a = await context.newPage();
  await a.goto(`${base}/console/analysis`);
  await a.locator('#trend-table tbody tr').first().waitFor({ timeout: 30000 });
  problems.push(...(await axeProblems(a)).map((p) => `analysis: ${p}`));
  await a.close();
  const c = await browser.newContext({ locale: 'zh-CN' });
  const p = await c.newPage();
  await p.goto(`${base}/console`);
  await p.locator('#si-name').waitFor();
  problems.push(...(await axeProblems(p)).map((x) => `sign-in: ${x}`));
  await c.close();
  assert.deepEqual(problems, []);
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
  // The command centre names the unit that reported the visit: a picker, nearest
  // on duty first, refusing to record a visit for nobody.
  await item.locator('button').click();
  const dlg = page.locator('dialog#checkin');
  await dlg.waitFor();
  assert.match(await dlg.locator('h3').textContent(), /代签到：南关岛巡逻点/);
  await dlg.locator('#checkin-save').click();
  assert.match(await dlg.locator('#checkin-status').textContent(), /请先选择到访的单位/);
  assert.deepEqual(await axeProblems(page), []);
  assert.deepEqual(await wrongWords(page, 'zh-CN'), []);
  const first = await dlg.locator('#checkin-unit option').nth(1).getAttribute('value');
  await dlg.locator('#checkin-unit').selectOption(first);
  await page.screenshot({ path: `${shots}/console-5-checkin-pick.png` });
  await dlg.locator('#checkin-save').click();
  await dlg.waitFor({ state: 'detached' });
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

await test('zoomed to 200%, every control of the bar, the queue and the drawer can be reached', async () => {
  for (const locale of ['zh-CN', 'en-US']) {
    // A 1440×900 screen zoomed to 200%: 720×450 CSS pixels.
    const z = await signedIn(locale, undefined, { viewport: { width: 720, height: 450 }, deviceScaleFactor: 2 });
    assert.deepEqual(await unreachable(z.page, '#app > .bar, #queue'), [], `${locale}: the bar and the queue`);
    await z.page.locator('#queue-list li').first().click();
    await z.page.locator('#drawer:not([hidden]) #d-status').waitFor();
    assert.deepEqual(await unreachable(z.page, '#drawer'), [], `${locale}: the drawer`);
    const top = await z.page.evaluate(() => document.getElementById('drawer').getBoundingClientRect().top - document.querySelector('#app > .bar').getBoundingClientRect().bottom);
    assert.ok(top >= -1, `the drawer starts below the bar (${top})`);
    await z.page.screenshot({ path: `${shots}/console-6-zoom200-${locale}.png` });
    await z.page.click('#drawer-close');
    assert.deepEqual(z.errors, []);
    await z.context.close();
  }
});

await test('the console speaks English when the browser does', async () => {
  const en = await signedIn('en-US');
  assert.equal(await en.page.textContent('header strong'), 'Command console');
  assert.equal(await en.page.textContent('#queue-tabs button[data-queue="new"]').then((s) => s.replace(/[0-9]/g, '')), 'New');
  await en.page.screenshot({ path: `${shots}/console-4-en.png` });
  assert.equal(await en.page.getAttribute('.maplibregl-ctrl-zoom-in', 'title'), 'Zoom in');
  // Switching language changes the map's own words too, without a reload.
  await en.page.click('#lang');
  await en.page.waitForFunction(() => document.querySelector('header strong').textContent === '指挥台');
  assert.equal(await en.page.getAttribute('.maplibregl-ctrl-zoom-in', 'title'), '放大');
  assert.match(await en.page.textContent('.maplibregl-ctrl-scale'), /米|公里/);
  assert.deepEqual(await wrongWords(en.page, 'zh-CN'), []);
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
  // Guessing fast is slowed down, and the page says so: not "wrong password" to
  // someone whose password is right. (The last test: sign-ins wait a moment now.)
  let said = '';
  for (let i = 0; i < 12 && !/秒后再试/.test(said); i++) {
    await p.evaluate(() => { document.querySelector('#si-error').textContent = ''; });
    await p.click('#signin button[type=submit]');
    await p.waitForFunction(() => document.querySelector('#si-error').textContent.length > 0);
    said = await p.textContent('#si-error');
  }
  assert.match(said, /^登录尝试太频繁，请 \d+ 秒后再试。$/);
  await c.close();
});

assert.deepEqual(errors, []);
await context.close();
await browser.close();
console.log(results.join('\n'));
if (results.some((r) => r.startsWith('FAIL'))) process.exit(1);
