// "Wrong answer?": the user picks the right class for the answer on screen (or "none of these"),
// ticks the consent box and sends the picture as it was classified (the upload, the webcam
// snapshot, the crop the page cut out, or live mode's last frame once live mode is stopped); the
// server keeps it for retraining, and the sender can take it back (Undo). The panel shows only
// where the server keeps feedback (/api/model's `feedback`). Each correction sent is remembered in
// this browser (sent-feedback.js: its id and delete token, never the picture), so that the footer's
// line can withdraw it later, after a reload too.

import { labelText, NONE_LABEL } from './feedback-view.js';

/** "3 pictures", "1 picture". */
const pictures = (count) => `${count} ${count === 1 ? 'picture' : 'pictures'}`;

/** What "Withdraw them all" did, in words: deleted now, already gone, and kept after an error. */
export function withdrawnNote({ deleted, gone, failed }) {
  const parts = [];
  if (deleted) parts.push(`Withdrawn: the server has deleted ${pictures(deleted)}.`);
  if (gone) {
    parts.push(deleted
      ? `${gone === 1 ? '1 was' : `${gone} were`} already gone.`
      : `Nothing left to withdraw: the server no longer had ${gone === 1 ? 'it' : 'them'}.`);
  }
  if (failed) parts.push(`${pictures(failed)} could not be withdrawn: try again later.`);
  return parts.join(' ');
}

/**
 * @param {object} deps
 * @param {object} deps.api  @param {import('./store.js').Store} deps.store  @param {object} deps.views
 * @param {ReturnType<import('./sent-feedback.js').createSentFeedback>} deps.sentFeedback  what this browser sent
 * @param {() => number} deps.now
 */
export function createFeedbackController({ api, store, views, sentFeedback, now }) {
  const { page, feedback: view, sent: sentView } = views;

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

  /** The footer's line on what this browser sent, as the store says. */
  function renderSent() {
    const { entries, busy, note } = store.sent;
    sentView.renderSent({ items: entries, busy, note, available: store.feedbackEnabled });
  }

  /** Read what this browser sent again (the page starts, or another tab changed it). */
  function refreshSent() {
    store.sent.entries = sentFeedback.load();
    renderSent();
  }

  /** The model's details arrived: its classes for the buttons, and whether feedback is kept at all. */
  function modelLoaded() {
    view.setClasses(store.classes);
    view.setAvailable(store.feedbackEnabled);
    renderFeedback();
    refreshSent();
  }

  /** A sent correction is gone from the server: forget it here, and on any answer that shows its Undo. */
  function forget(id) {
    store.sent.entries = sentFeedback.remove(id);
    for (const entry of [store.current, ...store.history, ...store.batchCards]) {
      if (entry?.feedback?.id === id) entry.feedback = null;
    }
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
      store.sent.entries = sentFeedback.add({ id, deleteToken, label: panel.label, sentAt: new Date(now()).toISOString() });
      Object.assign(panel, { open: false, label: null, consent: false });
      sent = true;
    } catch (error) {
      page.showError(error); // the form stays open, as filled in, to try again
    } finally {
      panel.busy = false;
      renderFeedback();
      renderSent();
    }
    // Send was disabled while sending, which took the focus from it: give it to what comes next.
    if (store.current === entry) view.focusFeedback(sent ? 'undo' : 'send');
  }

  /** Take a sent picture back: the server deletes it and its row. */
  async function undoFeedback() {
    const entry = entryOnScreen();
    const panel = store.feedbackPanel();
    if (!entry?.feedback || panel.busy || store.sent.busy) return;
    const { id, deleteToken } = entry.feedback;
    panel.busy = true;
    renderFeedback();
    page.showError(null);
    try {
      await api.deleteFeedback(id, deleteToken);
      forget(id);
      panel.note = 'Withdrawn: the server has deleted the picture and your answer.';
    } catch (error) {
      if (error?.code === 'feedback_not_found') forget(id); // nothing left to take back
      page.showError(error);
    } finally {
      panel.busy = false;
      renderFeedback();
      renderSent();
    }
    if (!entry.feedback && store.current === entry) view.focusFeedback('open');
  }

  /**
   * Withdraw one remembered correction. `outcome`: 'deleted'; 'gone' (the server no longer had it:
   * forgotten too); 'failed' (kept, to try again), with the `error` of the last two.
   */
  async function withdrawItem(item) {
    try {
      await api.deleteFeedback(item.id, item.deleteToken);
      forget(item.id);
      return { outcome: 'deleted', error: null };
    } catch (error) {
      const gone = error?.code === 'feedback_not_found';
      if (gone) forget(item.id);
      return { outcome: gone ? 'gone' : 'failed', error };
    }
  }

  /** Run a withdrawal from the footer's line, busy meanwhile; then show where things stand. */
  async function withdrawing(work) {
    const sent = store.sent;
    if (sent.busy || store.feedback?.busy || !store.feedbackEnabled) return false;
    Object.assign(sent, { busy: true, note: '' });
    renderSent();
    page.showError(null);
    try {
      await work();
    } finally {
      sent.busy = false;
      renderSent();
      renderFeedback(); // an answer on screen whose correction went loses its Undo
    }
    return true;
  }

  /** The footer's Withdraw beside one correction. */
  async function withdrawSent(id) {
    const items = sentFeedback.load();
    const index = items.findIndex((item) => item.id === id);
    if (index < 0) return refreshSent();
    const done = await withdrawing(async () => {
      const { outcome, error } = await withdrawItem(items[index]);
      if (outcome === 'deleted') {
        store.sent.note = `Withdrawn: the server has deleted the picture sent as “${labelText(items[index].label)}”.`;
      } else {
        page.showError(error); // feedback_not_found's hint: nothing is left to withdraw
      }
    });
    if (done) sentView.focusSent('item', index); // the next one, or this one again if it stayed
  }

  /** "Withdraw them all": each in turn; one that fails stays remembered, and the others go on. */
  async function withdrawAllSent() {
    const items = sentFeedback.load();
    if (!items.length) return refreshSent();
    const done = await withdrawing(async () => {
      const counts = { deleted: 0, gone: 0, failed: 0 };
      let lastError = null;
      for (const item of items) {
        const { outcome, error } = await withdrawItem(item);
        counts[outcome] += 1;
        if (outcome === 'failed') lastError = error;
      }
      store.sent.note = withdrawnNote(counts);
      if (lastError) page.showError(lastError);
    });
    if (done) sentView.focusSent('all');
  }

  view.bindFeedback({
    open: openFeedback, pick: pickLabel, consent: setConsent, send: sendFeedback, cancel: cancelFeedback,
    undo: undoFeedback,
  });
  sentView.bindSent({ withdraw: withdrawSent, withdrawAll: withdrawAllSent, changed: refreshSent });

  return {
    renderFeedback, modelLoaded, openFeedback, pickLabel, setConsent, cancelFeedback, sendFeedback, undoFeedback,
    refreshSent, withdrawSent, withdrawAllSent,
  };
}
