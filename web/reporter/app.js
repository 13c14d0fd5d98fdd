// The reporter app (随手拍): photo → location → category → nearby reports ("me
// too") → details → send. Every report goes to the outbox on the device first.
import { publicPhoto } from './photo.js';
import { t, lang, setLang, named } from './i18n.js';
import * as outbox from './outbox.js';
import { csrf } from './csrf.js';

const app = document.getElementById('app');
const MAX_PHOTOS = 5;
const MAX_SIDE = 2048;
const DEFAULT_CENTRE = [115.985, 36.456]; // 聊城 (lon, lat), until a place is known

const state = {
  photos: [], // { blob, url, gps }
  location: null, // { lat, lon, accuracy, source }
  categories: [],
  category: null,
  key: outbox.newKey(),
};

export function el(tag, attrs = {}, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'on') Object.entries(v).forEach(([ev, f]) => e.addEventListener(ev, f));
    else if (k === 'text') e.textContent = v;
    else if (v !== false && v != null) e.setAttribute(k, v === true ? '' : v);
  }
  for (const k of kids.flat()) if (k != null) e.append(k.nodeType ? k : document.createTextNode(k));
  return e;
}

export function show(...nodes) {
  app.replaceChildren(...nodes);
  app.focus();
  window.scrollTo(0, 0);
}

function deviceId() {
  let id = localStorage.getItem('device');
  if (!id) { id = crypto.randomUUID(); localStorage.setItem('device', id); }
  return id;
}

/** The server's problem document as sentences in the reporter's language. */
export function explain(problem) {
  const errors = problem?.errors ?? [];
  if (!errors.length) return [t('err.server', { why: problem?.detail || problem?.title || '?' })];
  return errors.map((e) => {
    if (e.field === 'lat' && /service area/.test(e.message)) return t('err.outside');
    if (e.field === 'category') return t('err.category');
    if (e.field === 'description') return t('err.description');
    if (e.field?.startsWith('photo')) return t('err.photo', { why: e.message });
    return t('err.server', { why: `${e.field}: ${e.message}` });
  });
}

export function errorBox(lines) {
  return el('div', { class: 'error', role: 'alert' }, lines.map((l) => el('p', { text: l })));
}

// ---- photos ---------------------------------------------------------------

async function gpsOf(file) {
  try {
    const { gps } = await import('/vendor/exifr/mini.esm.mjs');
    const p = await gps(file);
    if (p && Number.isFinite(p.latitude) && Number.isFinite(p.longitude)) return { lat: p.latitude, lon: p.longitude };
  } catch { /* no EXIF */ }
  return null;
}

/** Words for a photo tile that is not public yet. */
const photoWords = () => ({ processing: t('photo.processing'), removed: t('photo.removed') });

/** Scales a photo down to at most 2048 px on its long side (mobile data), as JPEG. */
async function shrink(file) {
  const bitmap = await createImageBitmap(file, { imageOrientation: 'from-image' });
  const scale = Math.min(1, MAX_SIDE / Math.max(bitmap.width, bitmap.height));
  if (scale === 1 && file.type === 'image/jpeg') { bitmap.close(); return file; }
  const canvas = new OffscreenCanvas(Math.round(bitmap.width * scale), Math.round(bitmap.height * scale));
  canvas.getContext('2d').drawImage(bitmap, 0, 0, canvas.width, canvas.height);
  bitmap.close();
  return canvas.convertToBlob({ type: 'image/jpeg', quality: 0.85 });
}

