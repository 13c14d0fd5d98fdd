// Frames while panning the command console over the demo city, measured with
// Chromium's tracing (DrawFrame events), at two window sizes. Not a test: run by
// scripts/bench-console against `sentinel demo --scale full`. BASE_URL, STAFF_NAME,
// STAFF_PASSWORD.
import { chromium } from 'playwright-core';

const base = process.env.BASE_URL;
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  // CHROMIUM_GL picks the renderer: unset, SwiftShader (Chromium's own, with
  // --disable-gpu); "mesa", ANGLE on the system's OpenGL (Mesa's llvmpipe without a
  // GPU, or the GPU's driver when there is one).
  args: ['--headless', '--no-sandbox', '--disable-background-networking',
    ...(process.env.CHROMIUM_GL === 'mesa' ? ['--use-gl=angle', '--use-angle=gl-egl', '--ozone-platform=headless', '--ignore-gpu-blocklist'] : ['--disable-gpu'])],
});

async function measure(width, height, zoom, bare = false) {
  const context = await browser.newContext({ viewport: { width, height }, locale: 'zh-CN' });
  const page = await context.newPage();
  await page.goto(`${base}/console`);
  await page.fill('#si-name', process.env.STAFF_NAME);
  await page.fill('#si-password', process.env.STAFF_PASSWORD);
  await page.click('#signin button[type=submit]');
  await page.locator('body[data-ready="1"]').waitFor({ timeout: 60000 });
  await page.evaluate((z) => window.consoleMap.jumpTo({ center: [115.98, 36.45], zoom: z }), zoom);
  if (bare) {
    // The same map with every layer hidden but the background: what the renderer
    // costs on this machine before any of our data.
    await page.evaluate(() => {
      const m = window.consoleMap;
      for (const l of m.getStyle().layers) if (l.type !== 'background') m.setLayoutProperty(l.id, 'visibility', 'none');
    });
  }
  await page.evaluate(() => new Promise((r) => window.consoleMap.once('idle', r)));
  const box = await page.locator('#map').boundingBox();
  const cdp = await context.newCDPSession(page);
  const events = [];
  cdp.on('Tracing.dataCollected', (e) => events.push(...e.value));
  const done = new Promise((r) => cdp.once('Tracing.tracingComplete', r));
  await cdp.send('Tracing.start', { categories: 'devtools.timeline,disabled-by-default-devtools.timeline.frame', transferMode: 'ReportEvents' });
  // Drag the map back and forth for about four seconds, like a dispatcher would.
  const cx = box.x + box.width / 2;
  const cy = box.y + box.height / 2;
  await page.mouse.move(cx, cy);
  await page.mouse.down();
  const t0 = Date.now();
  let i = 0;
  while (Date.now() - t0 < 4000) {
    const dx = Math.sin(i / 20) * box.width * 0.3;
    const dy = Math.cos(i / 25) * box.height * 0.2;
    await page.mouse.move(cx + dx, cy + dy);
    i++;
  }
  await page.mouse.up();
  const seconds = (Date.now() - t0) / 1000;
  await cdp.send('Tracing.end');
  await done;
  const frames = events.filter((e) => e.name === 'DrawFrame').length;
  const features = await page.evaluate(() => window.consoleMap.queryRenderedFeatures().length);
  const renderer = await page.evaluate(() => {
    const gl = window.consoleMap.painter.context.gl;
    const info = gl.getExtension('WEBGL_debug_renderer_info');
    return info ? gl.getParameter(info.UNMASKED_RENDERER_WEBGL) : gl.getParameter(gl.RENDERER);
  });
  console.log(`MEASURE console pan ${width}x${height} zoom ${zoom}${bare ? ' (background only)' : ''}: ${(frames / seconds).toFixed(1)} fps (${frames} DrawFrame events in ${seconds.toFixed(1)} s, ${features} rendered features; ${renderer})`);
  await context.close();
}

const variants = [[1440, 900, 11], [1440, 900, 11, true], [1440, 900, 14], [960, 600, 11], [960, 600, 11, true]];
for (const [w, h, z, bare] of variants) {
  await measure(w, h, z, bare);
}
await browser.close();
