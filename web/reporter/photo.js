// A public photo that may not be ready yet. Its public copy (faces and licence
// plates blurred) is made in the background after the report is stored; until then
// the server answers 503 and the tile says so, then tries again. A photo staff hid
// answers 404 and the tile says it was removed.

/**
 * @param {string} src the public photo or thumbnail link
 * @param {{processing: string, removed: string, alt?: string}} words
 * @returns {HTMLElement}
 */
export function publicPhoto(src, { processing, removed, alt = '' }) {
  const wrap = document.createElement('span');
  wrap.className = 'photo-tile';
  const img = document.createElement('img');
  img.alt = alt;
  const note = document.createElement('span');
  note.className = 'photo-note';
  note.hidden = true;
  wrap.append(img, note);
  let tries = 0;
  img.addEventListener('load', () => {
    img.hidden = false;
    note.hidden = true;
    wrap.classList.remove('pending');
  });
  img.addEventListener('error', async () => {
    let status = 0;
    try {
      status = (await fetch(src, { cache: 'no-store' })).status;
    } catch {
      status = 0;
    }
    img.hidden = true;
    note.hidden = false;
    if (status === 404) {
      note.textContent = removed;
      wrap.classList.add('gone');
      return;
    }
    note.textContent = processing;
    wrap.classList.add('pending');
    if (tries++ < 60) {
      setTimeout(() => { img.src = `${src}${src.includes('?') ? '&' : '?'}try=${tries}`; }, 3000);
    }
  });
  img.src = src;
  return wrap;
}
