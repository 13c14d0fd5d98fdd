// The command console (指挥台): one live map with its layers, the triage queues
// with keyboard shortcuts, and the report drawer where reports are triaged,
// assigned and dispatched. Everything comes from our own API; the map's base needs
// no internet unless the city configured one.
import { t, lang, setLang, named } from './i18n.js';
import { baseStyle, addOutlines, mapLocale, setMapLanguage } from '/assets/basemap.js';
import { publicPhoto } from '/assets/photo.js';
import { csrf } from '/assets/csrf.js';

const OPEN = ['submitted', 'accepted', 'assigned', 'in_progress', 'returned', 'reopened', 'resolved', 'verified'];
const DONE = ['resolved', 'verified', 'closed'];
const QUEUES = ['new', 'overdue', 'returned', 'escalated', 'patrol'];
const PATROL_COLOURS = { done: '#1b8a3a', on_time: '#0f766e', due: '#d97706', overdue: '#b3261e' };
const STAFF_ROLES = ['admin', 'dispatcher', 'officer', 'analyst', 'unit'];
const UNIT_COLOURS = { available: '#1b8a3a', dispatched: '#d97706', en_route: '#d97706', on_scene: '#b3261e', off_duty: '#6b7280' };
const KIND_COLOURS = { cameras: '#2457a6', drone_bases: '#7c3aed', patrol_points: '#0f766e', units: '#92400e', generic: '#475569' };

const $ = (id) => document.getElementById(id);
const el = (tag, props = {}, ...children) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === 'dataset') Object.assign(e.dataset, v);
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (v !== undefined && v !== null && v !== false) e.setAttribute(k, v === true ? '' : v);
  }
  e.append(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
  return e;
};

const state = {
  me: null,
  categories: [],
  departments: [],
  layers: [],
  queue: 'new',
  items: [],
  selected: 0,
  open: null, // the report code in the drawer
  units: new Map(),
  patrol: [],
  seq: 0,
  visible: {}, // the layers this person switched on or off (per account, remembered)
};
let map;
let marker;

async function api(path, options = {}) {
  const res = await fetch(path, {
    ...options,
    headers: csrf({ Accept: 'application/json', ...(options.body ? { 'Content-Type': 'application/json' } : {}), ...(options.headers || {}) }),
  });
  if (res.status === 401) {
    showSignIn();
    throw new Error(t('signin.failed'));
  }
  const body = res.headers.get('content-type')?.includes('json') ? await res.json() : null;
  if (!res.ok) throw problemError(res.status, body);
  return body;
}

/**
 * A refusal as a sentence in the reader's language: the problem's type says what
 * kind of refusal it is; field errors name the fields by their labels. The
 * server's own English detail stays in the console's log for whoever debugs it.
 */
function problemError(status, body) {
  const kind = (body?.type || '').split('/').pop() || String(status);
  const key = `err.${kind}`;
  let text = t(key) === key ? t('err.unknown', { status }) : t(key);
  const fields = [...new Set((body?.errors || []).map((e) => fieldLabel(e.field)))].filter(Boolean);
  if (fields.length) text += ` ${t('err.fields', { fields: fields.join(lang === 'en' ? ', ' : '、') })}`;
  if (body?.detail) console.info('refused:', status, body.detail);
  const e = new Error(text);
  e.status = status;
  e.kind = kind;
  return e;
}

function fieldLabel(field) {
  const key = `field.${String(field).split('.').pop().replace(/\[.*\]/, '')}`;
  return t(key) === key ? null : t(key);
}

// One message at a time: a new one replaces the last, so two never stack.
let toastNode;
let toastTimer;
function toast(text) {
  clearTimeout(toastTimer);
  if (!toastNode) {
    toastNode = el('div', { class: 'toast', role: 'status', 'aria-live': 'polite' });
    document.body.append(toastNode);
  }
  toastNode.textContent = text;
  toastNode.hidden = false;
  toastTimer = setTimeout(() => { toastNode.hidden = true; }, 4000);
}

// ---- sign-in ----

function showSignIn() {
  $('app').hidden = true;
  $('signin').hidden = false;
  translate();
}

async function signIn(ev) {
  ev.preventDefault();
  $('si-error').textContent = '';
  const res = await fetch('/api/v1/session', {
    method: 'POST',
    headers: csrf({ 'Content-Type': 'application/json' }),
    body: JSON.stringify({ name: $('si-name').value, password: $('si-password').value }),
  });
  if (!res.ok) {
    // Only a 401 means the name or password is wrong; a 429 says when to try again.
    const wait = Math.max(1, Number(res.headers.get('retry-after')) || 1);
    $('si-error').textContent = res.status === 401 || res.status === 422 ? t('signin.failed')
      : res.status === 429 ? t('signin.wait', { s: wait }) : t('signin.unavailable');
    return;
  }
  await start();
}

// ---- words ----

function translate() {
  document.documentElement.lang = lang;
  document.title = `${t('title')} · Sentinel`;
  for (const n of document.querySelectorAll('[data-t]')) n.textContent = t(n.dataset.t);
  for (const n of document.querySelectorAll('[data-t-label]')) n.setAttribute('aria-label', t(n.dataset.tLabel));
  for (const n of document.querySelectorAll('[data-t-placeholder]')) n.setAttribute('placeholder', t(n.dataset.tPlaceholder));
  $('lang').textContent = t('lang.other');
  $('lang').setAttribute('lang', lang === 'en' ? 'zh-CN' : 'en');
  drawLive();
}

// The live indicator: connected or not, and when the last change arrived.
const live = { state: 'connecting', at: null };
function drawLive() {
  const n = $('live');
  n.dataset.state = live.state;
  n.textContent = live.state === 'on' ? t('live.on') : live.state === 'off' ? t('live.off') : t('live.connecting');
  n.title = live.at ? t('live.last', { at: live.at.toLocaleTimeString(lang === 'en' ? 'en-GB' : 'zh-CN') }) : '';
}

function statusName(s) {
  return t(`status.${s}`);
}

// ---- filters ----

function option(value, text) {
  return el('option', { value }, text);
}

function drawFilters() {
  const st = $('f-status');
  const s = st.value || localStorage.getItem('console.status') || 'open';
  st.replaceChildren(option('open', t('f.open')), option('all', t('f.all')), option('done', t('f.done')));
  st.value = s;
  const cat = $('f-category');
  const c = cat.value;
  cat.replaceChildren(option('', t('f.all_categories')), ...state.categories.map((x) => option(x.code, named(x))));
  cat.value = c;
  const dep = $('f-department');
  const d = dep.value;
  dep.replaceChildren(option('', t('f.all_departments')), ...state.departments.map((x) => option(x.code, named(x))));
  dep.value = d;
}

function filterQuery() {
  const q = new URLSearchParams();
  const s = $('f-status').value;
  if (s === 'open') q.set('status', OPEN.join(','));
  if (s === 'done') q.set('status', DONE.join(','));
  if ($('f-category').value) q.set('category', $('f-category').value);
  if ($('f-department').value) q.set('department', $('f-department').value);
  return q;
}

function reportTiles() {
  const q = filterQuery();
  q.set('v', String(state.seq));
  return [`${location.origin}/tiles/reports/{z}/{x}/{y}.mvt?${q}`];
}

let tileTimer;
function refreshTiles(now = false) {
  clearTimeout(tileTimer);
  tileTimer = setTimeout(() => map?.getSource('reports')?.setTiles(reportTiles()), now ? 0 : 800);
}

// ---- the map ----

function layerIds(key) {
  if (key === 'reports') return ['report-points', 'report-cells'];
  if (key === 'heat') return ['report-heat'];
  if (key === 'units') return ['units'];
  if (key === 'areas') return ['areas'];
  if (key === 'patrol') return ['patrol', 'patrol-ring'];
  if (key === 'hotspots') return ['hotspot-fill', 'hotspot-line'];
  return [`${key}-point`, `${key}-line`, `${key}-fill`];
}

function setVisible(key, on) {
  state.visible[key] = on;
  if (key === 'hotspots' && on) loadHotspots();
  localStorage.setItem(layersKey(), JSON.stringify(state.visible));
  for (const id of layerIds(key)) {
    if (map.getLayer(id)) map.setLayoutProperty(id, 'visibility', on ? 'visible' : 'none');
  }
}

function layersKey() {
  return `console.layers.${state.me?.name ?? ''}`;
}

function isVisible(key) {
  return state.visible[key] ?? onByDefault(key);
}

function swatch(colour, text) {
  return el('span', {}, el('span', { class: 'swatch', style: `background:${colour}` }), text);
}

