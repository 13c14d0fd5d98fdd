// The public map: reports with no personal data (the public view only), filtered by
// category and status, in the categories' colours; the base map needs no internet.
import { t, lang, setLang, named } from './i18n.js';
import { colours } from './colors.js';
import { baseStyle, addOutlines, mapLocale } from './basemap.js';

const OPEN = ['submitted', 'accepted', 'assigned', 'in_progress', 'returned', 'reopened'];
const DONE = ['resolved', 'verified', 'closed'];
let categories = [];
let map;

function option(value, text) {
  const o = document.createElement('option');
  o.value = value;
  o.textContent = text;
  return o;
}

function drawFilters() {
  document.documentElement.lang = lang;
  document.title = `${t('map.link')} · Sentinel`;
  for (const n of document.querySelectorAll('[data-t-label]')) n.setAttribute('aria-label', t(n.dataset.tLabel));
  document.querySelector('[data-t="app.title"]').textContent = t('app.title');
  document.getElementById('lang').textContent = t('lang.other');
  const cat = document.getElementById('f-category');
  const chosen = cat.value;
  cat.replaceChildren(option('', t('map.all_categories')), ...categories.map((c) => option(c.code, named(c))));
  cat.value = chosen;
  const st = document.getElementById('f-status');
  const s = st.value || 'open';
  st.replaceChildren(option('open', t('map.open')), option('done', t('map.done')), option('all', t('map.all_statuses')));
  st.value = s;
}

async function load() {
  const b = map.getBounds();
  const params = new URLSearchParams({
    bbox: [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map((x) => x.toFixed(5)).join(','),
    limit: '500',
  });
  const cat = document.getElementById('f-category').value;
  if (cat) params.set('category', cat);
  const st = document.getElementById('f-status').value;
  if (st !== 'all') params.set('status', (st === 'done' ? DONE : OPEN).join(','));
  const res = await fetch(`/api/v1/reports?${params}`);
  if (!res.ok) return;
  const { reports } = await res.json();
  const palette = colours(categories);
  const data = {
    type: 'FeatureCollection',
    features: reports.map((r) => ({
      type: 'Feature',
      geometry: { type: 'Point', coordinates: [r.lon, r.lat] },
      properties: { code: r.tracking_code, category: r.category, status: r.status, description: r.description,
        supporters: r.supporters, colour: palette[r.category] || '#555' },
    })),
  };
  map.getSource('reports').setData(data);
  drawLegend(reports, palette);
  document.getElementById('f-count').textContent = t('map.count', { n: reports.length });
  document.getElementById('map').dataset.count = String(reports.length);
}

/** The legend: each category on the map now with its colour, and what size means. */
function drawLegend(reports, palette) {
  const shown = new Set(reports.map((r) => r.category));
  const legend = document.getElementById('legend');
  const rows = categories.filter((c) => shown.has(c.code)).map((c) => {
    const li = document.createElement('li');
    const dot = document.createElement('span');
    dot.className = 'dot';
    dot.style.background = palette[c.code];
    li.append(dot, named(c));
    return li;
  });
  const size = document.createElement('li');
  size.className = 'hint';
  size.textContent = t('map.size');
  legend.replaceChildren(...rows, size);
}

async function start() {
  categories = (await (await fetch('/api/v1/categories')).json()).categories;
  drawFilters();
  const maplibregl = window.maplibregl;
  map = new maplibregl.Map({
    container: 'map', center: [115.985, 36.456], zoom: 12, attributionControl: { compact: true }, style: await baseStyle(), locale: mapLocale(lang),
  });
  window.reportsMap = map;
  map.addControl(new maplibregl.NavigationControl({ showCompass: false }));
  map.on('load', async () => {
    await addOutlines(map);
    map.addSource('reports', { type: 'geojson', data: { type: 'FeatureCollection', features: [] } });
    map.addLayer({ id: 'reports', type: 'circle', source: 'reports', paint: {
      'circle-color': ['get', 'colour'], 'circle-radius': ['min', 14, ['+', 5, ['get', 'supporters']]],
      'circle-stroke-color': '#fff', 'circle-stroke-width': 1.5 } });
    // Every report under the tap, not only the top one: two at one spot both show.
    map.on('click', 'reports', (e) => {
      const box = document.createElement('div');
      box.className = 'map-popup';
      const seen = new Set();
      for (const f of e.features) {
        const p = f.properties;
        if (seen.has(p.code) || seen.size >= 8) continue;
        seen.add(p.code);
        const item = document.createElement('div');
        const title = document.createElement('strong');
        title.textContent = `${named(categories.find((c) => c.code === p.category) || { name: t('cat.other_group') })} · ${t('status.' + p.status)}`;
        const text = document.createElement('p');
        text.textContent = p.description;
        const link = document.createElement('a');
        link.href = `/r/${p.code}`;
        link.textContent = t('done.track');
        item.append(title, text, link);
        box.append(item);
      }
      new maplibregl.Popup({ maxWidth: '300px' }).setLngLat(e.lngLat).setDOMContent(box).addTo(map);
    });
    map.on('moveend', load);
    load();
  });
  document.getElementById('filters').addEventListener('change', load);
  document.getElementById('lang').addEventListener('click', () => { setLang(lang === 'en' ? 'zh-CN' : 'en'); drawFilters(); load(); });
}

if (window.maplibregl) start(); else window.addEventListener('load', start);
