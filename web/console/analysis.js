// The analysis page (研判): trends with 同比/环比 and whether each change is
// significant, the department league table, when reports come in and how long
// fixes take. Everything comes from /api/v1/analysis; charts by Apache ECharts.
import * as echarts from '/vendor/echarts/echarts.esm.min.mjs';
import { t, lang, setLang } from './i18n.js';

const $ = (id) => document.getElementById(id);
const charts = {};
const el = (tag, attrs = {}, ...children) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) e.setAttribute(k, v);
  e.append(...children.flat().filter((c) => c !== null && c !== undefined));
  return e;
};

async function api(path) {
  const res = await fetch(path, { headers: { Accept: 'application/json' } });
  if (res.status === 401) {
    location.href = '/console';
    throw new Error(t('signin.failed'));
  }
  const body = await res.json().catch(() => null);
  if (!res.ok) throw new Error(body?.detail || res.statusText);
  return body;
}

function translate() {
  document.documentElement.lang = lang;
  for (const e of document.querySelectorAll('[data-t]')) e.textContent = t(e.dataset.t);
  $('lang').textContent = t('lang.other');
  document.title = `${t('a.title')} · Sentinel`;
}

const label = (it) => (lang === 'en' ? it.label_en || it.label : it.label);
const pct = (v) => (v === null || v === undefined ? '–' : `${v > 0 ? '+' : ''}${v.toFixed(1)}%`);
const pval = (v) => (v === null || v === undefined ? '–' : v < 0.0001 ? '<0.0001' : v.toFixed(4));
const verdict = (c) => el('span', { class: `v-${c.verdict}` }, lang === 'en' ? c.verdict_en : c.verdict_zh);

function chart(id) {
  charts[id] ||= echarts.init($(id), null, { renderer: 'canvas' });
  return charts[id];
}

function params() {
  const p = new URLSearchParams({ group_by: $('group-by').value, period: $('period').value });
  if ($('at').value.trim()) p.set('at', $('at').value.trim());
  if ($('group-by').value === 'jurisdiction') p.set('level', $('level').value);
  return p;
}

async function loadTrends() {
  const tr = await api(`/api/v1/analysis/trends?${params()}`);
  if (!$('at').value.trim()) $('at').value = tr.at;
  window.analysisTrends = tr;
  $('trend-title').textContent = t('a.trend.title', { at: tr.at, yoy: tr.yoy_at, mom: tr.mom_at });
  const tot = tr.total;
  const parts = [t('a.trend.total', { n: tot.count })];
  if (tr.partial) parts.push(t('a.trend.partial', { days: tr.days }));
  parts.push(`${t('a.yoy')} ${pct(tot.yoy.change_pct)} (${lang === 'en' ? tot.yoy.verdict_en : tot.yoy.verdict_zh})`);
  parts.push(`${t('a.mom')} ${pct(tot.mom.change_pct)} (${lang === 'en' ? tot.mom.verdict_en : tot.mom.verdict_zh})`);
  $('trend-summary').replaceChildren(parts.join(' · '), tr.double_decline ? el('span', { class: 'badge' }, t('a.double')) : '');

  const head = el('thead', {}, el('tr', {},
    el('th', {}, t(`a.g.${tr.group_by}`)), el('th', {}, t('a.count')),
    el('th', {}, t('a.prev', { p: tr.yoy_at })), el('th', {}, t('a.change')), el('th', {}, 'p'), el('th', {}, t('a.yoy')),
    el('th', {}, t('a.prev', { p: tr.mom_at })), el('th', {}, t('a.change')), el('th', {}, 'p'), el('th', {}, t('a.mom')), el('th', {}, '')));
  const row = (it, cls) => el('tr', { class: cls, 'data-key': it.key },
    el('td', {}, label(it)), el('td', {}, String(it.count)),
    el('td', {}, it.yoy.previous ?? '–'), el('td', {}, pct(it.yoy.change_pct)), el('td', {}, pval(it.yoy.p_adjusted)), el('td', {}, verdict(it.yoy)),
    el('td', {}, it.mom.previous ?? '–'), el('td', {}, pct(it.mom.change_pct)), el('td', {}, pval(it.mom.p_adjusted)), el('td', {}, verdict(it.mom)),
    el('td', {}, it.double_decline ? el('span', { class: 'badge' }, t('a.double')) : ''));
  $('trend-table').replaceChildren(head, el('tbody', {}, row(tot, 'total'), tr.items.map((it) => row(it))));

  const top = tr.items.slice(0, 15);
  chart('trend-chart').setOption({
    tooltip: { trigger: 'axis' },
    legend: { data: [tr.at, tr.yoy_at, tr.mom_at] },
    grid: { left: 40, right: 10, bottom: 70, top: 30 },
    xAxis: { type: 'category', data: top.map(label), axisLabel: { rotate: 30, interval: 0 } },
    yAxis: { type: 'value' },
    series: [
      { name: tr.at, type: 'bar', data: top.map((i) => i.count), itemStyle: { color: '#b3261e' } },
      { name: tr.yoy_at, type: 'bar', data: top.map((i) => i.yoy.previous ?? 0), itemStyle: { color: '#9ca3af' } },
      { name: tr.mom_at, type: 'bar', data: top.map((i) => i.mom.previous ?? 0), itemStyle: { color: '#2457a6' } },
    ],
  }, true);

  const tz = (d) => `${d}T00:00:00+08:00`;
  for (const f of ['csv', 'geojson', 'xlsx']) {
    $(`export-${f}`).href = `/api/v1/analysis/export?format=${f}&since=${encodeURIComponent(tz(tr.from))}&until=${encodeURIComponent(tz(tr.until))}`;
  }
  return tr;
}