function drawLayersPanel() {
  const rows = [
    { key: 'reports', name: t('layer.reports'), legend: [swatch('#2457a6', t('legend.open')), swatch('#b3261e', t('legend.overdue')), swatch('#9ca3af', t('legend.done')), swatch('#f59e0b', t('legend.cells'))] },
    { key: 'heat', name: t('layer.heat') },
    { key: 'units', name: t('layer.units'), legend: [swatch(UNIT_COLOURS.available, t('legend.available')), swatch(UNIT_COLOURS.en_route, t('legend.busy')), swatch(UNIT_COLOURS.on_scene, t('legend.on_scene')), swatch(UNIT_COLOURS.off_duty, t('legend.off')), swatch('#d1d5db', t('legend.stale')),
      ...[...UNIT_SHAPES.keys()].map((k) => el('span', {}, unitGlyph(k, '#475569'), t(`unit.${k}`)))] },
    ...(state.layers.some((l) => l.kind === 'patrol_points') ? [{ key: 'patrol', name: t('layer.kind.patrol_points'), legend: Object.entries(PATROL_COLOURS).map(([k, c]) => swatch(c, t(`patrol.state.${k}`))) }] : []),
    // A layer's name is the city's own; its kind and size are the legend.
    ...state.layers.filter((l) => l.kind !== 'patrol_points').map((l) => ({ key: `layer-${l.id}`, name: l.name, data: true,
      legend: [swatch(KIND_COLOURS[l.kind] || KIND_COLOURS.generic, t('layer.count', { kind: t(`layer.kind.${l.kind}`), n: l.feature_count.toLocaleString(lang === 'en' ? 'en-GB' : 'zh-CN') }))] })),
    { key: 'hotspots', name: t('layer.hotspots'), legend: [swatch('#f59e0b', t('legend.cells')), swatch('#b3261e', t('legend.emerging'))] },
    { key: 'areas', name: t('layer.areas') },
  ];
  $('layer-list').replaceChildren(...rows.map((r) => el('label', { class: 'layer' },
    el('input', { type: 'checkbox', checked: isVisible(r.key), dataset: { layer: r.key }, onchange: (e) => setVisible(r.key, e.target.checked) }),
    el('span', r.data ? { dataset: { data: '' } } : {}, r.name),
    r.legend ? el('span', { class: 'legend' }, r.legend) : null)));
}

/**
 * What each role sees before choosing. The command centre: reports, units, patrol
 * points and areas. An analyst: where reports gather (heat and hotspots), not
 * where cars are. A crew: its own unit, its reports and patrol points, without
 * the district lines. Everyone: cameras, drone bases and station layers wait to
 * be switched on, as they crowd the reports out at street level.
 */
const ROLE_LAYERS = {
  analyst: { heat: true, hotspots: true, units: false },
  unit: { areas: false },
};
const BASE_LAYERS = { reports: true, heat: false, units: true, patrol: true, hotspots: false, areas: true };

function onByDefault(key) {
  const l = key.startsWith('layer-') && state.layers.find((x) => `layer-${x.id}` === key);
  if (l) {
    if (l.kind === 'generic') return l.feature_count < 100000;
    return !(l.kind === 'cameras' || l.kind === 'drone_bases' || l.kind === 'units');
  }
  return ROLE_LAYERS[state.me?.role]?.[key] ?? BASE_LAYERS[key] ?? true;
}

function visibility(key) {
  return isVisible(key) ? 'visible' : 'none';
}

async function buildMap() {
  map = new maplibregl.Map({ container: 'map', style: await baseStyle(), center: [115.98, 36.45], zoom: 9, attributionControl: { compact: true }, locale: mapLocale(lang) });
  window.consoleMap = map;
  map.addControl(new maplibregl.NavigationControl({ showCompass: false }), 'top-left');
  map.addControl(new maplibregl.ScaleControl(), 'bottom-left');
  await new Promise((r) => map.once('load', r));
  await addOutlines(map, 'county');
  if (map.getLayer('areas')) map.setLayoutProperty('areas', 'visibility', visibility('areas'));

  for (const l of state.layers.filter((x) => x.kind !== 'patrol_points')) {
    const key = `layer-${l.id}`;
    const colour = KIND_COLOURS[l.kind] || KIND_COLOURS.generic;
    map.addSource(key, { type: 'vector', tiles: [`${location.origin}/tiles/layers/${l.id}/{z}/{x}/{y}.mvt`], minzoom: 0, maxzoom: 16 });
    // The point kinds draw circles only: every layer costs draw calls on every frame.
    if (l.kind === 'generic') {
      map.addLayer({ id: `${key}-fill`, type: 'fill', source: key, 'source-layer': l.name, filter: ['==', '$type', 'Polygon'], layout: { visibility: visibility(key) }, paint: { 'fill-color': colour, 'fill-opacity': 0.12 } });
      map.addLayer({ id: `${key}-line`, type: 'line', source: key, 'source-layer': l.name, filter: ['!=', '$type', 'Point'], layout: { visibility: visibility(key) }, paint: { 'line-color': colour, 'line-width': 1.2 } });
    }
    map.addLayer({ id: `${key}-point`, type: 'circle', source: key, 'source-layer': l.name, filter: ['==', '$type', 'Point'], layout: { visibility: visibility(key) }, paint: { 'circle-color': colour, 'circle-radius': ['interpolate', ['linear'], ['zoom'], 8, 1.5, 14, 5], 'circle-stroke-color': '#fff', 'circle-stroke-width': 0.5 } });
  }

  map.addSource('reports', { type: 'vector', tiles: reportTiles(), minzoom: 0, maxzoom: 16 });
  // Hexagons: the fill's own outline (a cheap one-pixel line) marks cells with
  // overdue reports in red; a separate line layer would cost every frame.
  map.addLayer({ id: 'report-cells', type: 'fill', source: 'reports', 'source-layer': 'report_cells', layout: { visibility: visibility('reports') },
    paint: {
      'fill-color': ['interpolate', ['linear'], ['get', 'count'], 1, '#fde68a', 20, '#f59e0b', 200, '#b45309', 2000, '#7c2d12'],
      'fill-opacity': 0.55,
      'fill-outline-color': ['case', ['>', ['get', 'overdue'], 0], '#b3261e', '#ffffff'],
    } });
  map.addLayer({ id: 'report-heat', type: 'heatmap', source: 'reports', 'source-layer': 'report_heat', layout: { visibility: visibility('heat') },
    paint: { 'heatmap-weight': ['interpolate', ['linear'], ['get', 'count'], 0, 0, 200, 1], 'heatmap-radius': 24, 'heatmap-opacity': 0.7 } });
  map.addLayer({ id: 'report-points', type: 'circle', source: 'reports', 'source-layer': 'reports', layout: { visibility: visibility('reports') },
    paint: {
      'circle-radius': ['interpolate', ['linear'], ['zoom'], 13, 3.5, 17, 7],
      'circle-color': ['case', ['get', 'overdue'], '#b3261e', ['in', ['get', 'status'], ['literal', DONE]], '#9ca3af', '#2457a6'],
      'circle-stroke-color': '#fff', 'circle-stroke-width': 1,
    } });

  map.addSource('patrol', { type: 'geojson', data: patrolGeoJson() });
  map.addLayer({ id: 'patrol-ring', type: 'circle', source: 'patrol', minzoom: 13, layout: { visibility: visibility('patrol') },
    paint: { 'circle-radius': ['interpolate', ['exponential', 2], ['zoom'], 13, ['/', ['get', 'radius_m'], 7.73], 18, ['/', ['get', 'radius_m'], 0.2415]], 'circle-color': ['get', 'colour'], 'circle-opacity': 0.12, 'circle-stroke-color': ['get', 'colour'], 'circle-stroke-width': 1 } });
  map.addLayer({ id: 'patrol', type: 'circle', source: 'patrol', layout: { visibility: visibility('patrol') },
    paint: { 'circle-radius': ['interpolate', ['linear'], ['zoom'], 8, 4, 15, 8], 'circle-color': ['get', 'colour'], 'circle-stroke-color': '#fff', 'circle-stroke-width': 2 } });
  // Hotspots from the analysis API: H3 cells of the last 90 days, emerging ones
  // (the last week significantly above the weeks before) outlined in red.
  map.addSource('hotspots', { type: 'geojson', data: { type: 'FeatureCollection', features: [] } });
  map.addLayer({ id: 'hotspot-fill', type: 'fill', source: 'hotspots', layout: { visibility: visibility('hotspots') },
    paint: { 'fill-color': ['interpolate', ['linear'], ['get', 'count'], 1, '#fde68a', 20, '#f59e0b', 100, '#b45309', 500, '#7c2d12'], 'fill-opacity': 0.5 } });
  map.addLayer({ id: 'hotspot-line', type: 'line', source: 'hotspots', filter: ['==', ['get', 'emerging'], true], layout: { visibility: visibility('hotspots') },
    paint: { 'line-color': '#b3261e', 'line-width': 2.5 } });
  if (isVisible('hotspots')) loadHotspots();
  let hotspotRes = hotspotResolution(map.getZoom());
  map.on('zoomend', () => {
    const res = hotspotResolution(map.getZoom());
    if (res !== hotspotRes && isVisible('hotspots')) loadHotspots();
    hotspotRes = res;
  });
  map.on('click', 'hotspot-fill', (e) => {
    const p = e.features[0].properties;
    new maplibregl.Popup().setLngLat(e.lngLat).setText(`${p.count} · ${t('legend.emerging')}: ${p.emerging ? '✓' : '–'}${p.p_adjusted ? ` (p=${Number(p.p_adjusted).toFixed(4)})` : ''}`).addTo(map);
  });
  map.addSource('units', { type: 'geojson', data: unitsGeoJson() });
  // One icon per kind and state colour, drawn here: no sprite sheet to fetch.
  for (const kind of [...UNIT_SHAPES.keys(), 'other']) {
    for (const [colour, fill] of Object.entries(UNIT_FILLS)) {
      map.addImage(`unit-${kind}-${colour}`, unitIcon(kind, fill, 2), { pixelRatio: 2 });
    }
  }
  map.addLayer({ id: 'units', type: 'symbol', source: 'units', layout: {
    visibility: visibility('units'),
    'icon-image': ['concat', 'unit-', ['match', ['get', 'kind'], [...UNIT_SHAPES.keys()], ['get', 'kind'], 'other'], '-',
      ['case', ['get', 'stale'], 'stale', ['match', ['get', 'status'], 'available', 'available', 'off_duty', 'off_duty', 'on_scene', 'on_scene', 'busy']]],
    'icon-size': ['interpolate', ['linear'], ['zoom'], 8, 0.45, 15, 1],
    'icon-allow-overlap': true, 'icon-ignore-placement': true,
  } }, 'report-cells'); // beneath the reports: a report stays readable over a unit

  // Taking a call: a click on the map is where the caller is.
  map.on('click', (e) => { if (state.intake) setIntakePoint({ lat: e.lngLat.lat, lon: e.lngLat.lng }); });
  // A point's feature id is the report id, which the API takes like a code.
  map.on('click', 'report-points', (e) => { if (!state.intake) openReport(String(e.features[0].id)); });
  map.on('click', 'report-cells', (e) => map.easeTo({ center: e.lngLat, zoom: Math.min(map.getZoom() + 2, 14) }));
  map.on('click', 'units', (e) => {
    const p = e.features[0].properties;
    new maplibregl.Popup().setLngLat(e.lngLat).setText(`${p.callsign} · ${t(`unitstatus.${p.status}`)}`).addTo(map);
  });
  for (const id of ['report-points', 'report-cells', 'units']) {
    map.on('mouseenter', id, () => { map.getCanvas().style.cursor = 'pointer'; });
    map.on('mouseleave', id, () => { map.getCanvas().style.cursor = ''; });
  }
}

