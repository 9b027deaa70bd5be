// The occlusion map of /api/explain in words and colours: how strongly each spot is painted over
// the picture, and a sentence for those who cannot see it. Pure functions, tested in Node;
// explain-view.js paints them.

/**
 * Overlay colour for one occlusion value (how much covering that spot lowered the class's
 * probability), scaled by the map's largest magnitude: red where the spot mattered, blue where
 * covering it helped, transparent where it made no difference. Returns [r, g, b, a] (0-255).
 */
export function overlayColour(value, maxMagnitude) {
  if (!Number.isFinite(value) || !(maxMagnitude > 0)) return [0, 0, 0, 0];
  const strength = Math.min(1, Math.abs(value) / maxMagnitude);
  const alpha = Math.round(200 * strength);
  return value >= 0 ? [220, 38, 38, alpha] : [37, 99, 235, alpha];
}

/** Text alternative for an occlusion map: where in the picture the decisive parts are. */
export function describeHeatmap(heatmap, label) {
  const rows = Array.isArray(heatmap) ? heatmap.length : 0;
  const cols = rows ? heatmap[0].length : 0;
  if (!rows || !cols) return '';
  const names = [['top left', 'top', 'top right'], ['left', 'centre', 'right'], ['bottom left', 'bottom', 'bottom right']];
  const sums = names.map((line) => line.map(() => 0));
  heatmap.forEach((row, r) => row.forEach((value, c) => {
    sums[Math.min(2, Math.floor((3 * r) / rows))][Math.min(2, Math.floor((3 * c) / cols))] += Math.max(0, value);
  }));
  const ranked = names.flat().map((name, i) => [name, sums[Math.floor(i / 3)][i % 3]])
    .sort((a, b) => b[1] - a[1]);
  if (!(ranked[0][1] > 0)) return `No single part of the picture decided “${label}”.`;
  const top = ranked.filter(([, sum]) => sum >= 0.5 * ranked[0][1]).slice(0, 2).map(([name]) => name);
  return `Red marks what mattered most for “${label}”: mostly the ${top.join(' and ')} of the picture.`;
}