async function loadScores(tr) {
  const league = await api(`/api/v1/analysis/departments?period=${$('period').value}&at=${encodeURIComponent(tr.at)}`);
  const rate = (r, prev) => {
    const now = r.pct === null ? '–' : `${r.pct.toFixed(1)}%`;
    if (!prev || prev.pct === null || r.pct === null) return now;
    const d = r.pct - prev.pct;
    return `${now} (${d >= 0 ? '+' : ''}${d.toFixed(1)})`;
  };
  const hours = (h) => (h === null || h === undefined ? '–' : h.toFixed(1));
  const cols = ['response_rate', 'resolution_rate', 'on_time_rate', 'satisfaction_rate', 'reopen_rate', 'return_rate'];
  $('score-table').replaceChildren(
    el('thead', {}, el('tr', {}, el('th', {}, t('a.g.department')), el('th', {}, '#'), el('th', {}, t('a.count')),
      cols.map((c) => el('th', {}, t(`a.s.${c}`))), el('th', {}, t('a.s.accept')), el('th', {}, t('a.s.resolve')))),
    el('tbody', {}, league.items.map((it) => el('tr', { 'data-key': it.key },
      el('td', {}, label(it)), el('td', {}, String(it.rank)), el('td', {}, String(it.reports)),
      cols.map((c) => el('td', {}, rate(it[c], it.yoy?.[c]))),
      el('td', {}, `${hours(it.accept_hours_p50)} / ${hours(it.accept_hours_p90)}`),
      el('td', {}, `${hours(it.resolve_hours_p50)} / ${hours(it.resolve_hours_p90)}`)))));
}

async function loadPatterns(tr) {
  const p = await api(`/api/v1/analysis/patterns?since=${tr.from}&until=${tr.until}`);
  const days = t('a.weekdays').split(',');
  const data = [];
  let max = 1;
  p.hour_by_weekday.forEach((row, d) => row.forEach((n, h) => { data.push([h, d, n]); max = Math.max(max, n); }));
  chart('heat-chart').setOption({
    tooltip: { position: 'top' },
    // The legend sits below the hour labels, with room for both.
    grid: { left: 50, right: 10, top: 10, bottom: 96 },
    xAxis: { type: 'category', data: [...Array(24).keys()].map(String), name: t('a.hour'), nameLocation: 'middle', nameGap: 26 },
    yAxis: { type: 'category', data: days },
    visualMap: { min: 0, max, calculable: true, orient: 'horizontal', left: 'center', bottom: 0, itemHeight: 120, inRange: { color: ['#fff7ed', '#f59e0b', '#7c2d12'] } },
    series: [{ type: 'heatmap', data }],
  }, true);
  const rt = p.resolve_times;
  $('resolve-summary').textContent = t('a.resolve.summary', { n: rt.resolved, p50: rt.p50_hours ?? '–', p90: rt.p90_hours ?? '–' });
  chart('resolve-chart').setOption({
    tooltip: { trigger: 'axis' },
    grid: { left: 50, right: 10, top: 10, bottom: 60 },
    xAxis: { type: 'category', data: rt.buckets.map((b) => (lang === 'en' ? b.label_en : b.label)), axisLabel: { rotate: 30, interval: 0 } },
    yAxis: { type: 'value' },
    series: [{ type: 'bar', data: rt.buckets.map((b) => b.count), itemStyle: { color: '#2457a6' } }],
  }, true);
}

async function loadHotspots(tr) {
  const h = await api(`/api/v1/analysis/hotspots?resolution=8&since=${tr.from}&until=${tr.until}&recent_days=7`);
  const top = h.features[0]?.properties;
  $('hotspot-summary').textContent = t('a.hotspots.summary', { cells: h.features.length, emerging: h.emerging, top: top ? top.count : 0 });
}

async function refresh() {
  $('error').textContent = '';
  $('level').hidden = $('group-by').value !== 'jurisdiction';
  try {
    const tr = await loadTrends();
    await Promise.all([loadScores(tr), loadPatterns(tr), loadHotspots(tr)]);
    const q = params();
    history.replaceState(null, '', `?${q}`);
  } catch (e) {
    $('error').textContent = t('a.failed', { why: e.message });
  }
}

const initial = new URLSearchParams(location.search);
for (const [k, id] of [['group_by', 'group-by'], ['period', 'period'], ['at', 'at'], ['level', 'level']]) {
  if (initial.get(k)) $(id).value = initial.get(k);
}
$('go').addEventListener('click', refresh);
$('at').addEventListener('keydown', (e) => { if (e.key === 'Enter') refresh(); });
for (const id of ['group-by', 'period', 'level']) {
  $(id).addEventListener('change', () => { if (id === 'period') $('at').value = ''; refresh(); });
}
$('lang').addEventListener('click', () => { setLang(lang === 'en' ? 'zh-CN' : 'en'); translate(); refresh(); });
window.addEventListener('resize', () => Object.values(charts).forEach((c) => c.resize()));
translate();
refresh();
