// Several pictures at once: each checked here first (a file over its own limit is shown on its
// card and not sent), the others sent in as few requests as the server's batch limits allow (files
// and bytes per request, /api/model's `limits`), one after another. Their cards keep the order of
// the files; the first answer is shown and every answer joins the history.

import { checkFile, fileName, splitBatch } from './files.js';
import { summarizePrediction } from './format.js';

// A batch request the server refuses with 429 (over a rate limit, e.g. megabytes a minute, which a
// large batch sent in several requests can reach) is tried again after the pause it asks for
// (Retry-After; 5 s when it names none, at most a minute), this many times.
const BATCH_RETRIES = 3;
const DEFAULT_RETRY_SECONDS = 5;
const MAX_RETRY_SECONDS = 60;

/**
 * @param {object} deps
 * @param {object} deps.api  @param {import('./store.js').Store} deps.store  @param {object} deps.views
 * @param {(ms: number) => Promise<void>} deps.sleep
 * @param {object} deps.shared  the main controller's steps: setBusy, showEntry, explain, remember, answerFields,
 *   renderFeedback
 */
export function createBatchController({ api, store, views, sleep, shared }) {
  const { page, result, batch } = views;

  /** A long batch's progress: on the loading overlay and, for screen readers, in the status line. */
  function showProgress(text) {
    page.setBusy(true, text);
    page.setStatus(text);
  }

  async function classifyBatch(files) {
    const maxFiles = store.limits?.max_batch_files;
    if (files.length > maxFiles) {
      page.showError({
        code: 'too_many_files',
        message: `You selected ${files.length} files; at most ${maxFiles} can be classified at once.`,
      });
      return;
    }
    page.showError(null);
    const cards = files.map((file, index) => {
      const check = checkFile(file, { maxBytes: store.limits?.max_upload_bytes });
      const card = { id: store.newId(), name: fileName(file, `image-${index + 1}`), file, crop: null };
      if (check.ok) card.url = store.createObjectUrl(file);
      else card.error = check; // shown on its card; the file is not uploaded
      return card;
    });
    const uploads = cards.filter((card) => !card.error);
    let requestError = null; // a request that failed, when others were answered

    if (uploads.length > 0) {
      store.current = null;
      store.previewUrl = null;
      result.clearPreview();
      result.clearResult('Classifying…');
      shared.setBusy(true, `Classifying ${uploads.length} images…`);
      page.setStatus(`Classifying ${uploads.length} images…`);
      const outcome = await sendBatch(uploads);
      if (outcome.answered === 0) {
        page.showError(outcome.error);
        result.clearResult('No result — see the message above.');
        page.setStatus('Classification failed.');
        store.batchCards = [];
        batch.renderBatch([], null);
        shared.setBusy(false);
        store.releaseUnusedUrls();
        return;
      }
      requestError = outcome.error;
      shared.setBusy(false);
    }

    for (const card of cards) {
      // Its object URL pins the file already: keeping it costs nothing and allows a crop later.
      if (!card.error) card.source = card.upload = card.file;
      delete card.file;
    }
    store.batchCards = cards;
    const successes = cards.filter((card) => !card.error);
    batch.renderBatch(cards, successes[0]?.id ?? null);
    if (successes.length > 0) {
      shared.showEntry(successes[0]);
      shared.explain(successes[0]);
      shared.remember(successes);
      if (requestError) page.showError(requestError); // why some cards have no answer
      page.setStatus(
        `${successes.length} of ${cards.length} images classified. First: ${summarizePrediction(successes[0].predictions)}`,
      );
    } else {
      store.current = null;
      store.previewUrl = null;
      result.clearPreview();
      result.clearResult('No result — see the messages below.');
      shared.renderFeedback();
      page.showError(requestError ?? { code: 'batch_failed', message: '' });
      page.setStatus('None of the images could be classified.');
    }
    store.releaseUnusedUrls();
  }

  /**
   * Send the cards' files in consecutive requests within the batch limits and put each answer on
   * its card. Files a request had no decoding allowance left for (batch_decode_budget: the server
   * asks for them in another request) are sent again in the next one. A request refused for its
   * size leaves its own cards with that error and the next request goes on; any other failure
   * (offline, timed out, server down) gives its cards and the ones not sent yet that error and
   * stops. Returns how many files a request answered for, and the last request error (or null).
   */
  async function sendBatch(uploads) {
    const queue = splitBatch(uploads, {
      maxFiles: store.limits?.max_batch_files,
      maxBytes: store.limits?.max_batch_bytes,
      sizeOf: (card) => card.file?.size,
    });
    const total = uploads.length;
    let answered = 0;
    let done = 0;
    let error = null;
    for (let sent = 0; queue.length > 0; sent += 1) {
      const group = queue.shift();
      if (sent > 0) showProgress(`Classifying ${total} images… ${done} of ${total} done.`);
      let data;
      try {
        data = await predictGroup(group, { done, total });
      } catch (failure) {
        error = failure;
        const affected = failure?.code === 'batch_too_large' ? group : [...group, ...queue.flat()];
        for (const card of affected) card.error = failure;
        done += group.length;
        if (affected === group) continue;
        break;
      }
      // Results come back in upload order, one per uploaded file.
      const deferred = [];
      group.forEach((card, position) => {
        const answer = data.results?.[position];
        if (answer && Array.isArray(answer.predictions)) {
          Object.assign(card, shared.answerFields(answer, data));
        } else if (answer?.error?.code === 'batch_decode_budget' && position > 0) {
          deferred.push(card); // the server decoded the ones before it: send it again
        } else {
          card.error = answer?.error ?? { code: 'invalid_response', message: 'No result was returned for this file.' };
        }
      });
      if (deferred.length > 0) queue.unshift(deferred);
      answered += group.length - deferred.length;
      done += group.length - deferred.length;
    }
    return { answered, error };
  }

  /** One batch request; a 429 is waited out (the pause the server asks for) a few times. */
  async function predictGroup(group, { done, total }) {
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await api.predictBatch(group.map((card) => card.file), { topK: store.requestedTopK });
      } catch (error) {
        if (error?.code !== 'too_many_requests' || attempt > BATCH_RETRIES) throw error;
        const asked = Number.isFinite(error.retryAfter) ? error.retryAfter : DEFAULT_RETRY_SECONDS;
        const seconds = Math.ceil(Math.min(MAX_RETRY_SECONDS, Math.max(1, asked)));
        showProgress(
          `Classifying ${total} images… ${done} of ${total} done. The server asked for a pause; carrying on in ${seconds} s.`,
        );
        await sleep(seconds * 1000);
      }
    }
  }

  return { classifyBatch };
}