// ---- hotspots ----

// The hexagon size follows the zoom: city-wide cells when zoomed out, street
// blocks when zoomed in.
const hotspotResolution = (zoom) => (zoom < 9 ? 6 : zoom < 11 ? 7 : zoom < 13 ? 8 : 9);
const hotspotsLoaded = new Map(); // resolution -> when
const hotspotData = new Map(); // resolution -> GeoJSON
async function loadHotspots() {
  if (!map) return;
  const res = hotspotResolution(map.getZoom());
  // Each size at most once every ten minutes: the analysis moves slowly.
  if (Date.now() - (hotspotsLoaded.get(res) || 0) < 600_000) {
    if (hotspotData.has(res)) map.getSource('hotspots')?.setData(hotspotData.get(res));
    return;
  }
  hotspotsLoaded.set(res, Date.now());
  try {
    const geo = await api(`/api/v1/analysis/hotspots?resolution=${res}`);
    hotspotData.set(res, geo);
    if (hotspotResolution(map.getZoom()) === res) map.getSource('hotspots')?.setData(geo);
  } catch (e) {
    hotspotsLoaded.delete(res);
    toast(t('a.failed', { why: e.message }));
  }
}

// ---- patrol ----

function patrolGeoJson() {
  return { type: 'FeatureCollection', features: state.patrol.map((p) => ({ type: 'Feature', id: p.id,
    geometry: { type: 'Point', coordinates: [p.lon, p.lat] },
    properties: { id: p.id, name: p.name, state: p.state, radius_m: p.radius_m, colour: PATROL_COLOURS[p.state] } })) };
}

async function loadPatrol() {
  const { points } = await api('/api/v1/patrol/points');
  state.patrol = points;
  map?.getSource('patrol')?.setData(patrolGeoJson());
}

let patrolTimer;
function refreshPatrol() {
  clearTimeout(patrolTimer);
  patrolTimer = setTimeout(async () => {
    await loadPatrol().catch(() => {});
    if (state.queue === 'patrol') drawQueue();
    loadCounts().catch(() => {});
  }, 500);
}

/** Metres between two positions (enough for ordering units near a point). */
function metresBetween(a, b) {
  const k = Math.PI / 180;
  const x = (b.lon - a.lon) * k * Math.cos(((a.lat + b.lat) / 2) * k);
  const y = (b.lat - a.lat) * k;
  return Math.round(Math.hypot(x, y) * 6371000);
}

/**
 * The command centre records a visit a unit reported by radio: the person picks
 * the unit (nearest on duty first) and the visit names both.
 */
function checkInFor(point) {
  const units = [...state.units.values()]
    .map((u) => ({ u, m: u.lat == null ? Infinity : metresBetween(point, u) }))
    .sort((a, b) => (a.u.status === 'off_duty') - (b.u.status === 'off_duty') || a.m - b.m);
  const pick = el('select', { id: 'checkin-unit', 'aria-required': 'true' },
    el('option', { value: '' }, t('patrol.pick')),
    ...units.map(({ u, m }) => el('option', { value: u.id },
      `${u.callsign} · ${t(`unit.${u.kind}`)} · ${t(`unitstatus.${u.status}`)}${Number.isFinite(m) ? ` · ${t('d.meters', { m })}` : ''}`)));
  const status = el('p', { class: 'muted', id: 'checkin-status', role: 'status' }, t('patrol.checkin_help'));
  const save = el('button', { type: 'submit', class: 'primary', id: 'checkin-save' }, t('patrol.record'));
  const cancel = el('button', { type: 'button' }, t('close'));
  const form = el('form', { novalidate: true },
    el('label', { for: 'checkin-unit' }, t('patrol.unit')), pick, status,
    el('div', { class: 'actions' }, save, cancel));
  const dlg = el('dialog', { class: 'checkin', id: 'checkin', 'aria-labelledby': 'checkin-title' },
    el('h3', { id: 'checkin-title' }, t('patrol.checkin_title', { name: point.name })), form);
  document.body.append(dlg);
  const close = () => { dlg.close(); dlg.remove(); };
  cancel.addEventListener('click', close);
  pick.addEventListener('change', () => { status.textContent = t('patrol.checkin_help'); });
  dlg.addEventListener('close', () => dlg.remove());
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (!pick.value) { status.textContent = t('patrol.pick_first'); pick.focus(); return; }
    save.disabled = true;
    try {
      await api(`/api/v1/patrol/points/${point.id}/visits`, { method: 'POST', body: JSON.stringify({ unit: Number(pick.value) }) });
      toast(t('patrol.recorded', { unit: state.units.get(Number(pick.value))?.callsign || '', name: point.name }));
      close();
      refreshPatrol();
    } catch (err) {
      status.textContent = t('err.action', { why: err.message });
      save.disabled = false;
    }
  });
  dlg.showModal();
  pick.focus();
}

// ---- units ----

// The unit icons: the shape says the kind, the fill the state.
const UNIT_FILLS = { available: UNIT_COLOURS.available, busy: UNIT_COLOURS.en_route, on_scene: UNIT_COLOURS.on_scene, off_duty: UNIT_COLOURS.off_duty, stale: '#d1d5db' };
const UNIT_SHAPES = new Map([
  // A car seen from above.
  ['traffic_police', (c) => { c.roundRect(5, 3, 12, 16, 4); }],
  // A shield.
  ['special_police', (c) => { c.moveTo(11, 2); c.lineTo(19, 5); c.lineTo(18, 13); c.quadraticCurveTo(16, 18, 11, 20); c.quadraticCurveTo(6, 18, 4, 13); c.lineTo(3, 5); c.closePath(); }],
  // A person.
  ['office_staff', (c) => { c.arc(11, 6, 3.6, 0, Math.PI * 2); c.moveTo(4.5, 20); c.quadraticCurveTo(4.5, 10.5, 11, 10.5); c.quadraticCurveTo(17.5, 10.5, 17.5, 20); c.closePath(); }],
  // A building with a roof.
  ['police_station', (c) => { c.moveTo(11, 2); c.lineTo(20, 9); c.lineTo(18, 9); c.lineTo(18, 20); c.lineTo(4, 20); c.lineTo(4, 9); c.lineTo(2, 9); c.closePath(); }],
]);