function photoStep(problems = []) {
  const input = el('input', { type: 'file', accept: 'image/*', capture: 'environment', multiple: true, id: 'photo-input', class: 'visually-hidden' });
  const status = el('p', { class: 'hint', role: 'status' });
  const thumbs = el('div', { class: 'thumbs' });
  const next = el('button', { class: 'primary', type: 'button', id: 'photo-next', text: state.photos.length ? t('next') : t('photo.skip') });
  const drawThumbs = () => {
    thumbs.replaceChildren(...state.photos.map((p, i) => el('figure', {},
      el('img', { src: p.url, alt: '' }),
      el('button', { type: 'button', class: 'link', 'aria-label': t('photo.remove'), text: '×', on: { click: () => { state.photos.splice(i, 1); drawThumbs(); } } }))));
    next.textContent = state.photos.length ? t('next') : t('photo.skip');
  };
  input.addEventListener('change', async () => {
    const files = [...input.files];
    input.value = '';
    status.textContent = t('photo.reading');
    const errors = [];
    for (const f of files) {
      if (state.photos.length >= MAX_PHOTOS) { errors.push(t('photo.limit')); break; }
      try {
        const gps = await gpsOf(f);
        const blob = await shrink(f);
        state.photos.push({ blob, url: URL.createObjectURL(blob), gps });
      } catch {
        errors.push(t('photo.bad', { name: f.name }));
      }
    }
    status.textContent = '';
    errs.replaceChildren(...(errors.length ? [errorBox(errors)] : []));
    drawThumbs();
  });
  const errs = el('div', {}, problems.length ? errorBox(problems) : null);
  next.addEventListener('click', () => locationStep());
  drawThumbs();
  const mineBox = el('section', { id: 'mine', 'aria-labelledby': 'h-mine', hidden: true });
  show(el('section', { 'aria-labelledby': 'h-photo' },
    el('h1', { id: 'h-photo', text: t('photo.heading') }),
    el('label', { for: 'photo-input', class: 'camera', role: 'button', tabindex: '0', id: 'camera',
      on: { keydown: (e) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); input.click(); } } } },
    el('span', { 'aria-hidden': 'true', class: 'camera-icon', text: '📷' }), t('photo.take')),
    input, status, errs, thumbs, next), mineBox,
  el('p', {}, el('button', { type: 'button', class: 'link', id: 'text-size', 'aria-pressed': String(largeText()),
    text: t('text.large'), on: { click: (e) => { setLargeText(!largeText()); e.currentTarget.setAttribute('aria-pressed', String(largeText())); } } })));
  drawMine(mineBox);
  if (!state.location) locate();
}

/** "My reports on this phone": what waits to be sent, and every code it was given. */
async function drawMine(box) {
  const [sent, waiting] = await Promise.all([outbox.mine().catch(() => []), outbox.waiting().catch(() => [])]);
  const queued = waiting.filter((w) => w.state === 'waiting');
  if (!sent.length && !queued.length) return;
  const list = el('ul', { class: 'mine' },
    queued.map((w) => el('li', { 'data-key': w.key }, el('span', { text: new Date(w.created).toLocaleString(lang) }), el('span', { class: 'hint', text: t('mine.waiting') }))),
    sent.slice(0, 20).map((m) => el('li', { 'data-code': m.code },
      el('a', { href: `/r/${m.code}`, text: m.code }), el('span', { class: 'hint', 'data-status': '', text: new Date(m.at).toLocaleDateString(lang) }))));
  box.replaceChildren(el('h2', { id: 'h-mine', text: t('mine.heading') }), list);
  box.hidden = false;
  // Statuses, when the network answers; the list stands without them.
  for (const m of sent.slice(0, 20)) {
    fetch(`/api/v1/reports/${m.code}`).then((r) => (r.ok ? r.json() : null)).then((r) => {
      const cell = r && box.querySelector(`li[data-code="${CSS.escape(m.code)}"] [data-status]`);
      if (cell) cell.textContent = t('status.' + r.status);
    }).catch(() => {});
  }
}

// ---- location -------------------------------------------------------------

let locating = null;
function locate() {
  locating ??= new Promise((resolve) => {
    if (!navigator.geolocation) return resolve(null);
    navigator.geolocation.getCurrentPosition(
      (p) => resolve({ lat: p.coords.latitude, lon: p.coords.longitude, accuracy: p.coords.accuracy, source: 'gps' }),
      () => resolve(null),
      { enableHighAccuracy: true, timeout: 10000, maximumAge: 60000 });
  }).then((loc) => { if (loc && !state.location) state.location = loc; return loc; });
  return locating;
}

async function locationStep() {
  const status = el('p', { class: 'hint', role: 'status', id: 'loc-status', text: t('loc.finding') });
  show(el('section', {}, el('h1', { text: t('loc.heading') }), status));
  if (!state.location) await locate();
  if (!state.location) {
    const exif = state.photos.find((p) => p.gps)?.gps;
    if (exif) state.location = { ...exif, accuracy: 30, source: 'exif' };
  }
  // A found position is shown for the person to confirm or move, never taken silently.
  if (state.location) return pinStep(t('loc.confirm'));
  pinStep(t('loc.none'));
}

