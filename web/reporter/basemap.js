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

/**
 * The map's own controls in the reader's language (MapLibre's built-in words are
 * English): pass as the map's `locale`.
 */
export function mapLocale(lang) {
  if (lang === 'en') return undefined;
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
