// A patrol point's QR code opens this page: the unit signs in (once) and the
// visit is recorded with the point's secret from the address.
import { t, lang } from './i18n.js';
import { csrf } from '/assets/csrf.js';

const token = location.pathname.split('/').pop();
const $ = (id) => document.getElementById(id);

function translate() {
  document.documentElement.lang = lang;
  for (const n of document.querySelectorAll('[data-t]')) n.textContent = t(n.dataset.t);
}

async function checkIn() {
  $('error').textContent = '';
  const res = await fetch(`/api/v1/patrol/qr/${encodeURIComponent(token)}`, { method: 'POST', headers: csrf() });
  if (res.status === 401) {
    $('signin').hidden = false;
    return;
  }
  const body = await res.json().catch(() => ({}));
  if (!res.ok) {
    $('error').textContent = body.detail || res.statusText;
    return;
  }
  $('signin').hidden = true;
  const at = new Date(body.at).toLocaleTimeString(lang === 'en' ? 'en-GB' : 'zh-CN', { hour: '2-digit', minute: '2-digit' });
  $('result').textContent = t('patrol.done', { name: body.point_name, at });
  $('result').dataset.visit = String(body.id);
}

$('signin').addEventListener('submit', async (e) => {
  e.preventDefault();
  const res = await fetch('/api/v1/session', {
    method: 'POST',
    headers: csrf({ 'Content-Type': 'application/json' }),
    body: JSON.stringify({ name: $('si-name').value, password: $('si-password').value }),
  });
  if (!res.ok) {
    $('error').textContent = t('signin.failed');
    return;
  }
  await checkIn();
});
translate();
checkIn();