/** A circle of `m` metres around a point, as a GeoJSON polygon (the accuracy ring). */
function ring(lon, lat, m) {
  const pts = [];
  for (let i = 0; i <= 48; i++) {
    const a = (i / 48) * 2 * Math.PI;
    pts.push([lon + (m / (111320 * Math.cos((lat * Math.PI) / 180))) * Math.cos(a), lat + (m / 110540) * Math.sin(a)]);
  }
  return { type: 'Feature', geometry: { type: 'Polygon', coordinates: [pts] }, properties: {} };
}

let places;
/** Places a person can search for without an account: the city's jurisdictions. */
async function findPlaces(q) {
  places ??= fetch('/api/v1/jurisdictions').then((r) => r.json()).then((b) => b.jurisdictions).catch(() => { places = null; return []; });
  const all = await places;
  const needle = q.trim().toLowerCase();
  return all.filter((j) => j.name.toLowerCase().includes(needle) || (j.name_en || '').toLowerCase().includes(needle)).slice(0, 8);
}

function loadMapLibrary() {
  if (window.maplibregl) return Promise.resolve(window.maplibregl);
  return new Promise((resolve, reject) => {
    document.head.append(el('link', { rel: 'stylesheet', href: '/vendor/maplibre-gl/maplibre-gl.css' }));
    const s = el('script', { src: '/vendor/maplibre-gl/maplibre-gl.js' });
    s.onload = () => resolve(window.maplibregl);
    s.onerror = reject;
    document.head.append(s);
  });
}

async function pinStep(message) {
  const box = el('div', { class: 'map', id: 'pin-map', role: 'application', 'aria-label': t('loc.pin') });
  const use = el('button', { class: 'primary', type: 'button', id: 'pin-use', text: t('loc.use') });
  const loc = state.location;
  const accuracy = loc?.source === 'gps' ? el('p', { class: 'accuracy-note', id: 'loc-accuracy', text: t('loc.accuracy', { m: Math.round(loc.accuracy ?? 0) }) })
    : loc?.source === 'exif' ? el('p', { class: 'accuracy-note', text: t('loc.exif') }) : null;
  const query = el('input', { type: 'search', id: 'place-search', 'aria-label': t('loc.search'), placeholder: t('loc.search'), autocomplete: 'off' });
  const results = el('ul', { class: 'place-results', id: 'place-results' });
  const form = el('form', { class: 'place-search', role: 'search' }, query, el('button', { type: 'submit', class: 'secondary', text: t('loc.search_go') }));
  form.addEventListener('submit', (e) => e.preventDefault());
  let marker = null;
  let moved = false;
  show(el('section', {}, el('h1', { text: t('loc.heading') }), el('p', { class: 'hint', id: 'loc-message', text: message || t('loc.pin') }), accuracy, form, results, box, use));
  use.addEventListener('click', () => {
    const p = marker?.getLngLat();
    if (!p && !loc) return;
    state.location = p && (moved || !loc) ? { lat: p.lat, lon: p.lng, accuracy: 50, source: 'map' } : loc;
    categoryStep();
  });
  let maplibregl, baseStyle, addOutlines, mapLocale;
  try {
    [maplibregl, { baseStyle, addOutlines, mapLocale }] = await Promise.all([loadMapLibrary(), import('./basemap.js')]);
  } catch {
    // No map without a network (the map library is not kept on the phone): the
    // position found still serves; without one, a place can be searched when online.
    box.replaceChildren(el('p', { class: 'hint', id: 'no-map', text: loc ? t('loc.no_map') : t('loc.no_map_no_gps') }));
    use.disabled = !loc;
    return;
  }
  const start = loc ? [loc.lon, loc.lat] : DEFAULT_CENTRE;
  // The configured base map, or a plain background needing no internet.
  const map = new maplibregl.Map({ container: box, center: start, zoom: loc ? 16 : 12, attributionControl: { compact: true }, style: await baseStyle(), locale: mapLocale(lang) });
  window.pinMap = map;
  marker = new maplibregl.Marker({ color: '#b3261e', draggable: true }).setLngLat(start).addTo(map);
  map.on('load', () => {
    addOutlines(map);
    if (loc?.source === 'gps' && loc.accuracy) {
      map.addSource('accuracy', { type: 'geojson', data: ring(loc.lon, loc.lat, loc.accuracy) });
      map.addLayer({ id: 'accuracy', type: 'fill', source: 'accuracy', paint: { 'fill-color': '#2457a6', 'fill-opacity': 0.15, 'fill-outline-color': '#2457a6' } });
    }
  });
  map.on('click', (e) => { marker.setLngLat(e.lngLat); moved = true; });
  marker.on('dragend', () => { moved = true; });
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (!query.value.trim()) return;
    const found = await findPlaces(query.value);
    results.replaceChildren(...(found.length ? found.map((j) => el('li', {}, el('button', { type: 'button', class: 'secondary', text: lang === 'en' ? j.name_en || j.name : j.name,
      on: { click: async () => {
        results.replaceChildren();
        const r = await fetch(`/api/v1/jurisdictions/outlines`).then((x) => x.json()).catch(() => null);
        const f = r?.features.find((x) => x.properties.code === j.code);
        const c = f ? centreOf(f.geometry) : null;
        if (c) { map.jumpTo({ center: c, zoom: 14 }); marker.setLngLat(c); moved = true; }
      } } }))) : [el('li', { class: 'hint', text: t('loc.search_none') })]));
  });
}

