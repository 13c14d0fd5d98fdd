// The sentinel account pages (/me): loaded only when opened, so the report flow's
// first screen does not wait for them.
import { t } from './i18n.js';
import { csrf } from './csrf.js';
import { el, show, explain, errorBox } from './app.js';


const GROUPS = ['delivery_rider', 'courier', 'ride_hailing_driver', 'retiree', 'grid_worker'];

function contactBody(value) {
  const v = value.trim();
  return v.includes('@') ? { email: v } : { phone: v };
}

async function postJson(path, body, method = 'POST') {
  const res = await fetch(path, { method, headers: csrf({ 'Content-Type': 'application/json' }), body: body ? JSON.stringify(body) : undefined });
  let json = null;
  try { json = await res.json(); } catch { /* empty */ }
  return { status: res.status, json };
}

export async function mePage() {
  const res = await fetch('/api/v1/sentinels/me');
  if (res.status === 401) return signInPage();
  const me = await res.json();
  const s = me.standing;
  const mine = new Map(me.groups.map((g) => [g.group, g.status]));
  show(el('section', { id: 'me' },
    el('h1', { text: t('me.heading') }),
    el('p', {}, el('strong', { id: 'me-name', text: me.display_name })),
    el('h2', { text: t('me.standing') }),
    el('ul', { class: 'standing' },
      el('li', { id: 'me-filed', text: t('me.filed', { n: s.reports_filed }) }),
      s.share_valid == null ? null : el('li', { text: t('me.valid', { p: `${Math.round(s.share_valid * 100)}%` }) }),
      el('li', { text: t('me.supporters', { n: s.supporters_gathered }) })),
    el('h2', { text: t('me.groups') }),
    el('ul', { class: 'groups' }, GROUPS.map((g) => el('li', { 'data-group': g }, t('group.' + g), ' ',
      mine.has(g) ? el('span', { class: 'hint', text: `(${t('gstatus.' + mine.get(g))})` })
        : el('button', { type: 'button', class: 'secondary join', 'data-group': g, text: t('me.join'),
          on: { click: async () => { await postJson('/api/v1/sentinels/me/groups', { group: g }); mePage(); } } })))),
    el('h2', { text: t('me.my_reports') }),
    me.reports.length ? el('ul', { class: 'mine' }, me.reports.map((r) => el('li', {},
      el('a', { href: `/r/${r.tracking_code}`, text: r.tracking_code }), ` · ${t('status.' + r.status)} · ${r.description}`)))
      : el('p', { class: 'hint', text: t('me.none') }),
    el('button', { type: 'button', class: 'link', id: 'signout', text: t('me.signout'),
      on: { click: async () => { await postJson('/api/v1/sentinels/session', null, 'DELETE'); mePage(); } } })));
}

function signInPage(problems = []) {
  const who = el('input', { id: 'me-who', autocomplete: 'username', 'aria-label': t('me.phone_or_email') });
  const pass = el('input', { id: 'me-password', type: 'password', autocomplete: 'current-password', 'aria-label': t('me.password') });
  const name = el('input', { id: 'me-display', autocomplete: 'nickname', 'aria-label': t('me.name') });
  const errs = el('div', {}, problems.length ? errorBox(problems) : null);
  const fail = (lines) => errs.replaceChildren(errorBox(lines));
  show(el('section', {},
    el('h1', { text: t('me.heading') }), errs,
    el('div', { class: 'field' }, el('label', { for: 'me-who', text: t('me.phone_or_email') }), who),
    el('div', { class: 'field' }, el('label', { for: 'me-password', text: t('me.password') }), pass),
    el('button', { type: 'button', class: 'primary', id: 'me-signin', text: t('me.signin'), on: { click: async () => {
      const r = await postJson('/api/v1/sentinels/session', { ...contactBody(who.value), password: pass.value });
      if (r.status === 200) return mePage();
      fail(r.status === 401 ? [t('err.signin')] : explain(r.json));
    } } }),
    el('div', { class: 'field' }, el('label', { for: 'me-display', text: t('me.name') }), name),
    el('button', { type: 'button', class: 'secondary', id: 'me-signup', text: t('me.signup'), on: { click: async () => {
      const r = await postJson('/api/v1/sentinels', { ...contactBody(who.value), password: pass.value, display_name: name.value.trim() || undefined });
      if (r.status === 202) return codePage(who.value, r.json.code_sent_to, pass.value);
      fail(r.status === 409 ? [t('err.taken')] : explain(r.json));
    } } })));
}

// The password goes with the code: whoever proves the phone or e-mail chooses it.
function codePage(who, maskedTo, password) {
  const code = el('input', { id: 'me-code', inputmode: 'numeric', autocomplete: 'one-time-code', maxlength: 6, 'aria-label': t('me.code') });
  const errs = el('div');
  show(el('section', {}, el('h1', { text: t('me.heading') }), errs,
    el('p', { id: 'code-sent', text: t('me.code_sent', { to: maskedTo }) }), code,
    el('button', { type: 'button', class: 'primary', id: 'me-verify', text: t('me.verify'), on: { click: async () => {
      const r = await postJson('/api/v1/sentinels/verify', { ...contactBody(who), code: code.value.trim(), password });
      if (r.status === 200) return mePage();
      errs.replaceChildren(errorBox([t('err.code')]));
    } } })));
}

