// Checks the browser tests run on every page a person sees: accessibility by
// axe-core (WCAG 2.2 A and AA rules) and the language of every visible word.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const AXE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

/**
 * Runs axe-core on the page as it is now; returns the serious and critical
 * violations as lines (empty when there are none). The source goes in through the
 * debugger, which the page's Content-Security-Policy does not govern.
 */
export async function axeProblems(page) {
  if (!(await page.evaluate(() => Boolean(window.axe)))) await page.evaluate(AXE);
  const result = await page.evaluate(() => window.axe.run(document, {
    runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'] },
    resultTypes: ['violations'],
  }));
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(' | ')}`);
}

/**
 * The words a person reads on the page that are in the wrong language: on a
 * Chinese page, any snake_case code or English word; on an English page, any
 * Chinese. What people entered (descriptions, names, notes: marked `data-data`)
 * and the language switch are data, not words of ours.
 */
export async function wrongWords(page, lang) {
  return page.evaluate((lang) => {
    const words = [];
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    const visible = (e) => {
      for (let n = e; n && n !== document.body; n = n.parentElement) {
        if (n.hidden || n.closest('[data-data], #lang, script, style, kbd, .maplibregl-ctrl-attrib, .code')) return false;
        const s = getComputedStyle(n);
        if (s.display === 'none' || s.visibility === 'hidden') return false;
      }
      return true;
    };
    for (let t = walker.nextNode(); t; t = walker.nextNode()) {
      const text = t.textContent.trim();
      if (!text || !visible(t.parentElement)) continue;
      if (lang === 'zh-CN') {
        for (const m of text.match(/\b[a-z]+_[a-z_]+\b|\b[a-z]{3,}\b/g) || []) words.push(`${m} in “${text.slice(0, 60)}”`);
      } else if (/[\u4e00-\u9fff]/.test(text)) {
        words.push(`“${text.slice(0, 60)}”`);
      }
    }
    // Labels read aloud count too.
    for (const e of document.querySelectorAll('[aria-label], [placeholder], [title]')) {
      if (!visible(e)) continue;
      for (const a of ['aria-label', 'placeholder', 'title']) {
        const v = e.getAttribute(a);
        if (!v || e.closest('[data-data]')) continue;
        if (lang === 'zh-CN' ? /\b[a-z]+_[a-z_]+\b|\b[a-z]{3,}\b/.test(v) && !/^(rtsp|https?):/.test(v) : /[\u4e00-\u9fff]/.test(v)) words.push(`${a}="${v.slice(0, 60)}"`);
      }
    }
    return words;
  }, lang);
}

/**
 * What is lost on the page as it is laid out now (text at 200%, a zoomed or
 * narrow window): a page wider than the screen, visible controls and text outside
 * it or cut off in their box, and controls that a tap at their centre does not
 * reach once scrolled to. Looks inside the elements matching `scope`.
 */
export async function unreachable(page, scope) {
  return page.evaluate((scope) => {
    const out = [];
    // The screen, not window.innerWidth: a phone zooms out to show a page wider than it.
    const width = visualViewport.width * visualViewport.scale;
    if (document.documentElement.scrollWidth > width + 1) out.push(`page ${document.documentElement.scrollWidth}px wide`);
    const within = scope.split(',').map((s) => `${s.trim()} :is(button, a, input, select, textarea, label, h1, h2, p, li)`).join(', ');
    for (const el of document.querySelectorAll(within)) {
      const r = el.getBoundingClientRect();
      if (!r.width || !r.height || getComputedStyle(el).visibility === 'hidden' || el.closest('.maplibregl-ctrl-attrib')) continue;
      const name = `${el.tagName.toLowerCase()}#${el.id || ''} "${(el.textContent || el.value || '').trim().slice(0, 20)}"`;
      if (r.left < -1 || r.right > width + 1) out.push(`${name} outside the screen (${Math.round(r.left)}..${Math.round(r.right)})`);
      const s = getComputedStyle(el);
      if (['BUTTON', 'A', 'LABEL', 'H1', 'H2', 'P'].includes(el.tagName) && s.overflowX !== 'visible' && el.scrollWidth > el.clientWidth + 2) out.push(`${name} cut off`);
      if (['BUTTON', 'A', 'INPUT', 'SELECT', 'TEXTAREA'].includes(el.tagName) && el.type !== 'file') {
        el.scrollIntoView({ block: 'center', inline: 'center' });
        const c = el.getBoundingClientRect();
        const hit = document.elementFromPoint(c.left + c.width / 2, c.top + c.height / 2);
        if (hit && hit !== el && !el.contains(hit) && !(hit.tagName === 'LABEL' && hit.control === el)) out.push(`${name} covered by ${hit.tagName.toLowerCase()}.${hit.className}`);
      }
    }
    window.scrollTo(0, 0);
    return out;
  }, scope);
}