/** The middle of a polygon's bounding box (a place to put the pin). */
function centreOf(geometry) {
  let minX = Infinity, minY = Infinity, maxX = -Infinity, maxY = -Infinity;
  const walk = (c) => { if (typeof c[0] === 'number') { minX = Math.min(minX, c[0]); maxX = Math.max(maxX, c[0]); minY = Math.min(minY, c[1]); maxY = Math.max(maxY, c[1]); } else c.forEach(walk); };
  walk(geometry.coordinates);
  return Number.isFinite(minX) ? [(minX + maxX) / 2, (minY + maxY) / 2] : null;
}

// ---- category -------------------------------------------------------------

async function loadCategories() {
  if (state.categories.length) return state.categories;
  const res = await fetch('/api/v1/categories');
  const body = await res.json();
  state.categories = body.categories;
  state.groups = body.groups || [];
  localStorage.setItem('categories', JSON.stringify(body));
  return state.categories;
}

/** The last catalogue this phone saw (or the one the app was installed with). */
function savedCategories() {
  const saved = JSON.parse(localStorage.getItem('categories') || 'null');
  // Older copies held the bare list.
  const body = Array.isArray(saved) ? { categories: saved, groups: [] } : saved || { categories: [], groups: [] };
  state.groups = body.groups || [];
  return body.categories || [];
}

function groupName(code) {
  const g = (state.groups || []).find((x) => x.code === code);
  return g ? named(g) : t('cat.other_group');
}

function matches(cat, words) {
  const group = (state.groups || []).find((g) => g.code === cat.group);
  const hay = [cat.name, cat.name_en, group?.name, group?.name_en, cat.description, ...(cat.keywords || [])].join(' ').toLowerCase();
  return words.every((w) => hay.includes(w));
}

async function categoryStep() {
  let cats;
  try { cats = await loadCategories(); } catch { cats = savedCategories(); }
  if (!cats.length) {
    // Never online on this phone and no copy: say so, and let it come back.
    return show(el('section', {}, el('h1', { text: t('cat.heading') }), errorBox([t('cat.offline')]),
      el('button', { type: 'button', class: 'primary', id: 'cat-retry', text: t('retry'), on: { click: () => categoryStep() } })));
  }
  const search = el('input', { type: 'search', id: 'cat-search', placeholder: t('cat.search'), 'aria-label': t('cat.search'), autocomplete: 'off' });
  const list = el('div', { class: 'cats', id: 'cat-list' });
  const draw = () => {
    const words = search.value.trim().toLowerCase().split(/\s+/).filter(Boolean);
    const found = cats.filter((c) => matches(c, words));
    const groups = new Map();
    for (const c of found) { if (!groups.has(c.group)) groups.set(c.group, []); groups.get(c.group).push(c); }
    list.replaceChildren(...(found.length ? [...groups].map(([g, cs]) => el('fieldset', {},
      el('legend', { text: words.length ? t('cat.suggested') : groupName(g) }),
      cs.map((c) => el('button', { type: 'button', class: 'cat', 'data-code': c.code, text: named(c), on: { click: () => chosen(c) } }))))
      : [el('p', { class: 'hint', text: t('cat.none') })]));
  };
  search.addEventListener('input', draw);
  draw();
  show(el('section', {}, el('h1', { text: t('cat.heading') }), search, list,
    el('button', { type: 'button', class: 'link', text: t('back'), on: { click: () => photoStep() } })));
}