/** Draws one unit icon (22 px at `ratio` 1) as ImageData for `map.addImage`. */
function unitIcon(kind, fill, ratio) {
  const size = 22 * ratio;
  const canvas = document.createElement('canvas');
  canvas.width = canvas.height = size;
  const c = canvas.getContext('2d');
  c.scale(ratio, ratio);
  c.beginPath();
  (UNIT_SHAPES.get(kind) || ((x) => { x.moveTo(11, 2); x.lineTo(20, 11); x.lineTo(11, 20); x.lineTo(2, 11); x.closePath(); }))(c);
  c.fillStyle = fill;
  c.fill();
  c.lineWidth = 1.6;
  c.strokeStyle = '#ffffff';
  c.stroke();
  return c.getImageData(0, 0, size, size);
}

/** The same icon as an image for the legend. */
function unitGlyph(kind, fill) {
  const data = unitIcon(kind, fill, 1);
  const canvas = document.createElement('canvas');
  canvas.width = canvas.height = 22;
  canvas.getContext('2d').putImageData(data, 0, 0);
  return el('img', { class: 'glyph', src: canvas.toDataURL(), alt: '' });
}

function unitsGeoJson() {
  const features = [];
  for (const u of state.units.values()) {
    if (u.lat == null || u.lon == null) continue;
    features.push({ type: 'Feature', id: u.id, geometry: { type: 'Point', coordinates: [u.lon, u.lat] },
      properties: { id: u.id, callsign: u.callsign, kind: u.kind, status: u.status, stale: Boolean(u.stale) } });
  }
  return { type: 'FeatureCollection', features };
}

async function loadUnits() {
  const { units } = await api('/api/v1/units');
  state.units = new Map(units.map((u) => [u.id, u]));
  map?.getSource('units')?.setData(unitsGeoJson());
}

let unitTimer;
function unitChanged(u) {
  state.units.set(u.id, u);
  clearTimeout(unitTimer);
  unitTimer = setTimeout(() => map?.getSource('units')?.setData(unitsGeoJson()), 300);
}

// ---- the queue ----

async function loadCounts() {
  const counts = await api('/api/v1/queue');
  counts.patrol = state.patrol.filter((p) => p.state === 'overdue' || p.state === 'due').length;
  $('queue-tabs').replaceChildren(...QUEUES.map((q, i) => el('button', {
    type: 'button', role: 'tab', 'aria-selected': String(q === state.queue), dataset: { queue: q },
    title: `${i + 1}`, onclick: () => selectQueue(q),
  }, el('span', { class: 'count' }, String(counts[q] ?? 0)), t(`queue.${q}`))));
}

async function selectQueue(q) {
  state.queue = q;
  state.selected = 0;
  await Promise.all([loadCounts(), loadQueue()]);
}

async function loadQueue() {
  if (state.queue === 'patrol') {
    await loadPatrol();
    state.items = [];
    drawQueue();
    return;
  }
  const q = filterQuery();
  q.delete('status');
  q.set('queue', state.queue);
  q.set('limit', '100');
  const { reports } = await api(`/api/v1/reports?${q}`);
  // The highlight stays on the report it was on (or the open one) when the list moves.
  const keep = state.open || state.items[state.selected]?.tracking_code;
  state.items = reports;
  const at = reports.findIndex((r) => r.tracking_code === keep);
  state.selected = at >= 0 ? at : Math.min(state.selected, Math.max(0, reports.length - 1));
  drawQueue();
}

function drawPatrol() {
  const order = { overdue: 0, due: 1, on_time: 2, done: 3 };
  const points = [...state.patrol].sort((a, b) => order[a.state] - order[b.state] || a.name.localeCompare(b.name));
  const mayPrint = ['admin', 'dispatcher'].includes(state.me.role);
  $('queue-empty').hidden = points.length > 0;
  $('queue-list').replaceChildren(...points.map((p) => el('li', { dataset: { point: p.id, state: p.state },
    onclick: () => map.easeTo({ center: [p.lon, p.lat], zoom: 16 }) },
  el('div', {}, el('strong', { dataset: { data: '' } }, p.name), ' · ', el('span', { class: p.state === 'overdue' ? 'overdue' : '' }, t(`patrol.state.${p.state}`))),
  el('div', { class: 'muted' }, t('patrol.visits', { n: p.visits_today, of: p.visits_per_day })),
  mayPrint ? el('div', {},
    el('a', { href: p.qr, target: '_blank', rel: 'noopener', onclick: (e) => e.stopPropagation() }, t('patrol.print')), ' ',
    el('button', { type: 'button', class: 'link', onclick: (e) => { e.stopPropagation(); checkInFor(p); } }, t('patrol.checkin_for'))) : null)));
}

function drawQueue() {
  if (state.queue === 'patrol') {
    drawPatrol();
    return;
  }
  const cats = Object.fromEntries(state.categories.map((c) => [c.code, c]));
  $('queue-empty').hidden = state.items.length > 0;
  $('queue-list').replaceChildren(...state.items.map((r, i) => el('li', {
    role: 'option', 'aria-selected': String(i === state.selected), dataset: { code: r.tracking_code },
    onclick: () => { state.selected = i; drawQueue(); openReport(r.tracking_code); },
  },
  el('div', {}, el('strong', {}, named(cats[r.category]) || r.category), ' · ', statusName(r.status)),
  el('div', { class: 'muted', dataset: { data: '' } }, (r.description || '').slice(0, 60)),
  el('div', {}, el('span', { class: 'code' }, r.tracking_code), ' ', r.overdue ? el('span', { class: 'overdue' }, t('d.overdue')) : null))));
  $('queue-list').querySelector('[aria-selected="true"]')?.scrollIntoView({ block: 'nearest' });
}

let queueTimer;
function refreshQueue() {
  clearTimeout(queueTimer);
  queueTimer = setTimeout(() => { loadCounts().catch(() => {}); loadQueue().catch(() => {}); }, 600);
}

// ---- the drawer ----

function fmtTime(iso) {
  if (!iso) return '';
  return new Date(iso).toLocaleString(lang === 'en' ? 'en-GB' : 'zh-CN', { month: 'numeric', day: 'numeric', hour: '2-digit', minute: '2-digit' });
}

async function act(code, body, what) {
  if (state.busy) return;
  state.busy = true;
  try {
    await api(`/api/v1/reports/${code}/actions`, { method: 'POST', body: JSON.stringify(body) });
    toast(t('d.done', { what }));
    refreshQueue();
    refreshTiles();
  } catch (e) {
    toast(t('err.action', { why: e.message }));
    throw e;
  } finally {
    state.busy = false;
    // Someone else may have moved it first: show it as it is now either way.
    if (state.open === code) await openReport(code).catch(() => {});
  }
}

async function dispatch(code, unit) {
  try {
    await api(`/api/v1/reports/${code}/dispatches`, { method: 'POST', body: JSON.stringify({ unit }) });
    toast(t('d.done', { what: t('d.dispatch') }));
    await Promise.all([openReport(code), loadUnits()]);
  } catch (e) {
    toast(t('err.action', { why: e.message }));
  }
}

async function step(code, id, next) {
  try {
    await api(`/api/v1/dispatches/${id}`, { method: 'POST', body: JSON.stringify({ step: next }) });
    await openReport(code);
  } catch (e) {
    toast(t('err.action', { why: e.message }));
  }
}

// ---- photos: public copies, originals, redaction ----

const photoWords = () => ({ processing: t('ph.processing'), removed: t('ph.removed') });

/** The report's photos as the public sees them, each with its staff controls. */
function photoBlock(r, code) {
  if (!r.photo_ids?.length) return null;
  const mayEdit = ['admin', 'dispatcher', 'officer'].includes(state.me.role);
  return el('div', { class: 'photos' }, r.photo_ids.map((id, i) => {
    const hidden = r.hidden_photos?.includes(id);
    return el('figure', { class: hidden ? 'photo hidden-photo' : 'photo', dataset: { photo: id } },
      el('a', { href: r.photos[i], target: '_blank', rel: 'noopener' }, publicPhoto(r.thumbnails[i], photoWords())),
      el('figcaption', {},
        mayEdit ? el('button', { type: 'button', class: 'link ph-edit', onclick: () => editRedaction(r, id, code) }, t('ph.edit')) : null,
        el('a', { class: 'ph-original', href: `/api/v1/reports/${r.id}/photos/${id}/original`, target: '_blank', rel: 'noopener', title: t('ph.original_hint') }, t('ph.original')),
        mayEdit ? el('button', { type: 'button', class: 'link ph-hide', onclick: () => setHidden(r, id, !hidden, code) }, hidden ? t('ph.show') : t('ph.hide')) : null));
  }));
}

async function setHidden(r, id, hidden, code) {
  try {
    await api(`/api/v1/reports/${r.id}/photos/${id}/redaction`, { method: 'POST', body: JSON.stringify({ hidden }) });
    toast(hidden ? t('ph.hidden_done') : t('ph.shown_done'));
    await openReport(code);
  } catch (e) {
    toast(t('err.action', { why: e.message }));
  }
}

/**
 * The redaction editor: the public copy with what was blurred outlined. Drag to
 * blur one more area; click an outline to take it away; save re-runs the blur.
 */
