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

/** MapLibre's own English words, so a map made in Chinese can switch back. */
const ENGLISH = {
  'AttributionControl.ToggleAttribution': 'Toggle attribution',
  'AttributionControl.MapFeedback': 'Map feedback',
  'FullscreenControl.Enter': 'Enter fullscreen',
  'FullscreenControl.Exit': 'Exit fullscreen',
  'GeolocateControl.FindMyLocation': 'Find my location',
  'GeolocateControl.LocationNotAvailable': 'Location not available',
  'LogoControl.Title': 'MapLibre logo',
  'Map.Title': 'Map',
  'Marker.Title': 'Map marker',
  'NavigationControl.ResetBearing': 'Drag to rotate map, click to reset north',
  'NavigationControl.ZoomIn': 'Zoom in',
  'NavigationControl.ZoomOut': 'Zoom out',
  'Popup.Close': 'Close popup',
  'ScaleControl.Feet': 'ft',
  'ScaleControl.Meters': 'm',
  'ScaleControl.Kilometers': 'km',
  'ScaleControl.Miles': 'mi',
  'ScaleControl.NauticalMiles': 'nm',
  'GlobeControl.Enable': 'Enable globe',
  'GlobeControl.Disable': 'Disable globe',
  'TerrainControl.Enable': 'Enable terrain',
  'TerrainControl.Disable': 'Disable terrain',
  'CooperativeGesturesHandler.WindowsHelpText': 'Use Ctrl + scroll to zoom the map',
  'CooperativeGesturesHandler.MacHelpText': 'Use ⌘ + scroll to zoom the map',
  'CooperativeGesturesHandler.MobileHelpText': 'Use two fingers to move the map',
};

/**
 * A map made in one language, its controls' words switched to another without
 * making it again. MapLibre keeps the words on the map (read whenever a control
 * draws) and sets buttons' titles once, so both are brought up to date here.
 */
export function setMapLanguage(map, lang) {
  const words = mapLocale(lang);
  if (map._locale) Object.assign(map._locale, words);
  const container = map.getContainer();
  for (const [selector, key] of [['.maplibregl-ctrl-zoom-in', 'NavigationControl.ZoomIn'], ['.maplibregl-ctrl-zoom-out', 'NavigationControl.ZoomOut'],
    ['.maplibregl-ctrl-compass', 'NavigationControl.ResetBearing'], ['.maplibregl-ctrl-attrib-button', 'AttributionControl.ToggleAttribution']]) {
    for (const b of container.querySelectorAll(selector)) { b.title = words[key]; b.setAttribute('aria-label', words[key]); }
  }
  map.getCanvas().setAttribute('aria-label', words['Map.Title']);
  map.fire('move'); // the scale bar writes its unit on move
}

/**
 * The map's own controls in the reader's language (MapLibre's built-in words are
 * English): pass as the map's `locale`.
 */
export function mapLocale(lang) {
  if (lang === 'en') return ENGLISH;
  return {
    'AttributionControl.ToggleAttribution': '显示或隐藏版权信息',
    'AttributionControl.MapFeedback': '地图反馈',
    'FullscreenControl.Enter': '全屏',
    'FullscreenControl.Exit': '退出全屏',
    'GeolocateControl.FindMyLocation': '我的位置',
    'GeolocateControl.LocationNotAvailable': '无法定位',
    'LogoControl.Title': 'MapLibre 标志',
    'Map.Title': '地图',
    'Marker.Title': '地图标记',
    'NavigationControl.ResetBearing': '恢复正北',
    'NavigationControl.ZoomIn': '放大',
    'NavigationControl.ZoomOut': '缩小',
    'Popup.Close': '关闭',
    'ScaleControl.Feet': '英尺',
    'ScaleControl.Meters': '米',
    'ScaleControl.Kilometers': '公里',
    'ScaleControl.Miles': '英里',
    'ScaleControl.NauticalMiles': '海里',
    'GlobeControl.Enable': '球面显示',
    'GlobeControl.Disable': '平面显示',
    'TerrainControl.Enable': '显示地形',
    'TerrainControl.Disable': '隐藏地形',
    'CooperativeGesturesHandler.WindowsHelpText': '按住 Ctrl 键并滚动以缩放地图',
    'CooperativeGesturesHandler.MacHelpText': '按住 ⌘ 键并滚动以缩放地图',
    'CooperativeGesturesHandler.MobileHelpText': '用两根手指移动地图',
  };
}