async function chosen(cat) {
  state.category = cat;
  const { lat, lon } = state.location;
  try {
    const res = await fetch(`/api/v1/reports/nearby?lat=${lat}&lon=${lon}&category=${encodeURIComponent(cat.code)}`);
    if (res.ok) {
      const near = (await res.json()).reports;
      if (near.length) return nearbyStep(near);
    }
  } catch { /* offline: no check, the dispatcher merges later */ }
  detailsStep();
}

// ---- "me too" -------------------------------------------------------------

function nearbyStep(reports) {
  show(el('section', {},
    el('h1', { text: t('near.heading') }),
    el('p', { text: t('near.intro') }),
    el('ul', { class: 'near' }, reports.slice(0, 5).map((r) => el('li', {},
      r.thumbnails?.[0] ? publicPhoto(r.thumbnails[0], photoWords()) : null,
      el('div', {},
        el('p', { 'data-data': '', text: r.description }),
        el('p', { class: 'hint', text: `${t('status.' + r.status)} · ${t('near.distance', { m: Math.round(r.distance_m), h: Math.round(r.age_hours) })}` }),
        el('button', { type: 'button', class: 'secondary metoo', 'data-code': r.tracking_code, text: t('near.metoo'), on: { click: () => meToo(r) } }))))),
    el('button', { type: 'button', class: 'primary', id: 'near-different', text: t('near.different'), on: { click: () => detailsStep() } })));
}

async function meToo(r) {
  const res = await fetch(`/api/v1/reports/${r.tracking_code}/support`, {
    method: 'POST', headers: csrf({ 'Content-Type': 'application/json' }), body: JSON.stringify({ supporter_id: deviceId() }),
  });
  if (!res.ok) return show(errorBox(explain(await res.json().catch(() => ({})))));
  const after = await res.json();
  show(el('section', {}, el('h1', { text: t('done.heading') }),
    el('p', { id: 'metoo-thanks', text: t('near.thanks', { n: after.supporters }) }),
    el('p', {}, el('a', { href: `/r/${after.tracking_code}`, text: t('done.track') })),
    el('button', { type: 'button', class: 'primary', text: t('done.again'), on: { click: restart } })));
}

// ---- details and sending -------------------------------------------------------

function field(a) {
  const id = `attr-${a.code}`;
  const label = el('label', { for: id }, named(a), a.required ? ` ${t('details.required')}` : '');
  let input;
  if (a.datatype === 'singlevaluelist') {
    input = el('select', { id, name: a.code, required: a.required }, el('option', { value: '', text: t('details.choose') }),
      a.values.map((v) => el('option', { value: v.key, text: named(v) })));
  } else if (a.datatype === 'multivaluelist') {
    return el('fieldset', { class: 'multi', 'data-code': a.code }, el('legend', {}, named(a)),
      a.values.map((v) => el('label', {}, el('input', { type: 'checkbox', name: a.code, value: v.key }), named(v))));
  } else if (a.datatype === 'text') {
    input = el('textarea', { id, name: a.code, required: a.required, rows: 3 });
  } else {
    input = el('input', { id, name: a.code, required: a.required,
      type: a.datatype === 'number' ? 'number' : a.datatype === 'datetime' ? 'datetime-local' : 'text' });
  }
  return el('div', { class: 'field' }, label, input);
}

