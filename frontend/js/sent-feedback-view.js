// The footer's line on the corrections this browser sent and still can withdraw: "You sent 3
// pictures from this browser.", "Withdraw them all", and the list (class and time, each with its
// own Withdraw) behind a disclosure; and the status line that says what a withdrawal did, which
// stays in the page (and read to screen readers) when the line above it goes.

import { byId } from './dom.js';
import { labelText } from './feedback-view.js';
import { STORAGE_KEY } from './sent-feedback.js';

/** When it was sent, as the reader's locale writes it ('' for a time that cannot be read). */
export function sentTime(sentAt) {
  const date = new Date(sentAt);
  if (!sentAt || Number.isNaN(date.getTime())) return '';
  return date.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

/** "You sent 3 pictures from this browser." */
export function sentSummary(count) {
  return `You sent ${count} ${count === 1 ? 'picture' : 'pictures'} from this browser.`;
}

/** @param {Document} doc */
export function createSentFeedbackView(doc) {
  const el = {
    section: byId(doc, 'sent-feedback'),
    summary: byId(doc, 'sent-feedback-summary'),
    all: byId(doc, 'sent-feedback-all'),
    list: byId(doc, 'sent-feedback-list'),
    status: byId(doc, 'sent-feedback-status'),
  };

  const itemButtons = () => Array.from(el.list.querySelectorAll('[data-sent-id]'));

  function itemRow({ id, label, sentAt }, busy) {
    const li = doc.createElement('li');
    li.dataset.testid = 'sent-feedback-item';
    const what = doc.createElement('span');
    what.className = 'sent-feedback-what';
    const when = sentTime(sentAt);
    what.textContent = when ? `${labelText(label)}, ${when}` : labelText(label);
    const button = doc.createElement('button');
    button.type = 'button';
    button.className = 'btn btn-small';
    button.dataset.sentId = id;
    button.dataset.testid = 'sent-feedback-withdraw';
    button.disabled = busy;
    const context = doc.createElement('span');
    context.className = 'visually-hidden';
    context.textContent = `: the picture sent as ${labelText(label)}${when ? ` on ${when}` : ''}`;
    button.append('Withdraw', context);
    li.append(what, ' ', button);
    return li;
  }

  return {
    /**
     * `state`: {items (as stored: {id, label, sentAt, ...}), busy, note, available}. The line shows
     * only where the server keeps feedback and this browser has sent some.
     */
    renderSent({ items, busy, note, available }) {
      const shown = available && items.length > 0;
      el.section.hidden = !shown;
      el.section.setAttribute('aria-busy', String(busy));
      el.summary.textContent = shown ? sentSummary(items.length) : '';
      el.all.disabled = busy;
      el.all.textContent = busy ? 'Withdrawing…' : items.length === 1 ? 'Withdraw it' : 'Withdraw them all';
      el.list.replaceChildren(...(shown ? items.map((item) => itemRow(item, busy)) : []));
      el.status.textContent = note;
    },

    /** Where the focus goes after a withdrawal: 'all', 'item' (the one at `index`, or the last), 'status'. */
    focusSent(which, index = 0) {
      const buttons = itemButtons();
      const item = buttons[Math.min(index, buttons.length - 1)];
      const target = { all: el.all, item }[which];
      if (target && !el.section.hidden && !target.disabled) target.focus();
      else el.status.focus(); // tabindex="-1": where the result is read when the line is gone
    },

    bindSent({ withdraw, withdrawAll, changed }) {
      el.all.addEventListener('click', withdrawAll);
      el.list.addEventListener('click', (event) => {
        const button = event.target.closest('[data-sent-id]');
        if (button) withdraw(button.dataset.sentId);
      });
      // Another tab of this page sent or withdrew one.
      doc.defaultView?.addEventListener('storage', (event) => {
        if (event.key === null || event.key === STORAGE_KEY) changed();
      });
    },
  };
}
