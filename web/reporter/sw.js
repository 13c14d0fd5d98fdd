// The service worker: keeps the app's files for opening without a network, and
// sends the outbox when the browser says the network is back (Background Sync).
import { flush } from '/assets/outbox.js';

const CACHE = 'sentinel-reporter-v4';
const SHELL = ['/', '/assets/app.js', '/assets/i18n.js', '/assets/outbox.js', '/assets/basemap.js', '/assets/account.js', '/assets/photo.js', '/assets/csrf.js', '/assets/style.css',
  '/assets/icon.svg', '/manifest.webmanifest', '/vendor/exifr/mini.esm.mjs', '/api/v1/categories'];
// The one API answer the app needs before it can file anything: kept for a first
// report made offline, refreshed whenever the network answers.
const API_KEPT = ['/api/v1/categories'];

self.addEventListener('install', (e) => {
  e.waitUntil(caches.open(CACHE).then((c) => c.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener('activate', (e) => {
  e.waitUntil(caches.keys()
    .then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k))))
    .then(() => self.clients.claim()));
});

self.addEventListener('fetch', (e) => {
  const url = new URL(e.request.url);
  if (e.request.method !== 'GET' || url.origin !== location.origin) return;
  if (url.pathname.startsWith('/api/') && !API_KEPT.includes(url.pathname)) return;
  // Network first, so a new version shows at once; the cache when offline.
  e.respondWith(fetch(e.request)
    .then((res) => {
      if (res.ok && (SHELL.includes(url.pathname) || url.pathname.startsWith('/vendor/'))) {
        const copy = res.clone();
        caches.open(CACHE).then((c) => c.put(e.request, copy));
      }
      return res;
    })
    .catch(async () => (await caches.match(e.request)) ?? (await caches.match('/'))));
});

self.addEventListener('sync', (e) => {
  if (e.tag === 'outbox') {
    e.waitUntil(flush().then(async (r) => {
      for (const c of await self.clients.matchAll()) c.postMessage({ outbox: r });
      if (r.offline) throw new Error('still offline');
    }));
  }
});