function detailsStep(problems = []) {
  const cat = state.category;
  const form = el('form', { id: 'details', novalidate: true },
    problems.length ? errorBox(problems) : null,
    el('p', { class: 'chosen', text: named(cat) }),
    (cat.attributes || []).slice().sort((a, b) => a.order - b.order).map(field),
    el('div', { class: 'field' }, el('label', { for: 'description', text: t('details.description') }),
      el('textarea', { id: 'description', name: 'description', rows: 4, maxlength: 4000 })),
    el('fieldset', {}, el('legend', { text: t('details.contact') }),
      el('div', { class: 'field' }, el('label', { for: 'name', text: t('details.name') }), el('input', { id: 'name', name: 'name', autocomplete: 'name' })),
      el('div', { class: 'field' }, el('label', { for: 'phone', text: t('details.phone') }), el('input', { id: 'phone', name: 'phone', type: 'tel', autocomplete: 'tel' })),
      cat.allow_anonymous ? el('label', {}, el('input', { type: 'checkbox', name: 'anonymous', id: 'anonymous' }), t('details.anonymous')) : null),
    el('button', { class: 'primary', type: 'submit', id: 'send', text: t('submit') }),
    el('button', { type: 'button', class: 'link', text: t('back'), on: { click: () => categoryStep() } }));
  form.addEventListener('submit', (e) => { e.preventDefault(); send(form); });
  show(el('section', {}, el('h1', { text: t('details.heading') }), form));
  restoreDraft(form);
}

/** After a refusal the form comes back as the reporter left it. */
function restoreDraft(form) {
  const d = state.draft;
  if (!d || d.category !== state.category.code) return;
  const set = (name, v) => { const f = form.elements.namedItem(name); if (f && v != null && f.type !== 'checkbox') f.value = v; };
  set('description', d.description);
  set('name', d.contact?.name);
  set('phone', d.contact?.phone);
  if (d.anonymous && form.elements.namedItem('anonymous')) form.elements.namedItem('anonymous').checked = true;
  for (const [code, v] of Object.entries(d.attributes || {})) {
    if (Array.isArray(v)) form.querySelectorAll(`input[name="${CSS.escape(code)}"]`).forEach((c) => { c.checked = v.includes(c.value); });
    else set(code, v);
  }
}

function reportFrom(form) {
  const data = new FormData(form);
  const attributes = {};
  for (const a of state.category.attributes || []) {
    const values = data.getAll(a.code).filter((v) => v !== '');
    if (!values.length) continue;
    attributes[a.code] = a.datatype === 'multivaluelist' ? values : a.datatype === 'number' ? Number(values[0]) : values[0];
  }
  const anonymous = data.get('anonymous') === 'on';
  const name = data.get('name')?.trim(), phone = data.get('phone')?.trim();
  return {
    category: state.category.code,
    description: data.get('description')?.trim() || undefined,
    lat: state.location.lat,
    lon: state.location.lon,
    accuracy_m: state.location.accuracy ? Math.min(100000, state.location.accuracy) : undefined,
    attributes,
    anonymous,
    contact: anonymous || (!name && !phone) ? undefined : { name: name || undefined, phone: phone || undefined },
    channel: 'web',
  };
}

async function send(form) {
  const report = reportFrom(form);
  state.draft = report;
  // Saved on the device before any network call; the key makes resending harmless.
  await outbox.save(report, state.photos.map((p) => p.blob), state.key);
  const result = await outbox.flush();
  const mine = result.sent.find((s) => s.key === state.key);
  if (mine) { state.draft = null; return done(mine.code); }
  const refused = result.refused.find((s) => s.key === state.key);
  if (refused) {
    await outbox.discard(state.key);
    state.key = outbox.newKey();
    return detailsStep(explain(refused.problem));
  }
  // Offline or the server busy: it waits, and goes when the network is back.
  try {
    const reg = await navigator.serviceWorker?.ready;
    await reg?.sync?.register('outbox');
  } catch { /* no Background Sync: sent when the app is next open or online */ }
  showQueue();
  show(el('section', { id: 'queued-screen', 'data-key': state.key }, el('h1', { id: 'queued', text: t('queued.heading') }), el('p', { id: 'queued-body', text: t('queued.body') }),
    el('button', { type: 'button', class: 'primary', text: t('done.again'), on: { click: restart } })));
}

/**
 * A queued report has gone: the person sees its code where they are (the waiting
 * screen turns into the sent one; elsewhere a notice with the code), and it is in
 * "my reports on this phone".
 */
