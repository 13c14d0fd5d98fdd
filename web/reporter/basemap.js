// The base map every map draws on: the city's configured MapLibre style or XYZ
// raster tiles (GET /api/v1/map), else a plain background that needs no internet.
// The jurisdictions' outlines go on top either way.

const OFFLINE = { version: 8, sources: {}, layers: [{ id: 'bg', type: 'background', paint: { 'background-color': '#eef1ea' } }] };

export async function baseStyle() {
  try {
    const { base_map: b } = await (await fetch('/api/v1/map')).json();
    if (b?.style_url) return b.style_url;
    if (b?.tiles) {
      return {
        version: 8,
        sources: { base: { type: 'raster', tiles: [b.tiles], tileSize: 256, attribution: b.attribution || '' } },
        layers: [{ id: 'bg', type: 'background', paint: { 'background-color': '#eef1ea' } }, { id: 'base', type: 'raster', source: 'base' }],
      };
    }
  } catch { /* offline: the default */ }
  return OFFLINE;
}

/** Draws the jurisdictions at `level` over the base map, if the server has them. */
export async function addOutlines(map, level = 'district') {
  try {
    const res = await fetch(`/api/v1/jurisdictions/outlines?level=${level}`);
    if (!res.ok) return;
    map.addSource('areas', { type: 'geojson', data: await res.json() });
    map.addLayer({ id: 'areas', type: 'line', source: 'areas', paint: { 'line-color': '#7a8a70', 'line-width': 1.5 } });
  } catch { /* offline: the base alone */ }
}
