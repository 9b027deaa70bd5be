// "Wrong answer?" under the result: the model's classes as buttons, plus "None of these", the
// consent box (unticked until the user ticks it), Send, and the confirmation with its Undo; and the
// footer's sentence on what the server keeps, shown only where the server keeps feedback.

import { byId } from './dom.js';

// The label the server takes for "none of these classes".
export const NONE_LABEL = 'none';

/** A label as the page words it. */
export function labelText(label) {
  return label === NONE_LABEL ? 'none of these' : label;
}

/**
 * What stops Send, in words ('' when nothing does): the state of renderFeedback.
 * @param {{label: ?string, consent: boolean}} state
 */
function missingForSend({ label, consent }) {
  if (!label) return 'Pick the right class above.';
  if (!consent) return 'Tick the box to send the picture.';
  return '';
}

/** @param {Document} doc */
export function createFeedbackView(doc) {
  const el = {
    section: byId(doc, 'feedback'),
    open: byId(doc, 'feedback-open'),
    form: byId(doc, 'feedback-form'),
    choices: byId(doc, 'feedback-choices'),
    consent: byId(doc, 'feedback-consent'),
    send: byId(doc, 'feedback-send'),
    cancel: byId(doc, 'feedback-cancel'),
    missing: byId(doc, 'feedback-missing'),
    message: byId(doc, 'feedback-message'),
    undo: byId(doc, 'feedback-undo'),
    privacy: byId(doc, 'privacy-feedback'),
  };

  const choiceButtons = () => Array.from(el.choices.querySelectorAll('[data-label]'));

  return {
    /** One button per class of the model, then "None of these". */
    setClasses(classes) {
      el.choices.replaceChildren(
        ...[...classes, NONE_LABEL].map((label) => {
          const button = doc.createElement('button');
          button.type = 'button';
          button.className = 'feedback-choice';
          button.dataset.label = label;
          button.dataset.testid = 'feedback-choice';
          button.setAttribute('aria-pressed', 'false');
          button.textContent = label === NONE_LABEL ? 'None of these' : label;
          return button;
        }),
      );
    },

    /** Whether the server keeps feedback: the footer says what it keeps only then. */
    setAvailable(available) {
      el.privacy.hidden = !available;
    },

    /**
     * The panel, or nothing (`null`: no answer on screen, live mode running, feedback off).
     * `state`: {open, label, consent, busy, sent (the label sent, or null), note}.
     */
    renderFeedback(state) {
      el.section.hidden = !state;
      if (!state) return;
      const { open, label, consent, busy, sent, note } = state;
      el.open.hidden = open || Boolean(sent);
      el.open.setAttribute('aria-expanded', String(open));
      el.form.hidden = !open;
      for (const button of choiceButtons()) {
        button.setAttribute('aria-pressed', String(button.dataset.label === label));
        button.disabled = busy;
      }
      el.consent.checked = consent;
      el.consent.disabled = busy;
      const missing = missingForSend({ label, consent });
      el.send.disabled = busy || Boolean(missing);
      el.send.textContent = open && busy ? 'Sending…' : 'Send';
      el.missing.textContent = missing;
      el.message.textContent = sent ? `Thank you: sent as “${labelText(sent)}”.` : note;
      el.undo.hidden = !sent;
      el.undo.disabled = busy;
    },

    /** Move keyboard focus where the flow goes on: 'choices' (the first class), 'open', 'send' or 'undo'. */
    focusFeedback(which) {
      const target = { choices: choiceButtons()[0], open: el.open, send: el.send, undo: el.undo }[which];
      if (target && !target.hidden && !target.disabled) target.focus();
    },

    bindFeedback({ open, pick, consent, send, cancel, undo }) {
      el.open.addEventListener('click', open);
      el.choices.addEventListener('click', (event) => {
        const button = event.target.closest('[data-label]');
        if (button) pick(button.dataset.label);
      });
      el.consent.addEventListener('change', () => consent(el.consent.checked));
      el.form.addEventListener('submit', (event) => {
        event.preventDefault(); // sent by fetch, not by the browser
        send();
      });
      el.form.addEventListener('keydown', (event) => {
        if (event.key === 'Escape') cancel();
      });
      el.cancel.addEventListener('click', cancel);
      el.undo.addEventListener('click', undo);
    },
  };
}
