// The result card: the picture being classified, the top-k chart (chart-view.js), the "Not sure"
// note, the answer's model and timing, and the k selector.

import { clearChart, renderChart } from './chart-view.js';
import { byId } from './dom.js';
import { lowConfidenceMessage } from './format.js';

/** @param {Document} doc  @param {{showCrop: Function}} crop  the crop square over the preview */
export function createResultView(doc, crop) {
  const el = {
    resultSection: byId(doc, 'result-section'),
    preview: byId(doc, 'preview'),
    previewPlaceholder: byId(doc, 'preview-placeholder'),
    previewCaption: byId(doc, 'preview-caption'),
    results: byId(doc, 'results'),
    resultsEmpty: byId(doc, 'results-empty'),
    lowConfidence: byId(doc, 'low-confidence'),
    resultMeta: byId(doc, 'result-meta'),
    topK: byId(doc, 'top-k'),
  };

  // CIFAR-10 images are 32×32: scale tiny images with crisp pixels instead of blur.
  el.preview.addEventListener('load', () => {
    el.preview.classList.toggle('is-pixelated', el.preview.naturalWidth > 0 && el.preview.naturalWidth <= 64);
    el.previewPlaceholder.hidden = true;
  });
  // A file the browser cannot decode (the server may still accept it) should not leave a
  // broken-image icon behind.
  el.preview.addEventListener('error', () => {
    if (!el.preview.getAttribute('src')) return;
    el.preview.hidden = true;
    el.previewPlaceholder.textContent = 'This browser cannot show this file (an iPhone HEIC photo, say); the model reads it all the same.';
    el.previewPlaceholder.hidden = false;
  });

  function showPreview(url, name) {
    el.previewPlaceholder.hidden = true;
    el.preview.hidden = false;
    el.preview.alt = name ? `Image being classified: ${name}` : 'Image being classified';
    if (el.preview.getAttribute('src') !== url) el.preview.src = url;
    el.previewCaption.textContent = name ?? '';
  }

  return {
    showPreview,

    clearPreview() {
      crop.showCrop(null, { enabled: false });
      el.preview.hidden = true;
      el.preview.removeAttribute('src');
      el.preview.alt = '';
      el.previewCaption.textContent = '';
      el.previewPlaceholder.textContent = 'No image yet';
      el.previewPlaceholder.hidden = false;
    },

    /**
     * An answer ({name, url, upload, predictions, notSure, modelVersion, elapsedMs, explanation}):
     * its picture and its k most probable classes. `classCount` (the model's) words the note.
     */
    showPrediction(entry, k, classCount) {
      showPreview(entry.url, entry.name);
      // Class names are buttons that ask why, once there is a picture to explain (and it stays).
      const live = el.resultSection.classList.contains('is-live');
      renderChart(el.results, entry.predictions, k, {
        pickable: Boolean(entry.upload) && !live,
        explained: entry.explanation?.label ?? null,
      });
      el.resultsEmpty.hidden = true;
      el.lowConfidence.textContent = lowConfidenceMessage(classCount);
      // The server says whether the model is sure (not_sure: below the model's own threshold).
      // In live mode the note keeps its space while invisible, so the chart does not jump.
      const notSure = entry.notSure === true;
      el.lowConfidence.hidden = !notSure && !live;
      el.lowConfidence.classList.toggle('is-invisible', live && !notSure);
      const meta = [];
      if (entry.modelVersion) meta.push(`Model ${entry.modelVersion}`);
      if (Number.isFinite(entry.elapsedMs)) meta.push(`${entry.elapsedMs.toFixed(1)} ms on the server`);
      el.resultMeta.textContent = meta.join(' · ');
    },

    clearResult(message = 'No result yet.') {
      clearChart(el.results);
      el.resultsEmpty.textContent = message;
      el.resultsEmpty.hidden = false;
      el.lowConfidence.hidden = true;
      el.resultMeta.textContent = '';
    },

    /** Offer k = min…max (/api/model's limits.top_k) and select `k`. */
    setTopKChoices({ min, max }, k) {
      el.topK.replaceChildren(
        ...Array.from({ length: max - min + 1 }, (_, index) => {
          const option = doc.createElement('option');
          option.value = option.textContent = String(min + index);
          return option;
        }),
      );
      el.topK.value = String(k);
    },

    /**
     * Live mode on or off: the chart is redrawn in place several times a second, so the "Not
     * sure" note keeps its space (no jumps) and the preview shows the frame each answer is for.
     */
    setLive(on) {
      el.resultSection.classList.toggle('is-live', on);
      if (!on && el.lowConfidence.classList.contains('is-invisible')) {
        el.lowConfidence.classList.remove('is-invisible');
        el.lowConfidence.hidden = true;
      }
    },

    bindTopK(handler) {
      el.topK.addEventListener('change', () => handler(el.topK.value));
    },

    /** A class name picked in the chart: ``handler(label)``. */
    bindExplainClass(handler) {
      el.results.addEventListener('click', (event) => {
        const button = event.target.closest('[data-pick]');
        if (button) handler(button.dataset.pick);
      });
    },
  };
}