function announceSent(sent) {
  for (const { key, code } of sent) {
    const waitingScreen = document.getElementById('queued-screen');
    if (waitingScreen?.dataset.key === key) { done(code); continue; }
    const box = document.getElementById('sent-notes');
    box.hidden = false;
    box.append(el('p', { class: 'ok', 'data-code': code }, t('queued.sent'), ' ', el('strong', { text: code }), ' ',
      el('a', { href: `/r/${code}`, text: t('done.track') })));
  }
}

function done(code) {
  show(el('section', {}, el('h1', { text: t('done.heading') }),
    el('p', {}, t('done.code'), ': ', el('strong', { id: 'tracking-code', class: 'big-code', text: code })),
    el('p', { class: 'hint', text: t('done.kept') }),
    el('p', {}, el('a', { href: `/r/${code}`, text: t('done.track') })),
    el('button', { type: 'button', class: 'primary', text: t('done.again'), on: { click: restart } })));
  showQueue();
}

function restart() {
  state.draft = null;
  state.photos = [];
  state.category = null;
  state.key = outbox.newKey();
  photoStep();
}

async function showQueue() {
  const bar = document.getElementById('queue');
  const items = await outbox.waiting();
  const waiting = items.filter((i) => i.state === 'waiting').length;
  bar.hidden = waiting === 0;
  bar.textContent = waiting ? t('queue.waiting', { n: waiting }) : '';
}

async function sendWaiting() {
  const r = await outbox.flush();
  await showQueue();
  announceSent(r.sent);
  return r;
}

// ---- tracking page --------------------------------------------------------

async function trackPage(code) {
  const [r, ev] = await Promise.all([fetch(`/api/v1/reports/${code}`), fetch(`/api/v1/reports/${code}/events`)]);
  if (!r.ok) return show(el('section', {}, el('h1', { text: t('track.heading') }), errorBox([t('track.missing')])));
  const report = await r.json();
  const events = ev.ok ? (await ev.json()).events : [];
  const key = await outbox.reporterKey(report.tracking_code).catch(() => null);
  const deps = await fetch('/api/v1/departments').then((x) => x.json()).then((x) => x.departments).catch(() => []);
  const dep = deps.find((d) => d.code === report.department);
  const cats = state.categories.length ? state.categories : await loadCategories().catch(() => savedCategories());
  const cat = cats.find((c) => c.code === report.category);
  const open = !['resolved', 'verified', 'closed', 'rejected', 'merged'].includes(report.status);
  const place = (report.place || []).map((p) => (lang === 'en' ? p.name_en || p.name : p.name)).join(' · ');
  show(el('section', {}, el('h1', { text: t('track.heading') }),
    el('p', {}, t('done.code'), ': ', el('strong', { text: report.tracking_code })),
    el('p', { id: 'track-status' }, `${t('track.status')}: `, el('strong', { text: t('status.' + report.status) })),
    el('dl', { class: 'facts', id: 'track-facts' },
      cat ? [el('dt', { text: t('track.category') }), el('dd', { text: named(cat) })] : null,
      dep ? [el('dt', { text: t('track.department') }), el('dd', { id: 'track-department', text: named(dep) })] : null,
      place ? [el('dt', { text: t('track.place') }), el('dd', { id: 'track-place', 'data-data': '', text: place })] : null,
      open && report.due_at ? [el('dt', { text: t('track.due') }), el('dd', { id: 'track-due', text: new Date(report.due_at).toLocaleString(lang) })] : null,
      el('dt', { text: t('track.filed') }), el('dd', { text: new Date(report.created_at).toLocaleString(lang) })),
    report.thumbnails?.length ? el('div', { class: 'thumbs' }, report.thumbnails.map((u, i) => el('a', { href: report.photos[i], target: '_blank', rel: 'noopener', 'aria-label': t('photo.open') }, publicPhoto(u, photoWords())))) : null,
    el('p', { 'data-data': '', text: report.description }),
    el('ol', { class: 'timeline' }, events.map((e) => el('li', {},
      el('time', { datetime: e.at, text: new Date(e.at).toLocaleString(lang) }), ' ',
      e.to_status ? t('status.' + e.to_status) : t('action.' + e.action), e.note ? el('span', { 'data-data': '' }, ` — ${e.note}`) : null))),
    key ? reporterActions(report, key) : null));
}

