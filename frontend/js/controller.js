// The page's controller: binds the views' inputs to the flows, and each flow asks the API, puts the
// answer in the store and tells the views what to show. It never touches the DOM. One picture (or
// a crop of it), its explanation, the history, k, the model's details and the examples are here;
// a batch is batch-controller.js's, the webcam camera-controller.js's, "Wrong answer?"
// feedback-controller.js's. Everything comes in as arguments, so the tests drive it with fake
// views, API client and camera.

import { createBatchController } from './batch-controller.js';
import { createCameraController } from './camera-controller.js';
import { createFeedbackController } from './feedback-controller.js';
import { checkFile, extensionForType, fileName } from './files.js';
import { sortPredictions, summarizePrediction } from './format.js';
import { describeError } from './messages.js';
import { createSentFeedback } from './sent-feedback.js';

/**
 * @param {object} deps
 * @param {object} deps.api     createApiClient()
 * @param {import('./store.js').Store} deps.store
 * @param {object} deps.views   {page, upload, result, crop, explain, batch, history, about, camera, feedback, sent}
 * @param {object} deps.camera  a Camera
 * @param {object} [deps.sentFeedback]  createSentFeedback(): the corrections this browser sent (in memory only without one)
 * @param {() => number} [deps.now]
 * @param {(ms: number) => Promise<void>} [deps.sleep]  waits between live frames and batch retries
 */
