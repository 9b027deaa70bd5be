// "What the model saw": the 32 × 32 picture /api/explain sends back, its occlusion map (red: that
// part spoke for the class, blue: against it) both there and over the crop square on the
// preview, the "Show why" switch, and the map in words (heatmap.js).

import { byId } from './dom.js';
import { describeHeatmap, overlayColour } from './heatmap.js';

/** @param {Document} doc  @param {{isAdjusting(): boolean, settleCrop(): void}} crop  the crop square */
export function createExplainView(doc, crop) {
  const el = {
    seen: byId(doc, 'seen'),
    image: byId(doc, 'seen-image'),
    overlay: byId(doc, 'seen-overlay'),
    why: byId(doc, 'seen-why'),
    legend: byId(doc, 'seen-legend'),
    previewOverlay: byId(doc, 'preview-overlay'),
  };

  /** Paint an occlusion map into a canvas of its size. */
  function paintHeatmap(canvas, heatmap) {
    const rows = heatmap.length;
    const cols = heatmap[0]?.length ?? 0;
    canvas.width = cols;
    canvas.height = rows;
    const context = canvas.getContext('2d');
    if (!context || !rows || !cols) return;
    const pixels = context.createImageData(cols, rows);
    const max = Math.max(...heatmap.flat().map(Math.abs));
    heatmap.forEach((row, r) => row.forEach((value, c) => {
      pixels.data.set(overlayColour(value, max), 4 * (r * cols + c));
    }));
    context.putImageData(pixels, 0, 0);
  }

  // The map over the preview belongs to the square it was made for: hidden while that moves.
  function showOverlays() {
    const show = el.why.checked && !el.seen.hidden;
    el.overlay.hidden = !show;
    el.previewOverlay.hidden = !show || crop.isAdjusting();
  }
  el.why.addEventListener('change', showOverlays);

  return {
    /** An explanation ({input_png, heatmap, label}), or null to hide it. */
    renderExplanation(explanation) {
      if (!explanation) {
        el.seen.hidden = true;
        showOverlays();
        return;
      }
      el.image.src = explanation.input_png;
      const { heatmap, label } = explanation;
      paintHeatmap(el.overlay, heatmap);
      paintHeatmap(el.previewOverlay, heatmap);
      el.legend.textContent = describeHeatmap(heatmap, label) +
        ' Blue: covering that part made the answer more likely.';
      el.seen.hidden = false;
      crop.settleCrop();
      showOverlays();
    },
  };
}
