// What belongs to the whole page: the status line (read to screen readers), the error alert, the
// busy state (the loading overlay and the controls that wait), and which entry is the one shown.

import { byId } from './dom.js';
import { describeError } from './messages.js';

// Controls that would start another request while one runs.
const BUSY_CONTROL_IDS = ['choose-button', 'capture-button', 'camera-snap', 'camera-retake', 'camera-switch'];

export function createPageView(doc) {
  const win = doc.defaultView;
  const el = {
    status: byId(doc, 'status'),
    error: byId(doc, 'error'),
    errorTitle: byId(doc, 'error-title'),
    errorDetail: byId(doc, 'error-detail'),
    errorDismiss: byId(doc, 'error-dismiss'),
    loading: byId(doc, 'loading'),
    resultSection: byId(doc, 'result-section'),
    dropzone: byId(doc, 'dropzone'),
    busyControls: BUSY_CONTROL_IDS.map((id) => byId(doc, id)),
  };

  /** Show an error (anything describeError understands) or hide it with `null`. */
  function showError(error) {
    const { title, detail } = error ? describeError(error) : { title: '', detail: '' };
    el.errorTitle.textContent = title;
    el.errorDetail.textContent = detail;
    el.errorDetail.hidden = !detail;
    el.error.hidden = !error;
  }
  el.errorDismiss.addEventListener('click', () => showError(null));

  return {
    showError,

    setStatus(text) {
      el.status.textContent = text;
    },

    setBusy(busy, text = 'Classifying…') {
      el.loading.hidden = !busy;
      el.loading.querySelector('.loading-text').textContent = text;
      el.resultSection.setAttribute('aria-busy', String(busy));
      el.dropzone.setAttribute('aria-disabled', String(busy));
      el.dropzone.classList.toggle('is-busy', busy);
      for (const control of el.busyControls) control.disabled = busy;
    },

    /** Mark the history item and batch card of the entry shown (aria-current). */
    markActive(activeId) {
      for (const node of doc.querySelectorAll('[data-entry-id]')) {
        if (node.dataset.entryId === String(activeId)) node.setAttribute('aria-current', 'true');
        else node.removeAttribute('aria-current');
      }
    },

    // On phones the result card sits below the inputs; bring it into view so the user sees the
    // spinner and then the answer without hunting for it.
    revealResult() {
      const section = el.resultSection;
      const singleColumn = win.matchMedia?.('(max-width: 899px)').matches;
      if (!singleColumn || typeof section.scrollIntoView !== 'function') return;
      const { top } = section.getBoundingClientRect();
      if (top >= 0 && top <= win.innerHeight * 0.6) return; // already comfortably visible
      const reduceMotion = win.matchMedia?.('(prefers-reduced-motion: reduce)').matches;
      section.scrollIntoView({ behavior: reduceMotion ? 'auto' : 'smooth', block: 'start' });
    },
  };
}