export function createController({
  api, store, views, camera, now = () => Date.now(), sleep = defaultSleep, sentFeedback = createSentFeedback(),
}) {
  const { page, upload, result, crop, explain: explainView, history, about } = views;
  // Settles once /api/model has answered (or failed): a picture sent before waits for its limits.
  let modelLoaded = Promise.resolve();

  // ------------------------------------------------------------ steps the flows share

  /** An answer's fields on an entry: `answer` is one picture's, `reply` the response around it. */
  function answerFields(answer, reply) {
    return {
      predictions: sortPredictions(answer.predictions),
      notSure: answer.not_sure === true,
      modelVersion: reply.model_version,
      elapsedMs: answer.elapsed_ms,
    };
  }

  // The "Wrong answer?" panel follows the answer on screen: every step that changes it re-renders it.
  const feedbackController = createFeedbackController({ api, store, views, sentFeedback, now });

  function showPrediction(entry) {
    result.showPrediction(entry, store.topK, store.classCount);
    feedbackController.renderFeedback();
  }

  function showEntry(entry) {
    store.current = entry;
    store.previewUrl = entry.url;
    showPrediction(entry);
    crop.showCrop(entry.crop ?? null);
    explainView.renderExplanation(entry.explanation ?? null);
    page.markActive(entry.id);
  }

  function remember(entries) {
    store.remember(entries);
    history.renderHistory(store.history, store.current?.id);
  }

  function setBusy(busy, text) {
    store.busy = busy;
    page.setBusy(busy, text);
    feedbackController.renderFeedback();
    if (busy) page.revealResult();
  }

  const shared = {
    setBusy, showEntry, showPrediction, remember, answerFields, explain, classifySingle,
    renderFeedback: feedbackController.renderFeedback,
  };
  const batchController = createBatchController({ api, store, views, sleep, shared });
  const cameraController = createCameraController({ api, store, views, camera, now, sleep, shared });

  // ------------------------------------------------------------ one picture

  async function classifySingle(file) {
    const check = checkFile(file, { maxBytes: store.limits?.max_upload_bytes });
    if (!check.ok) {
      page.showError(check); // rejected here: no request is made
      return;
    }
    store.batchCards = [];
    views.batch.renderBatch([], null);
    // Local copy: the user may open a history item while this request runs.
    const url = store.createObjectUrl(file);
    await classifyPicture({ name: fileName(file, 'image'), url, source: file, upload: file, crop: null });
  }

  /**
   * Send one picture (`upload`: the file itself or the crop made of it) and show the answer as a
   * new history entry that remembers its source file and crop square, so the square can be moved
   * again later.
   */
  async function classifyPicture({ name, url, source, upload: sent, crop: square }) {
    page.showError(null);
    store.current = null;
    store.previewUrl = url;
    result.showPreview(url, name);
    crop.showCrop(square);
    result.clearResult('Classifying…');
    explainView.renderExplanation(null);
    const what = square ? `the chosen part of ${name}` : name;
    setBusy(true, `Classifying ${what}…`);
    page.setStatus(`Classifying ${what}…`);
    try {
      const data = await api.predict(sent, { topK: store.requestedTopK });
      const entry = { id: store.newId(), name, url, source, upload: sent, crop: square, ...answerFields(data, data) };
      showEntry(entry);
      remember([entry]);
      page.setStatus(summarizePrediction(entry.predictions));
      explain(entry);
    } catch (error) {
      page.showError(error);
      result.clearResult('No result — see the message above.');
      page.setStatus('Classification failed.');
    } finally {
      setBusy(false);
      store.releaseUnusedUrls();
    }
  }

  /**
   * What the model saw and why (POST /api/explain) for `label` (default: the top class), after
   * the answer; kept per class with the entry. A failure only leaves the answer without it.
   */
  async function explain(entry, label = null) {
    if (!entry.upload) return;
    const key = label ?? entry.predictions[0]?.label;
    entry.explanations ??= {};
    try {
      entry.explanations[key] ??= await api.explain(entry.upload, label ? { label } : {});
      entry.explanation = entry.explanations[key];
      if (store.current === entry) {
        explainView.renderExplanation(entry.explanation);
        showPrediction(entry);
      }
    } catch {
      // Optional: the answer stands without it.
    }
  }

  /** The user picked a class in the chart: show why the model does (or does not) see it. */
  async function explainClass(label) {
    const entry = store.current;
    if (!entry?.upload) return;
    page.setStatus(`Showing which parts of the picture speak for “${label}”…`);
    await explain(entry, label);
    if (store.current === entry && entry.explanation?.label === label) page.setStatus(`Showing why for “${label}”.`);
  }

  /** The crop square was moved: classify that part of the shown picture, cropped here in the page. */
  async function cropChanged(square) {
    const entry = store.current;
    if (!entry?.source || store.busy) {
      if (entry) crop.showCrop(entry.crop ?? null); // nothing to crop, or a request is running
      return;
    }
    let blob;
    try {
      blob = await crop.cropPicture(square);
    } catch (error) {
      page.showError({ code: 'crop_failed', message: String(error?.message ?? error) });
      crop.showCrop(entry.crop ?? null);
      return;
    }
    const stem = entry.name.replace(/\.[^.]+$/, '');
    const part = new File([blob], `${stem}-crop.${extensionForType(blob.type)}`, { type: blob.type });
    await classifyPicture({ name: entry.name, url: entry.url, source: entry.source, upload: part, crop: square });
  }

  /** Back to the centre square: the original file, as the server crops it itself. */
  async function resetCrop() {
    const entry = store.current;
    if (!entry?.source || store.busy) return;
    await classifyPicture({ name: entry.name, url: entry.url, source: entry.source, upload: entry.source, crop: null });
  }

  // ------------------------------------------------------------ files, history, k

  /** Files from the picker, the camera input, a drop, a paste or an example. */
  async function handleFiles(fileList) {
    const files = Array.from(fileList ?? []).filter(Boolean);
    if (files.length === 0) return;
    await modelLoaded;
    if (store.busy) {
      page.setStatus('Please wait until the current classification has finished.');
      return;
    }
    cameraController.stopLive(); // a picture of one's own replaces the live view
    await (files.length === 1 ? classifySingle(files[0]) : batchController.classifyBatch(files));
  }

  /** Pasted pictures often have no name: give them one the history can show. */
  function handlePaste(files) {
    const stamp = now();
    return handleFiles(
      files.map((file, index) =>
        file.name
          ? file
          : new File([file], `pasted-${stamp}-${index + 1}.${extensionForType(file.type)}`, { type: file.type }),
      ),
    );
  }

  function selectEntry(id) {
    const entry = store.findEntry(id);
    if (!entry) return;
    cameraController.stopLive();
    page.showError(null);
    showEntry(entry);
    page.setStatus(`Showing ${entry.name}. ${summarizePrediction(entry.predictions)}`);
    if (!entry.explanation) explain(entry); // batch results are explained when first shown
  }

  function setTopK(value) {
    store.chooseTopK(value);
    // Re-render from the stored full distribution: no new request needed.
    if (store.current) showPrediction(store.current);
  }

  function clearHistory() {
    store.clearHistory();
    history.renderHistory(store.history, null);
    store.releaseUnusedUrls();
    page.setStatus('History cleared.');
  }

  // ------------------------------------------------------------ model details and examples

  async function loadModelInfo() {
    try {
      const model = await api.getModel();
      store.setModel(model); // the server publishes its limits once (/api/model's `limits`)
      if (store.limits?.top_k) result.setTopKChoices(store.limits.top_k, store.topK);
      if (store.current) showPrediction(store.current);
      upload.setLimits(store.limits);
      feedbackController.modelLoaded();
      about.renderModelInfo(model);
      about.showModelNotice('');
    } catch (error) {
      // Non-blocking: the server still checks every picture against its limits.
      about.showModelNotice(
        `Model details could not be loaded right now (${describeError(error).code}). You can still classify images.`,
      );
    }
  }

  async function loadExamples() {
    try {
      store.examples = await api.getExamples();
    } catch {
      store.examples = []; // optional: the page works without them
    }
    upload.renderExamples(store.examples);
  }

  /** An example picture: downloaded, then classified like any upload (it appears in the history). */
  async function tryExample(index) {
    const example = store.examples[index];
    if (!example || store.busy) return;
    let file;
    try {
      file = await api.fetchExample(example);
    } catch (error) {
      page.showError({ code: 'example_unavailable', message: error?.message });
      return;
    }
    await handleFiles([file]);
  }

  /** The page's first render, then the model's details and the examples. */
  function start() {
    views.camera.setCameraState({ active: false });
    history.renderHistory(store.history, null);
    result.clearPreview();
    result.clearResult('Add an image to see the model’s top predictions here.');
    modelLoaded = loadModelInfo();
    return Promise.all([modelLoaded, loadExamples()]);
  }

  upload.bindFiles(handleFiles, () => store.busy);
  upload.bindPaste(handlePaste);
  upload.bindExamples(tryExample);
  result.bindTopK(setTopK);
  result.bindExplainClass(explainClass);
  crop.bindCrop(cropChanged, resetCrop);
  history.bindSelectEntry(selectEntry);
  history.bindClearHistory(clearHistory);
  views.batch.bindSelectCard(selectEntry);

  return {
    start, loadModelInfo, handleFiles, handlePaste, selectEntry, explainClass, tryExample, cropChanged,
    resetCrop, setTopK, clearHistory, ...cameraController, ...feedbackController,
  };
}

function defaultSleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