async function editRedaction(r, id, code) {
  const path = `/api/v1/reports/${r.id}/photos/${id}/redaction`;
  let info;
  try {
    info = await api(path);
  } catch (e) {
    toast(t('err.action', { why: e.message }));
    return;
  }
  const added = [];
  const removed = [];
  const stage = el('div', { class: 'redact-stage' });
  const img = el('img', { alt: '', draggable: 'false' });
  stage.append(img);
  const status = el('p', { class: 'muted', id: 'redact-status' },
    info.state === 'done' ? t('ph.help') : info.state === 'failed' ? t('ph.failed', { why: info.error || '' }) : t('ph.processing'));
  const save = el('button', { type: 'button', class: 'primary', id: 'redact-save' }, t('ph.save'));
  const cancel = el('button', { type: 'button' }, t('close'));
  const dlg = el('dialog', { class: 'redact', id: 'redact' },
    el('h3', {}, t('ph.edit')), status, stage, el('div', { class: 'actions' }, save, cancel));
  document.body.append(dlg);
  const scale = () => (img.naturalWidth ? img.clientWidth / img.naturalWidth : 1);
  const place = (div, b) => {
    const k = scale();
    Object.assign(div.style, { left: `${b.x * k}px`, top: `${b.y * k}px`, width: `${b.w * k}px`, height: `${b.h * k}px` });
  };
  const boxes = [];
  const draw = () => {
    boxes.forEach(([div, b]) => place(div, b));
  };
  const addBox = (b, cls, onclick) => {
    const div = el('div', { class: `box ${cls}`, title: t(`ph.kind.${b.kind || 'manual'}`) });
    if (onclick) div.addEventListener('pointerdown', (e) => { e.stopPropagation(); onclick(div); });
    stage.append(div);
    boxes.push([div, b]);
    place(div, b);
  };
  img.addEventListener('load', () => {
    for (const b of info.blurred || []) {
      addBox(b, b.kind, (div) => {
        const i = removed.indexOf(b);
        if (i >= 0) { removed.splice(i, 1); div.classList.remove('removing'); } else { removed.push(b); div.classList.add('removing'); }
      });
    }
  });
  img.src = `${r.photos[r.photo_ids.indexOf(id)]}?v=${info.version}`;
  window.addEventListener('resize', draw);
  // Drag to draw a new box, in the photo's own pixels.
  let start = null;
  let ghost = null;
  const at = (e) => {
    const rect = img.getBoundingClientRect();
    const k = scale();
    return { x: Math.max(0, Math.min(img.naturalWidth, (e.clientX - rect.left) / k)), y: Math.max(0, Math.min(img.naturalHeight, (e.clientY - rect.top) / k)) };
  };
  const rectOf = (a, b) => ({ x: Math.round(Math.min(a.x, b.x)), y: Math.round(Math.min(a.y, b.y)), w: Math.round(Math.abs(a.x - b.x)), h: Math.round(Math.abs(a.y - b.y)) });
  stage.addEventListener('pointerdown', (e) => {
    if (!img.naturalWidth) return;
    start = at(e);
    ghost = el('div', { class: 'box new' });
    stage.append(ghost);
    stage.setPointerCapture(e.pointerId);
  });
  stage.addEventListener('pointermove', (e) => { if (start) place(ghost, rectOf(start, at(e))); });
  stage.addEventListener('pointerup', (e) => {
    if (!start) return;
    const b = rectOf(start, at(e));
    ghost.remove();
    start = null;
    if (b.w >= 4 && b.h >= 4) {
      const box = { ...b, kind: 'manual' };
      added.push(box);
      addBox(box, 'new', (div) => { added.splice(added.indexOf(box), 1); div.remove(); });
    }
  });
  const close = () => { window.removeEventListener('resize', draw); dlg.close(); dlg.remove(); };
  cancel.addEventListener('click', close);
  save.addEventListener('click', async () => {
    if (!added.length && !removed.length) { close(); return; }
    const strip = ({ x, y, w, h }) => ({ x, y, w, h });
    try {
      await api(path, { method: 'POST', body: JSON.stringify({ add: added.map(strip), remove: removed.map(strip) }) });
      toast(t('ph.saved'));
      close();
      await openReport(code);
    } catch (e) {
      status.textContent = t('err.action', { why: e.message });
    }
  });
  dlg.showModal();
}

/**
 * A camera's video: a web address opens in a tab; anything a browser cannot open
 * (an rtsp:// stream) is offered to copy into the city's video client.
 */
