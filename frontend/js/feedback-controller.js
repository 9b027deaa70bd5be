// "Wrong answer?": the user picks the right class for the answer on screen (or "none of these"),
// ticks the consent box and sends the picture as it was classified (the upload, the webcam
// snapshot, the crop the page cut out, or live mode's last frame once live mode is stopped); the
// server keeps it for retraining, and the sender can take it back (Undo). The panel shows only
// where the server keeps feedback (/api/model's `feedback`).

import { NONE_LABEL } from './feedback-view.js';

/**
 * @param {object} deps
 * @param {object} deps.api  @param {import('./store.js').Store} deps.store  @param {object} deps.views
 */
export function createFeedbackController({ api, store, views }) {
  const { page, feedback: view } = views;

  /** The entry the panel is for: an answer on screen with the picture that was sent, outside live mode. */
  function entryOnScreen() {
    const entry = store.current;
    return store.feedbackEnabled && !store.live && !store.busy && entry?.upload && entry.predictions ? entry : null;
  }

  /** Show the panel as the store says (called whenever what is on screen may have changed). */
  function renderFeedback() {
    const entry = entryOnScreen();
    if (!entry) {
      view.renderFeedback(null);
      return;
    }
    const { open, label, consent, busy, note } = store.feedbackPanel();
    const sent = entry.feedback?.label ?? null;
    view.renderFeedback({ open: open && !sent, label, consent, busy, sent, note });
  }

  /** The model's details arrived: its classes for the buttons, and whether feedback is kept at all. */
  function modelLoaded() {
    view.setClasses(store.classes);
    view.setAvailable(store.feedbackEnabled);
    renderFeedback();
  }

  function openFeedback() {
    if (!entryOnScreen()) return;
    Object.assign(store.feedbackPanel(), { open: true, label: null, consent: false, note: '' });
    renderFeedback();
    view.focusFeedback('choices');
  }

  function pickLabel(label) {
    const panel = store.feedbackPanel();
    if (!panel.open || panel.busy || !(label === NONE_LABEL || store.classes.includes(label))) return;
    panel.label = label;
    renderFeedback();
  }

  function setConsent(checked) {
    store.feedbackPanel().consent = checked === true;
    renderFeedback();
  }

  function cancelFeedback() {
    const panel = store.feedbackPanel();
    if (!panel.open || panel.busy) return;
    Object.assign(panel, { open: false, label: null, consent: false });
    renderFeedback();
    view.focusFeedback('open');
  }

  /** Send the picture as it was classified, with the right class and the model's answer. */
  async function sendFeedback() {
    const entry = entryOnScreen();
    const panel = store.feedbackPanel();
    // Send stays disabled until a class is picked and the box ticked; nothing is sent without both.
    if (!entry || !panel.open || panel.busy || !panel.label || !panel.consent) return;
    panel.busy = true;
    renderFeedback();
    page.showError(null);
    let sent = false;
    try {
      const { id, delete_token: deleteToken } = await api.sendFeedback(entry.upload, {
        label: panel.label,
        predicted: entry.predictions[0]?.label ?? null,
        consent: true,
      });
      entry.feedback = { id, deleteToken, label: panel.label };
      Object.assign(panel, { open: false, label: null, consent: false });
      sent = true;
    } catch (error) {
      page.showError(error); // the form stays open, as filled in, to try again
    } finally {
      panel.busy = false;
      renderFeedback();
    }
    // Send was disabled while sending, which took the focus from it: give it to what comes next.
    if (store.current === entry) view.focusFeedback(sent ? 'undo' : 'send');
  }

  /** Take a sent picture back: the server deletes it and its row. */
  async function undoFeedback() {
    const entry = entryOnScreen();
    const panel = store.feedbackPanel();
    if (!entry?.feedback || panel.busy) return;
    panel.busy = true;
    renderFeedback();
    page.showError(null);
    try {
      await api.deleteFeedback(entry.feedback.id, entry.feedback.deleteToken);
      entry.feedback = null;
      panel.note = 'Withdrawn: the server has deleted the picture and your answer.';
    } catch (error) {
      if (error?.code === 'feedback_not_found') entry.feedback = null; // nothing left to take back
      page.showError(error);
    } finally {
      panel.busy = false;
      renderFeedback();
    }
    if (!entry.feedback && store.current === entry) view.focusFeedback('open');
  }

  view.bindFeedback({
    open: openFeedback, pick: pickLabel, consent: setConsent, send: sendFeedback, cancel: cancelFeedback,
    undo: undoFeedback,
  });

  return { renderFeedback, modelLoaded, openFeedback, pickLabel, setConsent, cancelFeedback, sendFeedback, undoFeedback };
}
