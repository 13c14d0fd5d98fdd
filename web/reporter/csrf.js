// The CSRF token: the server sets the sentinel_csrf cookie for a signed-in browser
// and refuses a write made with the session cookie unless this header carries it.
// Pages read it from document.cookie; the service worker (no document) from the
// Cookie Store API.

const NAME = 'sentinel_csrf';

function fromDocument() {
  const m = globalThis.document?.cookie.match(/(?:^|;\s*)sentinel_csrf=([^;]+)/);
  return m ? m[1] : '';
}

/** Headers for a write, with the token added. */
export function csrf(headers = {}) {
  return { ...headers, 'X-CSRF-Token': fromDocument() };
}

/** The same, where there may be no document (the service worker). */
export async function csrfAnywhere(headers = {}) {
  if (globalThis.document) return csrf(headers);
  let token = '';
  try { token = (await globalThis.cookieStore?.get(NAME))?.value ?? ''; } catch { /* no Cookie Store */ }
  return { ...headers, 'X-CSRF-Token': token };
}
