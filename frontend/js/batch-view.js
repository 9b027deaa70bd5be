// The batch results: one card per file in upload order. A card with an answer is a button that
// shows its chart; a failed one is static and says why.

import { byId, fileNameLine, thumbnail, topLine } from './dom.js';
import { shortErrorMessage } from './messages.js';

export function createBatchView(doc) {
  const el = {
    section: byId(doc, 'batch-section'),
    summary: byId(doc, 'batch-summary'),
    list: byId(doc, 'batch-list'),
  };

  function card(entry, activeId) {
    if (entry.error) {
      const node = doc.createElement('div');
      node.className = 'batch-item is-error';
      const icon = doc.createElement('span');
      icon.className = 'thumb thumb-error';
      icon.setAttribute('aria-hidden', 'true');
      icon.textContent = '!';
      const message = doc.createElement('span');
      message.className = 'item-error';
      message.textContent = shortErrorMessage(entry.error);
      node.append(icon, fileNameLine(doc, entry.name), message);
      return node;
    }
    const node = doc.createElement('button');
    node.type = 'button';
    node.className = 'batch-item';
    node.dataset.entryId = String(entry.id);
    if (entry.id === activeId) node.setAttribute('aria-current', 'true');
    node.append(thumbnail(doc, entry.url), fileNameLine(doc, entry.name), topLine(doc, entry.predictions));
    return node;
  }

  return {
    /** @param {{id: number, name: string, url?: string, predictions?: object[], error?: object}[]} cards */
    renderBatch(cards, activeId) {
      el.list.replaceChildren(
        ...cards.map((entry) => {
          const li = doc.createElement('li');
          const node = card(entry, activeId);
          node.dataset.testid = 'batch-item';
          li.append(node);
          return li;
        }),
      );
      const ok = cards.filter((entry) => !entry.error).length;
      el.summary.textContent = `${ok} of ${cards.length} ${cards.length === 1 ? 'image' : 'images'} classified.`;
      el.section.hidden = cards.length === 0;
    },

    /** A card with an answer clicked: ``handler(entryId)``. */
    bindSelectCard(handler) {
      el.list.addEventListener('click', (event) => {
        const node = event.target.closest('[data-entry-id]');
        if (node) handler(Number(node.dataset.entryId));
      });
    },
  };
}