function cameraLink(c) {
  const url = c.player_url || c.stream_url;
  if (!url) return null;
  if (/^https?:\/\//i.test(url)) return el('a', { href: url, target: '_blank', rel: 'noopener' }, t('d.stream'));
  return el('button', { type: 'button', class: 'link', title: url, onclick: async () => {
    try { await navigator.clipboard.writeText(url); toast(t('d.stream_copied')); } catch { toast(url); }
  } }, t('d.stream_copy'));
}

function section(title, ...content) {
  return [el('h3', {}, title), ...content];
}

/** Where a report is, in words: its jurisdictions, largest first. */
function placeName(place) {
  if (!place?.length) return '—';
  return place.map((p) => (lang === 'en' ? p.name_en || p.name : p.name)).join(' · ');
}

/** Why routing chose the department, in the reader's language. */
function routingReason(r) {
  const g = r.routing;
  if (!g) return '—';
  const dep = named(state.departments.find((d) => d.code === g.department)) || '—';
  const cat = named(state.categories.find((c) => c.code === r.category)) || '—';
  if (g.basis === 'rule') return t('routing.rule', { n: (g.rule ?? 0) + 1, dep });
  if (g.basis === 'dispatch_queue') return t('routing.queue', { dep });
  return t('routing.default', { cat, dep });
}

/** One timeline line: who (role, and the staff member's name), what, the new state. */
function timelineLine(e) {
  const role = e.actor_role || (e.actor === 'public' ? 'public' : '');
  const roleKey = `role.${role.startsWith('open311') ? 'open311' : role}`;
  const who = t(roleKey) === roleKey ? t('role.public') : t(roleKey);
  const name = ['admin', 'dispatcher', 'officer', 'unit', 'analyst'].includes(role) ? e.actor : role === 'open311' ? e.actor.replace(/^open311:/, '') : null;
  const actionKey = `action.${e.action}`;
  let text = ` · ${t(actionKey) === actionKey ? t('action.other') : t(actionKey)}`;
  if (e.to_status && e.to_status !== e.from_status) text += ` → ${statusName(e.to_status)}`;
  const head = name ? [who, ' ', el('span', { dataset: { data: '' } }, name), text] : [who, text];
  if (e.data?.automatic && e.data?.due_kind) return [...head, ` · ${t('due.passed', { kind: t(`due.${e.data.due_kind}`) })}`];
  if (e.note) return [...head, ' · ', el('span', { dataset: { data: '' } }, e.note)];
  return head;
}

async function openReport(code) {
  state.open = code;
  const staffCanDispatch = ['admin', 'dispatcher'].includes(state.me.role);
  const [r, events, dupes, cameras, units, dispatches] = await Promise.all([
    api(`/api/v1/reports/${code}`),
    api(`/api/v1/reports/${code}/events`),
    api(`/api/v1/reports/${code}/duplicates`).catch(() => ({ reports: [] })),
    api(`/api/v1/reports/${code}/cameras?limit=5`).catch(() => ({ cameras: [] })),
    staffCanDispatch ? api(`/api/v1/reports/${code}/units?limit=5`).catch(() => ({ units: [] })) : { units: [] },
    api(`/api/v1/reports/${code}/dispatches`).catch(() => ({ dispatches: [] })),
  ]);
  if (state.open !== code) return;
  const cat = state.categories.find((c) => c.code === r.category);
  const dep = state.departments.find((d) => d.code === r.department);
  const allowed = new Set(r.allowed_actions || []);
  const may = (a) => allowed.has(a);
  const needsText = ['reject', 'return', 'resolve', 'reopen', 'comment', 'escalate'].some(may);
  const reasonInput = needsText ? el('input', { id: 'd-reason', placeholder: t('d.reason_hint'), 'aria-label': t('d.reason'), size: 30 }) : null;
  const mergeInput = el('input', { id: 'd-merge', placeholder: t('d.merge_code_short'), 'aria-label': t('d.merge_code'), title: t('d.merge_code'), size: 16 });
  const depSelect = el('select', { id: 'd-department', 'aria-label': t('d.department') },
    state.departments.map((d) => el('option', { value: d.code, selected: d.code === (r.routing?.department || r.department) }, named(d))));
  const needReason = () => {
    const v = reasonInput?.value.trim();
    if (!v) { toast(t('err.reason')); reasonInput?.focus(); }
    return v;
  };
  const withText = (action, field) => () => { const v = needReason(); if (v) act(code, { action, [field]: v }, t(`action.${action}`)).catch(() => {}); };
  const plain = (action) => () => act(code, { action }, t(`action.${action}`)).catch(() => {});
  const scoreSelect = el('select', { id: 'd-score', 'aria-label': t('d.score') }, [5, 4, 3, 2, 1].map((n) => option(String(n), t(`score.${n}`))));
  const prioritySelect = el('select', { id: 'd-priority', 'aria-label': t('d.priority') },
    ['low', 'normal', 'high', 'urgent'].map((p) => el('option', { value: p, selected: p === r.priority }, t(`priority.${p}`))));
  // Only what the lifecycle lets this person do to this report now is offered.
  const buttons = [
    may('accept') && el('button', { type: 'button', id: 'd-accept', class: 'primary', onclick: plain('accept') }, t('d.accept')),
    may('reject') && el('button', { type: 'button', id: 'd-reject', onclick: withText('reject', 'reason') }, t('d.reject')),
    may('start') && el('button', { type: 'button', id: 'd-start', class: 'primary', onclick: plain('start') }, t('action.start')),
    may('resolve') && el('button', { type: 'button', id: 'd-resolve', class: 'primary', onclick: withText('resolve', 'note') }, t('action.resolve')),
    may('return') && el('button', { type: 'button', id: 'd-return', onclick: withText('return', 'reason') }, t('action.return')),
    may('verify') && el('button', { type: 'button', id: 'd-verify', class: 'primary', onclick: plain('verify') }, t('action.verify')),
    may('close') && el('button', { type: 'button', id: 'd-close-report', onclick: plain('close') }, t('action.close')),
    may('reopen') && el('button', { type: 'button', id: 'd-reopen', onclick: withText('reopen', 'reason') }, t('action.reopen')),
    may('escalate') && el('button', { type: 'button', id: 'd-escalate', onclick: () => act(code, { action: 'escalate', note: reasonInput?.value.trim() || undefined }, t('action.escalate')).catch(() => {}) }, t('action.escalate')),
    may('comment') && el('button', { type: 'button', id: 'd-comment', onclick: withText('comment', 'note') }, t('action.comment')),
  ].filter(Boolean);
  const routed = r.routing?.department;
  const assign = () => {
    const department = depSelect.value;
    const body = { action: 'assign', department };
    if (routed && department !== routed) {
      const why = needReason();
      if (!why) return;
      body.reason = why;
    }
    act(code, body, t('action.assign')).catch(() => {});
  };
  const actionRows = [
    buttons.length ? el('div', { class: 'actions', id: 'd-actions' }, buttons) : null,
    reasonInput ? el('div', { class: 'actions' }, reasonInput) : null,
    may('assign') ? el('div', { class: 'actions' }, depSelect, el('button', { type: 'button', id: 'd-assign', onclick: assign }, r.department && routed && r.department !== routed ? t('d.reassign') : t('d.assign'))) : null,
    may('merge') ? el('div', { class: 'actions' }, mergeInput, el('button', { type: 'button', id: 'd-merge-go', onclick: () => { const into = mergeInput.value.trim(); if (into) act(code, { action: 'merge', into }, t('action.merge')).catch(() => {}); else mergeInput.focus(); } }, t('d.merge'))) : null,
    may('set_priority') ? el('div', { class: 'actions' }, prioritySelect, el('button', { type: 'button', id: 'd-set-priority', onclick: () => act(code, { action: 'set_priority', priority: prioritySelect.value }, t('action.set_priority')).catch(() => {}) }, t('action.set_priority'))) : null,
    may('rate') ? el('div', { class: 'actions' }, scoreSelect, el('button', { type: 'button', id: 'd-rate', onclick: () => act(code, { action: 'rate', score: Number(scoreSelect.value) }, t('action.rate')).catch(() => {}) }, t('d.rate_by_phone'))) : null,
  ].filter(Boolean);
  if (!actionRows.length) actionRows.push(el('p', { class: 'muted', id: 'd-no-actions' }, t('d.no_actions')));
  const timeline = [
    ...events.events.map((e) => ({ at: e.at, text: timelineLine(e) })),
    ...dispatches.dispatches.flatMap((d) => d.steps.map((s) => ({ at: s.at, text: [el('span', { dataset: { data: '' } }, d.callsign), ` · ${t(`step.${s.step}`)} · `, el('span', { dataset: { data: '' } }, s.by)] }))),
  ].sort((a, b) => a.at.localeCompare(b.at));

  $('drawer-body').replaceChildren(...[
    el('h2', {}, named(cat) || r.category, ' ', el('span', { class: 'code' }, r.tracking_code)),
    photoBlock(r, code),
    el('p', { dataset: { data: '' } }, r.description || ''),
    el('dl', {},
      el('dt', {}, t('d.status')), el('dd', { id: 'd-status', dataset: { status: r.status } }, statusName(r.status), r.overdue ? el('span', { class: 'overdue' }, ` · ${t('d.overdue')}`) : null),
      el('dt', {}, t('d.department')), el('dd', {}, named(dep) || r.department || '—'),
      el('dt', {}, t('d.place')), el('dd', { id: 'd-place', dataset: { data: '' } }, placeName(r.place)),
      el('dt', {}, t('d.routing')), el('dd', { id: 'd-routing' }, routingReason(r)),
      el('dt', {}, t('d.due')), el('dd', {}, r.due_at ? fmtTime(r.due_at) : '—'),
      el('dt', {}, t('d.reporter')), el('dd', {}, t('d.supporters', { n: r.supporters }))),
    ...actionRows,
    ...section(t('d.duplicates'), (dupes.reports || []).length
      ? el('ul', { class: 'rows', id: 'd-duplicates' }, dupes.reports.map((c) => el('li', {},
        el('span', { class: 'grow' }, `${c.tracking_code} · ${t('d.meters', { m: Math.round(c.distance_m ?? 0) })}${c.similar_photo ? ` · ${t('d.near_identical')}` : ''}`),
        may('merge') ? el('button', { type: 'button', onclick: () => act(code, { action: 'merge', into: c.tracking_code }, t('action.merge')).catch(() => {}) }, t('d.merge_into')) : null)))
      : el('p', { class: 'muted' }, t('d.no_duplicates'))),
    ...(staffCanDispatch ? section(t('d.units'), units.units.length
      ? el('ul', { class: 'rows', id: 'd-units' }, units.units.map((u) => el('li', { dataset: { unit: u.id } },
        el('span', { class: 'grow' }, el('span', { dataset: { data: '' } }, u.callsign), ` · ${t('d.meters', { m: u.distance_m })} · ${t('d.eta', { min: Math.max(1, Math.round(u.eta_s / 60)) })}`),
        el('button', { type: 'button', class: 'primary', onclick: () => dispatch(code, u.id) }, t('d.dispatch')))))
      : el('p', { class: 'muted' }, t('d.no_units'))) : []),
    ...section(t('d.dispatches'), el('ul', { class: 'rows', id: 'd-dispatches' }, dispatches.dispatches.map((d) => el('li', { dataset: { step: d.step } },
      el('span', { class: 'grow' }, el('span', { dataset: { data: '' } }, d.callsign), ` · ${t(`step.${d.step}`)}`),
      staffCanDispatch && !['cleared', 'cancelled'].includes(d.step) ? el('button', { type: 'button', onclick: () => step(code, d.id, d.step === 'on_scene' ? 'cleared' : 'cancelled') }, d.step === 'on_scene' ? t('step.cleared') : t('d.cancel_dispatch')) : null)))),
    ...section(t('d.cameras'), cameras.cameras.length
      ? el('ul', { class: 'rows', id: 'd-cameras' }, cameras.cameras.map((c) => el('li', {},
        el('span', { class: 'grow' }, el('span', { dataset: { data: '' } }, c.name || '—'), ` · ${t('d.meters', { m: c.distance_m })}`),
        cameraLink(c))))
      : el('p', { class: 'muted' }, t('d.no_cameras'))),
    ...section(t('d.timeline'), el('ul', { class: 'rows timeline', id: 'd-timeline' }, timeline.map((x) => el('li', {}, el('time', {}, fmtTime(x.at)), el('span', { class: 'grow' }, x.text))))),
  ].filter(Boolean));
  $('drawer').hidden = false;
  $('drawer').dataset.code = code;
  // What the shortcuts may act on: exactly this report, as drawn.
  state.shown = { code, id: r.id, allowed, routed: routed || r.department };
  marker?.remove();
  marker = new maplibregl.Marker({ color: '#b3261e' }).setLngLat([r.lon, r.lat]).addTo(map);
  // Keep the report in view beside the drawer.
  const covered = $('drawer').getBoundingClientRect().width || 0;
  map?.easeTo({ center: [r.lon, r.lat], zoom: Math.max(map.getZoom(), 15), padding: { right: covered, left: 0, top: 0, bottom: 0 } });
}

function closeDrawer() {
  state.open = null;
  state.shown = null;
  state.intake = null;
  intakeMarker?.remove();
  marker?.remove();
  $('drawer').hidden = true;
  map?.easeTo({ padding: { right: 0, left: 0, top: 0, bottom: 0 } });
  delete $('drawer').dataset.code;
}

// ---- keyboard triage ----

const SHORTCUTS = [['j / ↓', 'k.next'], ['k / ↑', 'k.prev'], ['Enter', 'k.open'], ['a', 'k.accept'], ['r', 'k.reject'], ['m', 'k.merge'], ['d', 'k.assign'], ['1–5', 'k.tabs'], ['/', 'k.search'], ['n', 'k.intake'], ['Esc', 'k.close']];

function current() {
  return state.items[state.selected];
}

/** The report the drawer shows now, if it is open and drawn: the only one a key may change. */
function shown() {
  return state.shown && state.shown.code === state.open && !$('drawer').hidden ? state.shown : null;
}

/** Runs a lifecycle shortcut on the drawer's report, or says why it cannot. */
function byKey(action, run) {
  const s = shown();
  if (!s) toast(t('k.open_first'));
  else if (!s.allowed.has(action)) toast(t('k.not_now', { what: t(`action.${action}`) }));
  else run(s);
}

async function onKey(e) {
  if (e.target.closest('input, select, textarea, dialog') || e.ctrlKey || e.metaKey || e.altKey || $('app').hidden) {
    if (e.key === 'Escape' && !e.target.closest('dialog')) e.target.blur?.();
    return;
  }
  const item = current();
  const k = e.key;
  if (k === 'j' || k === 'ArrowDown') { state.selected = Math.min(state.selected + 1, state.items.length - 1); drawQueue(); if (state.open && current()) openReport(current().tracking_code); }
  else if (k === 'k' || k === 'ArrowUp') { state.selected = Math.max(state.selected - 1, 0); drawQueue(); if (state.open && current()) openReport(current().tracking_code); }
  else if (k === 'Enter' && item) openReport(item.tracking_code);
  else if (k === 'Escape') closeDrawer();
  else if (k === '/') $('search').focus();
  else if (k === 'n' && !$('intake-open').hidden) openIntake();
  else if (['1', '2', '3', '4', '5'].includes(k)) selectQueue(QUEUES[Number(k) - 1]);
  // The lifecycle keys act on the report in the drawer, never on a highlighted row
  // the person has not opened.
  else if (k === 'a') byKey('accept', (s) => act(s.code, { action: 'accept' }, t('action.accept')).catch(() => {}));
  else if (k === 'd') byKey('assign', (s) => act(s.code, { action: 'assign', department: $('d-department')?.value || s.routed }, t('action.assign')).catch(() => {}));
  else if (k === 'r') byKey('reject', () => $('d-reason').focus());
  else if (k === 'm') byKey('merge', () => $('d-merge').focus());
  else return;
  e.preventDefault();
}

// ---- search ----

/** A search result's line, in the reader's language. */
function resultText(x) {
  if (x.kind === 'report') {
    const cat = named(state.categories.find((c) => c.code === x.category)) || '';
    const how = x.matched === 'phone' ? ` · ${t('search.by_phone')}` : '';
    return `${t('search.kind.report')} ${x.label} · ${cat} · ${statusName(x.status)}${how}`;
  }
  if (x.kind === 'unit') return `${t('search.kind.unit')} ${x.label} · ${t(`unitstatus.${x.status}`)}`;
  if (x.kind === 'place') return `${t('search.kind.place')} ${lang === 'en' ? x.name_en || x.label : x.label} · ${t(`level.${x.level}`)}`;
  const kindKey = `layer.kind.${x.layer_kind}`;
  return `${t(kindKey) === kindKey ? t('layer.kind.generic') : t(kindKey)} ${x.label}`;
}

let searchMarkers = [];
function clearSearch() {
  $('search-results').hidden = true;
  $('search-results').replaceChildren();
  $('search').setAttribute('aria-expanded', 'false');
}

function choose(x) {
  clearSearch();
  if (x.kind === 'report') { openReport(x.code); return; }
  if (x.lat == null) { toast(t('search.no_position')); return; }
  map.easeTo({ center: [x.lon, x.lat], zoom: x.kind === 'place' ? 13 : 16 });
  if (state.intake) setIntakePoint({ lat: x.lat, lon: x.lon, label: resultText(x) });
}

async function runSearch(ev) {
  ev?.preventDefault();
  const q = $('search').value.trim();
  if (!q) { clearSearch(); return; }
  let found;
  try {
    found = await api(`/api/v1/search?q=${encodeURIComponent(q)}`);
  } catch (e) {
    toast(t('err.action', { why: e.message }));
    return;
  }
  for (const m of searchMarkers) m.remove();
  searchMarkers = found.results.filter((x) => x.lat != null && x.kind !== 'report').slice(0, 20)
    .map((x) => new maplibregl.Marker({ color: '#2457a6', scale: 0.7 }).setLngLat([x.lon, x.lat]).addTo(map));
  const list = $('search-results');
  list.replaceChildren(...(found.results.length ? found.results.map((x, i) => el('li', {
    role: 'option', id: `sr-${i}`, tabindex: '-1', dataset: { kind: x.kind },
    onclick: () => choose(x), onkeydown: (e) => { if (e.key === 'Enter') choose(x); },
  }, resultText(x))) : [el('li', { class: 'muted', role: 'option', 'aria-disabled': 'true' }, t('search.none'))]));
  list.hidden = false;
  $('search').setAttribute('aria-expanded', 'true');
  // A tracking code opens its report at once.
  if (found.results[0]?.kind === 'report' && found.results[0].matched === 'tracking_code') choose(found.results[0]);
}

$('search-form').addEventListener('submit', runSearch);
$('search').addEventListener('keydown', (e) => {
  if (e.key === 'Escape') { clearSearch(); $('search').blur(); }
  if (e.key === 'ArrowDown') { e.preventDefault(); $('search-results').querySelector('li[role=option]')?.focus(); }
});
$('search-results').addEventListener('keydown', (e) => {
  const items = [...$('search-results').querySelectorAll('li')];
  const i = items.indexOf(document.activeElement);
  if (e.key === 'ArrowDown') { e.preventDefault(); items[Math.min(i + 1, items.length - 1)]?.focus(); }
  if (e.key === 'ArrowUp') { e.preventDefault(); if (i <= 0) $('search').focus(); else items[i - 1].focus(); }
  if (e.key === 'Escape') { clearSearch(); $('search').focus(); }
});

// ---- call-taker intake (12345): a report taken by phone ----

let intakeMarker;
function setIntakePoint(p) {
  if (!state.intake) return;
  state.intake.point = p;
  intakeMarker?.remove();
  intakeMarker = new maplibregl.Marker({ color: '#1b8a3a' }).setLngLat([p.lon, p.lat]).addTo(map);
  const where = $('in-where');
  if (where) where.textContent = p.label || t('intake.map_point', { lat: p.lat.toFixed(5), lon: p.lon.toFixed(5) });
}

function categoryOptions() {
  const groups = new Map(state.groups.map((g) => [g.code, g]));
  const byGroup = new Map();
  for (const c of state.categories) {
    if (!byGroup.has(c.group)) byGroup.set(c.group, []);
    byGroup.get(c.group).push(c);
  }
  return [option('', t('intake.choose')), ...[...byGroup].map(([g, cats]) => el('optgroup', { label: named(groups.get(g)) || t('group.other') },
    cats.map((c) => option(c.code, named(c)))))];
}

function questionField(a) {
  const id = `in-attr-${a.code}`;
  const label = el('label', { for: id }, lang === 'en' ? a.description_en || a.description : a.description, a.required ? ` ${t('intake.required')}` : '');
  let input;
  if (a.datatype === 'singlevaluelist' || a.datatype === 'multivaluelist') {
    input = el('select', { id, name: a.code, required: a.required, multiple: a.datatype === 'multivaluelist' },
      a.datatype === 'singlevaluelist' ? option('', t('intake.choose')) : null, a.values.map((v) => option(v.key, named(v))));
  } else {
    input = el(a.datatype === 'text' ? 'textarea' : 'input', { id, name: a.code, required: a.required,
      type: a.datatype === 'number' ? 'number' : a.datatype === 'datetime' ? 'datetime-local' : undefined });
  }
  return el('div', { class: 'field' }, label, input);
}

function openIntake() {
  closeDrawer();
  state.intake = { point: null };
  const form = el('form', { id: 'intake', class: 'intake', novalidate: true });
  const questions = el('div', { id: 'in-questions' });
  const category = el('select', { id: 'in-category', name: 'category', required: true }, categoryOptions());
  category.addEventListener('change', () => {
    const cat = state.categories.find((c) => c.code === category.value);
    questions.replaceChildren(...(cat?.attributes || []).slice().sort((a, b) => a.order - b.order).map(questionField));
  });
  const place = el('input', { id: 'in-place', type: 'search', autocomplete: 'off' });
  const placeResults = el('ul', { id: 'in-place-results', class: 'rows' });
  const findPlace = async () => {
    const q = place.value.trim();
    if (!q) return;
    try {
      const found = await api(`/api/v1/search?q=${encodeURIComponent(q)}`);
      const here = found.results.filter((x) => x.lat != null && x.kind !== 'report' && x.kind !== 'unit');
      placeResults.replaceChildren(...(here.length ? here.slice(0, 8).map((x) => el('li', {},
        el('button', { type: 'button', class: 'link', onclick: () => { setIntakePoint({ lat: x.lat, lon: x.lon, label: resultText(x) }); map.easeTo({ center: [x.lon, x.lat], zoom: 15 }); placeResults.replaceChildren(); } }, resultText(x))))
        : [el('li', { class: 'muted' }, t('search.none'))]));
    } catch (e) {
      toast(t('err.action', { why: e.message }));
    }
  };
  place.addEventListener('keydown', (e) => { if (e.key === 'Enter') { e.preventDefault(); findPlace(); } });
  const status = el('p', { id: 'in-status', class: 'error', role: 'alert' });
  form.append(
    el('h2', {}, t('intake.title')),
    el('p', { class: 'muted' }, t('intake.help')),
    el('div', { class: 'field' }, el('label', { for: 'in-name' }, t('intake.caller')), el('input', { id: 'in-name', name: 'name', autocomplete: 'off' })),
    el('div', { class: 'field' }, el('label', { for: 'in-phone' }, t('intake.phone')), el('input', { id: 'in-phone', name: 'phone', type: 'tel', autocomplete: 'off' })),
    el('div', { class: 'field' }, el('label', { for: 'in-category' }, t('intake.category')), category),
    questions,
    el('div', { class: 'field' }, el('label', { for: 'in-place' }, t('intake.where')),
      el('div', { class: 'actions' }, place, el('button', { type: 'button', onclick: findPlace }, t('intake.find')))),
    placeResults,
    el('p', {}, el('span', { class: 'muted' }, t('intake.or_click')), ' ', el('strong', { id: 'in-where' }, t('intake.no_point'))),
    el('div', { class: 'field' }, el('label', { for: 'in-description' }, t('intake.description')), el('textarea', { id: 'in-description', name: 'description', rows: 3, maxlength: 4000 })),
    status,
    el('div', { class: 'actions' },
      el('button', { type: 'submit', class: 'primary', id: 'in-send' }, t('intake.send')),
      el('button', { type: 'button', onclick: closeDrawer }, t('intake.cancel'))),
  );
  form.addEventListener('submit', (e) => { e.preventDefault(); sendIntake(form); });
  form.addEventListener('keydown', (e) => { if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) { e.preventDefault(); sendIntake(form); } });
  $('drawer-body').replaceChildren(form);
  $('drawer').hidden = false;
  delete $('drawer').dataset.code;
  $('in-name').focus();
}

