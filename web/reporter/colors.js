// One colour per category, the same on every map: a fixed palette in the order of
// the configured categories (distinct hues, readable on the light base map).
const PALETTE = ['#c0392b', '#2471a3', '#b7950b', '#1e8449', '#7d3c98', '#d35400', '#117a65',
  '#a93226', '#2e86c1', '#884ea0', '#239b56', '#ca6f1e', '#5d6d7e', '#cb4335', '#1abc9c',
  '#8e44ad', '#f39c12', '#34495e', '#e74c3c', '#16a085'];

export function colours(categories) {
  const out = {};
  categories.forEach((c, i) => { out[c.code] = PALETTE[i % PALETTE.length]; });
  return out;
}