/** What the person who filed it may do once it is dealt with: confirm, reopen, rate. */
function reporterActions(report, key) {
  if (!['resolved', 'verified', 'closed'].includes(report.status)) return null;
  const out = el('div', { class: 'reporter-actions', id: 'reporter-actions' });
  const act = async (body) => {
    const res = await fetch(`/api/v1/reports/${report.tracking_code}/reporter`, {
      method: 'POST', headers: csrf({ 'Content-Type': 'application/json' }), body: JSON.stringify({ reporter_key: key, ...body }),
    });
    if (!res.ok) return out.prepend(errorBox(explain(await res.json().catch(() => ({})))));
    trackPage(report.tracking_code).then(() => document.getElementById('track-status')
      ?.after(el('p', { class: 'ok', role: 'status', id: 'track-thanks', text: t('track.thanks') })));
  };
  const reason = el('textarea', { id: 'reopen-reason', rows: 2, 'aria-label': t('track.reason'), placeholder: t('track.reason') });
  if (report.status !== 'closed') {
    out.append(el('button', { type: 'button', class: 'primary', id: 'confirm-fix', text: t('track.confirm'), on: { click: () => act({ action: 'confirm' }) } }));
  }
  out.append(reason, el('button', { type: 'button', class: 'secondary', id: 'reopen', text: t('track.reopen'),
    on: { click: () => (reason.value.trim() ? act({ action: 'reopen', reason: reason.value.trim() }) : out.prepend(errorBox([t('err.reason')]))) } }));
  let score = 0;
  const stars = el('div', { class: 'stars', role: 'radiogroup', 'aria-label': t('track.rate') },
    [1, 2, 3, 4, 5].map((n) => el('button', { type: 'button', role: 'radio', 'aria-checked': 'false', 'data-score': n,
      'aria-label': t('track.stars', { n }), text: '★',
      on: { click: (e) => { score = n; stars.querySelectorAll('button').forEach((b) => {
        const on = Number(b.dataset.score) <= n; b.classList.toggle('on', on); b.setAttribute('aria-checked', String(Number(b.dataset.score) === n));
      }); e.currentTarget.focus(); } } })));
  const comment = el('textarea', { id: 'rating-comment', rows: 2, 'aria-label': t('track.comment'), placeholder: t('track.comment') });
  out.append(el('h2', { text: t('track.rate') }), stars, comment,
    el('button', { type: 'button', class: 'primary', id: 'send-rating', text: t('track.send_rating'),
      on: { click: () => act({ action: 'rate', score, comment: comment.value.trim() || undefined }) } }));
  return out;
}

// ---- start ----------------------------------------------------------------

// Larger text for older eyes, remembered on this phone.
const largeText = () => localStorage.getItem('large-text') === '1';
function setLargeText(on) {
  localStorage.setItem('large-text', on ? '1' : '0');
  document.documentElement.classList.toggle('large-text', on);
}
document.documentElement.classList.toggle('large-text', largeText());

function drawChrome() {
  document.documentElement.lang = lang;
  document.querySelector('[data-t="app.title"]').textContent = t('app.title');
  document.getElementById('lang').textContent = t('lang.other');
  document.getElementById('map-link').textContent = t('map.link');
  document.getElementById('me-link').textContent = t('me.link');
}

function route() {
  drawChrome();
  const m = location.pathname.match(/^\/r\/([^/]+)$/);
  if (m) return trackPage(decodeURIComponent(m[1]));
  if (location.pathname === '/me') return import('./account.js').then((m) => m.mePage());
  photoStep();
}

document.getElementById('lang').addEventListener('click', () => {
  setLang(lang === 'en' ? 'zh-CN' : 'en');
  route();
});
window.addEventListener('online', sendWaiting);
navigator.serviceWorker?.addEventListener('message', (e) => { if (e.data?.outbox) { showQueue(); announceSent(e.data.outbox.sent || []); } });
if ('serviceWorker' in navigator) navigator.serviceWorker.register('/sw.js', { type: 'module', scope: '/' }).catch(() => {});
route();
sendWaiting();