async function sendIntake(form) {
  const data = new FormData(form);
  const status = $('in-status');
  const missing = [];
  if (!data.get('category')) missing.push(t('intake.category'));
  if (!state.intake?.point) missing.push(t('intake.where'));
  if (!String(data.get('phone') || '').trim() && !String(data.get('name') || '').trim()) missing.push(t('intake.caller'));
  if (missing.length) { status.textContent = t('intake.missing', { what: missing.join(lang === 'en' ? ', ' : '、') }); return; }
  const cat = state.categories.find((c) => c.code === data.get('category'));
  const attributes = {};
  for (const a of cat.attributes || []) {
    const values = data.getAll(a.code).filter((v) => v !== '');
    if (values.length) attributes[a.code] = a.datatype === 'multivaluelist' ? values : a.datatype === 'number' ? Number(values[0]) : values[0];
  }
  const name = String(data.get('name') || '').trim();
  const phone = String(data.get('phone') || '').trim();
  const body = {
    category: cat.code, channel: 'phone', lat: state.intake.point.lat, lon: state.intake.point.lon,
    description: String(data.get('description') || '').trim() || undefined, attributes,
    contact: { name: name || undefined, phone: phone || undefined },
  };
  $('in-send').disabled = true;
  try {
    const r = await api('/api/v1/reports', { method: 'POST', body: JSON.stringify(body), headers: { 'Idempotency-Key': state.intake.key ||= crypto.randomUUID() } });
    intakeMarker?.remove();
    state.intake = null;
    refreshQueue();
    refreshTiles();
    // The code is read back to the caller: grouped, and spelled out.
    $('drawer-body').replaceChildren(el('section', { id: 'intake-done', class: 'intake' },
      el('h2', {}, t('intake.done')),
      el('p', {}, t('intake.read_back')),
      el('p', { class: 'big-code', id: 'intake-code' }, r.tracking_code),
      el('p', { class: 'muted' }, r.tracking_code.split('').filter((c) => c !== '-').join(' ')),
      el('div', { class: 'actions' },
        el('button', { type: 'button', class: 'primary', onclick: () => openReport(r.tracking_code) }, t('intake.open_report')),
        el('button', { type: 'button', id: 'intake-next', onclick: openIntake }, t('intake.next')))));
    $('intake-next').focus();
  } catch (e) {
    status.textContent = e.message;
    $('in-send').disabled = false;
  }
}

