// The session's history strip, most recent first: each item is a button (Enter/Space for free)
// that shows that answer again.

import { byId, fileNameLine, thumbnail, topLine } from './dom.js';

export function createHistoryView(doc) {
  const el = {
    list: byId(doc, 'history'),
    empty: byId(doc, 'history-empty'),
    clear: byId(doc, 'history-clear'),
  };

  return {
    renderHistory(history, activeId) {
      el.list.replaceChildren(
        ...history.map((entry) => {
          const li = doc.createElement('li');
          const button = doc.createElement('button');
          button.type = 'button';
          button.className = 'history-item';
          button.dataset.testid = 'history-item';
          button.dataset.entryId = String(entry.id);
          if (entry.id === activeId) button.setAttribute('aria-current', 'true');
          // Crops of one picture share its thumbnail: the name line says which is a crop.
          button.append(thumbnail(doc, entry.url), topLine(doc, entry.predictions),
            fileNameLine(doc, entry.crop ? `${entry.name} (crop)` : entry.name));
          li.append(button);
          return li;
        }),
      );
      el.empty.hidden = history.length > 0;
      el.clear.hidden = history.length === 0;
    },

    /** A history item clicked: ``handler(entryId)``. */
    bindSelectEntry(handler) {
      el.list.addEventListener('click', (event) => {
        const node = event.target.closest('[data-entry-id]');
        if (node) handler(Number(node.dataset.entryId));
      });
    },

    bindClearHistory(handler) {
      el.clear.addEventListener('click', handler);
    },
  };
}
