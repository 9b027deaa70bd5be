// Small DOM pieces the views share: looking elements up, and the parts of a history item or batch
// card (thumbnail, top class, file name). Content is built with textContent/createElement, never
// innerHTML, because file names and server messages are untrusted text.

import { formatPercent, topK } from './format.js';

/** The element with this id; a missing one is a mistake in index.html, said at once. */
export function byId(doc, id) {
  const element = doc.getElementById(id);
  if (!element) throw new Error(`Missing element #${id} in index.html`);
  return element;
}

/** A picture's thumbnail; undecodable files keep a neutral tile rather than a broken-image icon. */
export function thumbnail(doc, url) {
  const image = doc.createElement('img');
  image.className = 'thumb';
  image.alt = '';
  image.decoding = 'async';
  image.src = url;
  image.addEventListener('error', () => image.classList.add('is-broken'), { once: true });
  return image;
}

/** "cat 91.2%": the top class of an answer and its probability. */
export function topLine(doc, predictions) {
  const [best] = topK(predictions, 1);
  const line = doc.createElement('span');
  line.className = 'item-top';
  const label = doc.createElement('span');
  label.className = 'item-label';
  label.textContent = best ? best.label : '—';
  const value = doc.createElement('span');
  value.className = 'item-value';
  value.textContent = best ? formatPercent(best.probability) : '';
  line.append(label, ' ', value);
  return line;
}

/** The file name, whole in its tooltip when the line cuts it short. */
export function fileNameLine(doc, name) {
  const line = doc.createElement('span');
  line.className = 'item-name';
  line.textContent = name;
  line.title = name;
  return line;
}