$('intake-open').addEventListener('click', openIntake);

// ---- live updates ----

function connect() {
  const es = new EventSource('/api/v1/events/stream');
  const seen = (ev) => {
    state.seq = Number(ev.lastEventId) || state.seq;
    $('live').dataset.seq = String(state.seq);
    live.state = 'on';
    live.at = new Date();
    drawLive();
  };
  es.onopen = () => { live.state = 'on'; drawLive(); };
  es.onerror = () => { live.state = 'off'; drawLive(); };
  es.addEventListener('report', (ev) => {
    seen(ev);
    const r = JSON.parse(ev.data);
    refreshTiles();
    refreshQueue();
    if (state.open === r.code) openReport(r.code).catch(() => {});
  });
  es.addEventListener('unit', (ev) => {
    seen(ev);
    unitChanged(JSON.parse(ev.data));
  });
  es.addEventListener('visit', (ev) => {
    seen(ev);
    refreshPatrol();
  });
  es.addEventListener('dispatch', (ev) => {
    seen(ev);
    const d = JSON.parse(ev.data);
    if (state.open === d.report) openReport(d.report).catch(() => {});
  });
}

// ---- start ----

async function start() {
  let me;
  try {
    me = await api('/api/v1/session');
  } catch {
    return;
  }
  if (!STAFF_ROLES.includes(me.role)) {
    $('si-error').textContent = t('signin.role');
    return;
  }
  state.me = me;
  try { state.visible = JSON.parse(localStorage.getItem(layersKey()) || '{}'); } catch { state.visible = {}; }
  $('signin').hidden = true;
  $('app').hidden = false;
  // The drawer sits under the bar, however many lines the bar takes.
  new ResizeObserver(([e]) => document.documentElement.style.setProperty('--bar-h', `${Math.ceil(e.target.getBoundingClientRect().height)}px`))
    .observe(document.querySelector('.app > .bar'));
  $('who').replaceChildren(el('span', { dataset: { data: '' } }, me.name), ` · ${t(`role.${me.role}`)}`);
  const [cats, deps, layers] = await Promise.all([api('/api/v1/categories'), api('/api/v1/departments'), api('/api/v1/layers')]);
  state.categories = cats.categories;
  state.groups = cats.groups || [];
  // Taking calls is the command centre's work.
  $('intake-open').hidden = !['admin', 'dispatcher'].includes(me.role);
  state.departments = deps.departments;
  state.layers = layers.layers;
  translate();
  drawFilters();
  drawLayersPanel();
  $('shortcut-list').replaceChildren(...SHORTCUTS.flatMap(([key, what]) => [el('dt', {}, el('kbd', {}, key)), el('dd', {}, t(what))]));
  await loadPatrol();
  await buildMap();
  await Promise.all([loadUnits(), selectQueue(state.queue)]);
  connect();
  window.consoleOpen = openReport;
  const wanted = decodeURIComponent(location.hash.slice(1));
  if (wanted) await openReport(wanted).catch(() => {});
  document.body.dataset.ready = '1';
}

$('signin').addEventListener('submit', signIn);
$('drawer-close').addEventListener('click', closeDrawer);
$('help').addEventListener('click', () => $('shortcuts').showModal());
$('lang').addEventListener('click', () => {
  setLang(lang === 'en' ? 'zh-CN' : 'en');
  translate();
  if (map) setMapLanguage(map, lang);
  drawFilters();
  drawLayersPanel();
  drawQueue();
  loadCounts().catch(() => {});
  $('who').replaceChildren(el('span', { dataset: { data: '' } }, state.me.name), ` · ${t(`role.${state.me.role}`)}`);
  if (state.open) openReport(state.open);
});
$('signout').addEventListener('click', async () => {
  await fetch('/api/v1/session', { method: 'DELETE', headers: csrf() });
  location.reload();
});
for (const id of ['f-status', 'f-category', 'f-department']) {
  $(id).addEventListener('change', () => {
    localStorage.setItem('console.status', $('f-status').value);
    refreshTiles(true);
    loadQueue().catch(() => {});
  });
}
document.addEventListener('keydown', onKey);
translate();
const res = await fetch('/api/v1/session');
if (res.ok) start(); else showSignIn();
