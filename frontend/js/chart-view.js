// Renders the top-k horizontal bar chart. Each row carries its label and
// percentage as real text, so the chart reads correctly without colour or sight;
// the coloured bar is decoration (aria-hidden).

import { formatPercent, formatProbabilityAttr, topK } from './format.js';

/**
 * Replace the contents of `container` with one row per prediction (top k,
 * sorted descending). Rows are `data-testid="bar"` with `data-label` and
 * `data-probability` for tests and tooling.
 * @param {HTMLElement} container
 * @param {{label: string, probability: number}[]} predictions full list (any order)
 * @param {number|null} k how many rows to show (null: all)
 * @param {{pickable?: boolean, explained?: string|null}} [options] pickable: each class name is a
 *   button (`data-pick`) that asks why; `explained` is the class whose map is shown (aria-pressed)
 */
export function renderChart(container, predictions, k, { pickable = false, explained = null } = {}) {
  const doc = container.ownerDocument;
  const rows = topK(predictions, k);
  const list = doc.createElement('ol');
  list.className = 'chart-list';
  list.setAttribute('aria-label', `Top ${rows.length} ${rows.length === 1 ? 'prediction' : 'predictions'}`);

  rows.forEach((prediction, index) => {
    const isTop = index === 0;
    const percent = formatPercent(prediction.probability);

    const row = doc.createElement('li');
    row.className = isTop ? 'bar is-top' : 'bar';
    row.dataset.testid = 'bar';
    row.dataset.label = prediction.label;
    row.dataset.probability = formatProbabilityAttr(prediction.probability);

    const label = doc.createElement(pickable ? 'button' : 'span');
    label.className = pickable ? 'bar-label bar-pick' : 'bar-label';
    if (pickable) {
      label.type = 'button';
      label.dataset.pick = prediction.label;
      label.setAttribute('aria-pressed', String(prediction.label === explained));
      label.title = `Show which parts of the picture speak for “${prediction.label}”`;
    }
    if (isTop) {
      // A visible marker plus bold weight, so the winner is not signalled by colour alone.
      const marker = doc.createElement('span');
      marker.className = 'bar-marker';
      marker.setAttribute('aria-hidden', 'true');
      marker.textContent = '★';
      label.append(marker);
    }
    label.append(doc.createTextNode(prediction.label));
    if (isTop) {
      const hint = doc.createElement('span');
      hint.className = 'visually-hidden';
      hint.textContent = ' (top prediction)';
      label.append(hint);
    }
    if (pickable) {
      const why = doc.createElement('span');
      why.className = 'visually-hidden';
      why.textContent = ': show why';
      label.append(why);
    }

    const track = doc.createElement('span');
    track.className = 'bar-track';
    track.setAttribute('aria-hidden', 'true');
    const fill = doc.createElement('span');
    fill.className = 'bar-fill';
    // CSSOM property assignment is allowed by the CSP (inline style attributes are not).
    fill.style.width = `${Math.min(100, Math.max(0, prediction.probability * 100))}%`;
    track.append(fill);

    const value = doc.createElement('span');
    value.className = 'bar-value';
    value.textContent = percent;

    row.append(label, track, value);
    list.append(row);
  });

  // Re-rendering must not throw keyboard focus away from the class the user just picked.
  const active = doc.activeElement;
  const focusedPick = container.contains(active) ? active.dataset?.pick : undefined;
  container.replaceChildren(list);
  if (focusedPick !== undefined) {
    [...list.querySelectorAll('[data-pick]')].find((node) => node.dataset.pick === focusedPick)?.focus();
  }
  return rows;
}

/** Empty the chart (no bars), e.g. after a failed request. */
export function clearChart(container) {
  container.replaceChildren();
}
