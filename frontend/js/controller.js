// The page's controller: owns the state (limits, k, history, batch, busy, camera) and the flows
// (classify one picture or a batch, pick from the history, change k, drive the webcam, load the
// model's details). It never touches the DOM: it tells the view what to show, and the view calls
// it back through the handlers main.js binds. Everything it needs comes in as arguments, so the
// tests drive it with a fake view, API client and camera.

import {
  DEFAULT_LIVE_FRAMES_PER_SECOND,
  DEFAULT_MAX_BATCH,
  DEFAULT_MAX_BATCH_BYTES,
  DEFAULT_MAX_UPLOAD_BYTES,
  DEFAULT_TOP_K,
  MAX_TOP_K,
  checkFile,
  clampTopK,
  describeError,
  extensionForType,
  sortPredictions,
  splitBatch,
  summarizePrediction,
} from './format.js';
import { addToHistory, urlsInUse } from './history.js';

// A batch request the server refuses with 429 (over a rate limit, e.g. megabytes a minute, which a
// large batch sent in several requests can reach) is tried again after the pause it asks for
// (Retry-After; 5 s when it names none, at most a minute), this many times.
const BATCH_RETRIES = 3;
const DEFAULT_RETRY_SECONDS = 5;
const MAX_RETRY_SECONDS = 60;

function fileName(file, fallback) {
  return typeof file?.name === 'string' && file.name ? file.name : fallback;
}

function positiveNumber(value, fallback) {
  return Number.isFinite(value) && value > 0 ? value : fallback;
}

/**
 * @param {object} deps
 * @param {object} deps.api     createApiClient()
 * @param {object} deps.view    createView()
 * @param {object} deps.camera  a Camera
 * @param {object} [deps.urls]  {create(file), revoke(url)}: object URLs (URL.createObjectURL)
 * @param {() => number} [deps.now]
 * @param {(ms: number) => Promise<void>} [deps.sleep]  waits between live frames
 */
export function createController({
  api, view, camera, urls = defaultUrls(), now = () => Date.now(), sleep = defaultSleep,
}) {
  const state = {
    maxBytes: DEFAULT_MAX_UPLOAD_BYTES,
    maxBatch: DEFAULT_MAX_BATCH,
    // Bytes one batch request may carry: a larger batch is sent in several requests.
    maxBatchBytes: DEFAULT_MAX_BATCH_BYTES,
    // Every class is requested, so that changing k needs no new request: the model's class count.
    maxTopK: MAX_TOP_K,
    topK: DEFAULT_TOP_K,
    topKChosenByUser: false,
    busy: false,
    history: [],
    batchCards: [],
    current: null,
    previewUrl: null,
    canSwitchCamera: false,
    // The live webcam run in progress ({frames, label}), or null; its pace comes from /api/model.
    live: null,
    liveFramesPerSecond: DEFAULT_LIVE_FRAMES_PER_SECOND,
    examples: [],
    nextId: 1,
    liveUrls: new Set(),
  };

  // ------------------------------------------------------------ object URLs
  // Every preview/thumbnail is an object URL that pins its file in memory, so
  // URLs are revoked as soon as nothing on screen (preview, history, batch) uses them.

  function createObjectUrl(file) {
    const url = urls.create(file);
    state.liveUrls.add(url);
    return url;
  }

  function releaseUnusedUrls() {
    const keep = urlsInUse(state.history, state.batchCards, [state.current, { url: state.previewUrl }]);
    for (const url of state.liveUrls) {
      if (!keep.has(url)) {
        urls.revoke(url);
        state.liveUrls.delete(url);
      }
    }
  }

  // ------------------------------------------------------------ showing results

  function showEntry(entry) {
    state.current = entry;
    state.previewUrl = entry.url;
    view.showPrediction(entry, state.topK);
    view.showCrop(entry.crop ?? null);
    view.renderExplanation(entry.explanation ?? null);
    view.markActive(entry.id);
  }

  function findEntry(id) {
    return [...state.history, ...state.batchCards].find((entry) => entry.id === id && !entry.error) ?? null;
  }

  function selectEntry(id) {
    const entry = findEntry(id);
    if (!entry) return;
    if (state.live) stopLive();
    view.showError(null);
    showEntry(entry);
    view.setStatus(`Showing ${entry.name}. ${summarizePrediction(entry.predictions)}`);
    if (!entry.explanation) explain(entry); // batch results are explained when first shown
  }

  function remember(entries) {
    state.history = addToHistory(state.history, entries).history;
    view.renderHistory(state.history, state.current?.id);
  }

  function setBusy(busy, text) {
    state.busy = busy;
    view.setBusy(busy, text);
    if (busy) view.revealResult();
  }

  // ------------------------------------------------------------ classification

  async function classifySingle(file) {
    const check = checkFile(file, { maxBytes: state.maxBytes });
    if (!check.ok) {
      view.showError(check); // rejected locally: no request is made
      return;
    }
    const name = fileName(file, 'image');
    state.batchCards = [];
    view.renderBatch([], null);
    // Local copy: the user may open a history item while this request runs.
    const url = createObjectUrl(file);
    await classifyPicture({ name, url, source: file, upload: file, crop: null });
  }

  /**
   * Send one picture (`upload`: the file itself or the crop made of it) and show the answer as a
   * new history entry that remembers its source file and crop square, so the square can be moved
   * again later.
   */
  async function classifyPicture({ name, url, source, upload, crop }) {
    view.showError(null);
    state.current = null;
    state.previewUrl = url;
    view.showPreview(url, name);
    view.showCrop(crop);
    view.clearResult('Classifying…');
    view.renderExplanation(null);
    const what = crop ? `the chosen part of ${name}` : name;
    setBusy(true, `Classifying ${what}…`);
    view.setStatus(`Classifying ${what}…`);
    try {
      // Always ask for every class so changing k later needs no new request.
      const data = await api.predict(upload, { topK: state.maxTopK, maxTopK: state.maxTopK });
      const entry = {
        id: state.nextId++,
        name,
        url,
        source,
        upload,
        crop,
        predictions: sortPredictions(data.predictions),
        notSure: data.not_sure === true,
        modelVersion: data.model_version,
        elapsedMs: data.elapsed_ms,
      };
      showEntry(entry);
      remember([entry]);
      view.setStatus(summarizePrediction(entry.predictions));
      explain(entry);
    } catch (error) {
      view.showError(error);
      view.clearResult('No result — see the message above.');
      view.setStatus('Classification failed.');
    } finally {
      setBusy(false);
      releaseUnusedUrls();
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
      if (state.current === entry) {
        view.renderExplanation(entry.explanation);
        view.showPrediction(entry, state.topK);
      }
    } catch {
      // Optional: the answer stands without it.
    }
  }

  /** The user picked a class in the chart: show why the model does (or does not) see it. */
  function explainClass(label) {
    const entry = state.current;
    if (!entry?.upload) return Promise.resolve();
    view.setStatus(`Showing which parts of the picture speak for “${label}”…`);
    return explain(entry, label).then(() => {
      if (state.current === entry && entry.explanation?.label === label) {
        view.setStatus(`Showing why for “${label}”.`);
      }
    });
  }

  // ------------------------------------------------------------ crop

  /** The crop square was moved: classify that part of the shown picture, cropped here in the page. */
  async function cropChanged(square) {
    const entry = state.current;
    if (!entry?.source || state.busy) {
      if (entry) view.showCrop(entry.crop ?? null); // nothing to crop, or a request is running
      return;
    }
    let blob;
    try {
      blob = await view.cropPicture(square);
    } catch (error) {
      view.showError({ code: 'crop_failed', message: String(error?.message ?? error) });
      view.showCrop(entry.crop ?? null);
      return;
    }
    const stem = entry.name.replace(/\.[^.]+$/, '');
    const upload = new File([blob], `${stem}-crop.${extensionForType(blob.type)}`, { type: blob.type });
    await classifyPicture({ name: entry.name, url: entry.url, source: entry.source, upload, crop: square });
  }

  /** Back to the centre square: the original file, as the server crops it itself. */
  function resetCrop() {
    const entry = state.current;
    if (!entry?.source || state.busy) return Promise.resolve();
    return classifyPicture({ name: entry.name, url: entry.url, source: entry.source, upload: entry.source, crop: null });
  }

  /**
   * Several files: each checked here first (a file over its own limit is shown on its card and not
   * sent), the others sent in as few requests as the server's batch limits allow (files and bytes
   * per request, from /api/model), one after another. Their cards keep the order of the files.
   */
  async function classifyBatch(files) {
    if (files.length > state.maxBatch) {
      view.showError({
        code: 'too_many_files',
        message: `You selected ${files.length} files; at most ${state.maxBatch} can be classified at once.`,
      });
      return;
    }
    view.showError(null);
    const cards = files.map((file, index) => {
      const check = checkFile(file, { maxBytes: state.maxBytes });
      const card = { id: state.nextId++, name: fileName(file, `image-${index + 1}`), file, crop: null };
      if (check.ok) card.url = createObjectUrl(file);
      else card.error = check; // shown on its card; the file is not uploaded
      return card;
    });
    const uploads = cards.filter((card) => !card.error);
    let requestError = null; // a request that failed, when others were answered

    if (uploads.length > 0) {
      state.current = null;
      state.previewUrl = null;
      view.clearPreview();
      view.clearResult('Classifying…');
      setBusy(true, `Classifying ${uploads.length} images…`);
      view.setStatus(`Classifying ${uploads.length} images…`);
      const outcome = await sendBatch(uploads);
      if (outcome.answered === 0) {
        view.showError(outcome.error);
        view.clearResult('No result — see the message above.');
        view.setStatus('Classification failed.');
        state.batchCards = [];
        view.renderBatch([], null);
        setBusy(false);
        releaseUnusedUrls();
        return;
      }
      requestError = outcome.error;
      setBusy(false);
    }

    for (const card of cards) {
      // Its object URL pins the file already: keeping it costs nothing and allows a crop later.
      if (!card.error) card.source = card.upload = card.file;
      delete card.file;
    }
    state.batchCards = cards;
    const successes = cards.filter((card) => !card.error);
    view.renderBatch(cards, successes[0]?.id ?? null);
    if (successes.length > 0) {
      showEntry(successes[0]);
      explain(successes[0]);
      remember(successes);
      if (requestError) view.showError(requestError); // why some cards have no answer
      view.setStatus(
        `${successes.length} of ${cards.length} images classified. First: ${summarizePrediction(successes[0].predictions)}`,
      );
    } else {
      state.current = null;
      state.previewUrl = null;
      view.clearPreview();
      view.clearResult('No result — see the messages below.');
      view.showError(requestError ?? { code: 'batch_failed', message: '' });
      view.setStatus('None of the images could be classified.');
    }
    releaseUnusedUrls();
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
      maxFiles: state.maxBatch,
      maxBytes: state.maxBatchBytes,
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
        const result = data.results?.[position];
        if (result && Array.isArray(result.predictions)) {
          card.predictions = sortPredictions(result.predictions);
          card.notSure = result.not_sure === true;
          card.modelVersion = data.model_version;
        } else if (result?.error?.code === 'batch_decode_budget' && position > 0) {
          deferred.push(card); // the server decoded the ones before it: send it again
        } else {
          card.error = result?.error ?? { code: 'invalid_response', message: 'No result was returned for this file.' };
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
        return await api.predictBatch(
          group.map((card) => card.file),
          { topK: state.maxTopK, maxTopK: state.maxTopK },
        );
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

  /** A long batch's progress: on the loading overlay and, for screen readers, in the status line. */
  function showProgress(text) {
    view.setBusy(true, text);
    view.setStatus(text);
  }

  /** Files from the picker, the camera input, a drop or a paste. */
  function handleFiles(fileList) {
    const files = Array.from(fileList ?? []).filter(Boolean);
    if (files.length === 0) return Promise.resolve();
    if (state.busy) {
      view.setStatus('Please wait until the current classification has finished.');
      return Promise.resolve();
    }
    if (state.live) stopLive(); // a picture of one's own replaces the live view
    return files.length === 1 ? classifySingle(files[0]) : classifyBatch(files);
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

  function setTopK(value) {
    state.topK = clampTopK(value, DEFAULT_TOP_K, state.maxTopK);
    state.topKChosenByUser = true;
    // Re-render from the stored full distribution: no new request needed.
    if (state.current) view.showPrediction(state.current, state.topK);
  }

  function clearHistory() {
    state.history = [];
    view.renderHistory(state.history, null);
    releaseUnusedUrls();
    view.setStatus('History cleared.');
  }

  // ------------------------------------------------------------ webcam

  async function refreshCameraControls() {
    if (camera.isActive) {
      const inputs = await camera.listVideoInputs();
      state.canSwitchCamera = inputs.length > 1;
    }
    view.setCameraState({
      active: camera.isActive, frozen: camera.frozen, canSwitch: state.canSwitchCamera, live: Boolean(state.live),
    });
  }

  function showCameraError(error) {
    if (error?.code === 'camera_cancelled') return; // stopped on purpose while starting
    // The DOMException text ("NotAllowedError: …") means nothing to users; the
    // code's friendly sentence already says what happened and what to do.
    view.showError({ code: error?.code ?? 'camera_error' });
  }

  /** Run a camera step, announce it (or show why it failed), then sync the camera buttons. */
  async function runCameraAction(action, announcement) {
    try {
      await action();
      view.setStatus(announcement);
    } catch (error) {
      showCameraError(error);
    }
    await refreshCameraControls();
  }

  async function startCamera() {
    view.showError(null);
    view.setCameraState({ active: false, starting: true });
    await runCameraAction(() => camera.start(), 'Camera is on. Press Snap to classify the current frame.');
  }

  async function snap() {
    if (state.busy) return;
    if (state.live) stopLive();
    let blob;
    try {
      blob = await camera.snap({ type: 'image/jpeg' });
    } catch (error) {
      showCameraError(error);
      return;
    }
    await refreshCameraControls();
    const stamp = new Date(now()).toISOString().replace(/[:.]/g, '-');
    const file = new File([blob], `webcam-${stamp}.${extensionForType(blob.type)}`, { type: blob.type });
    await classifySingle(file);
    view.focusCameraControl('retake'); // Snap is hidden now; keep focus nearby
  }

  async function retake() {
    await runCameraAction(() => camera.retake(), 'Live preview resumed.');
    view.focusCameraControl('snap');
  }

  async function switchCamera() {
    await runCameraAction(() => camera.switchCamera(), 'Switched camera.');
  }

  function stopCamera() {
    if (state.live) stopLive();
    camera.stop();
    view.setCameraState({ active: false });
    view.setStatus('Camera stopped.');
    view.focusCameraControl('start');
  }

  /** Never keep the camera (and its indicator light) on for a page nobody is looking at. */
  function pageHidden() {
    const wasActive = camera.isActive;
    if (state.live) stopLive();
    camera.stop();
    view.setCameraState({ active: false });
    if (wasActive) view.setStatus('Camera stopped because the page was hidden.');
  }

  // ------------------------------------------------------------ live webcam

  /**
   * Classify the camera stream until stopped: one frame at a time (the next is grabbed only once
   * the server has answered), at most liveFramesPerSecond, the chart redrawn in place. Frames are
   * not kept in the history. A 429 slows it down; any other failure stops it and says why.
   */
  async function startLive() {
    if (state.live || state.busy || !camera.isActive) return;
    if (camera.frozen) await camera.retake();
    const run = { frames: 0, label: null };
    state.live = run;
    view.showError(null);
    state.batchCards = [];
    view.renderBatch([], null);
    view.renderExplanation(null);
    view.setLive(true);
    await refreshCameraControls();
    view.setStatus(`Live: about ${state.liveFramesPerSecond} frames a second are classified. Press Live again to stop.`);
    while (state.live === run && camera.isActive) {
      const started = now();
      let pause = 1000 / state.liveFramesPerSecond;
      try {
        const frame = await camera.grab();
        const file = new File([frame], `live-${run.frames + 1}.${extensionForType(frame.type)}`, { type: frame.type });
        const data = await api.predict(file, { topK: state.maxTopK, maxTopK: state.maxTopK });
        if (state.live !== run) break;
        showLiveFrame(run, frame, data);
      } catch (error) {
        if (state.live !== run) break;
        if (error?.code !== 'too_many_requests') {
          stopLive();
          if (error?.code?.startsWith('camera_')) showCameraError(error);
          else view.showError(error);
          break;
        }
        pause = 5000; // the server asked us to slow down
        view.setStatus('Live: the server asked for a pause; carrying on in a few seconds.');
      }
      await sleep(Math.max(0, pause - (now() - started)));
    }
  }

  function showLiveFrame(run, frame, data) {
    run.frames += 1;
    const url = createObjectUrl(frame);
    const entry = {
      id: `live-${run.frames}`,
      name: 'Live camera',
      url,
      predictions: sortPredictions(data.predictions),
      notSure: data.not_sure === true,
      modelVersion: data.model_version,
      elapsedMs: data.elapsed_ms,
    };
    state.current = entry;
    state.previewUrl = url;
    view.showPrediction(entry, state.topK);
    view.showCrop(null, { enabled: false });
    releaseUnusedUrls(); // the previous frame
    // Screen readers hear the answer only when it changes, not several times a second.
    const label = entry.predictions[0]?.label;
    if (label !== run.label) {
      run.label = label;
      view.setStatus(`Live: ${summarizePrediction(entry.predictions)}`);
    }
  }

  function stopLive(message = null) {
    if (!state.live) return;
    state.live = null;
    view.setLive(false);
    refreshCameraControls();
    if (message) view.setStatus(message);
  }

  function toggleLive() {
    if (state.live) {
      stopLive('Live mode stopped; the last answer stays on screen.');
      return Promise.resolve();
    }
    return startLive();
  }

  function camerasChanged() {
    if (camera.isActive) refreshCameraControls();
  }

  // ------------------------------------------------------------ model info

  async function loadModelInfo() {
    try {
      const model = await api.getModel();
      // The server publishes its limits once (/api/model's `limits`); the page follows them.
      const limits = model.limits ?? {};
      state.maxBytes = positiveNumber(limits.max_upload_bytes, DEFAULT_MAX_UPLOAD_BYTES);
      state.maxBatch = positiveNumber(limits.max_batch_files, DEFAULT_MAX_BATCH);
      state.maxBatchBytes = positiveNumber(limits.max_batch_bytes, DEFAULT_MAX_BATCH_BYTES);
      state.maxTopK = positiveNumber(limits.top_k?.max, MAX_TOP_K);
      state.liveFramesPerSecond = positiveNumber(limits.live_frames_per_second, DEFAULT_LIVE_FRAMES_PER_SECOND);
      view.setTopKRange(state.maxTopK);
      if (!state.topKChosenByUser && Number.isFinite(limits.top_k?.default)) {
        state.topK = clampTopK(limits.top_k.default, DEFAULT_TOP_K, state.maxTopK);
      }
      state.topK = clampTopK(state.topK, DEFAULT_TOP_K, state.maxTopK);
      view.setTopK(state.topK);
      if (state.current) view.showPrediction(state.current, state.topK);
      view.setLimits({ maxBytes: state.maxBytes, maxBatch: state.maxBatch });
      view.renderModelInfo(model);
      view.showModelNotice('');
    } catch (error) {
      // Non-blocking: predictions still work with the default limits.
      view.showModelNotice(
        `Model details could not be loaded right now (${describeError(error).code}). You can still classify images.`,
      );
    }
  }

  // ------------------------------------------------------------ examples

  async function loadExamples() {
    try {
      state.examples = await api.getExamples();
    } catch {
      state.examples = []; // optional: the page works without them
    }
    view.renderExamples(state.examples);
  }

  /** An example picture: downloaded, then classified like any upload (it appears in the history). */
  async function tryExample(index) {
    const example = state.examples[index];
    if (!example || state.busy) return;
    let file;
    try {
      file = await api.fetchExample(example);
    } catch (error) {
      view.showError({ code: 'example_unavailable', message: error?.message });
      return;
    }
    await handleFiles([file]);
  }

  /** The page's first render, then the model's details and the examples. */
  function start() {
    view.setTopK(state.topK);
    view.setLimits({ maxBytes: state.maxBytes, maxBatch: state.maxBatch });
    view.setCameraState({ active: false });
    view.renderHistory(state.history, null);
    view.clearPreview();
    view.clearResult('Add an image to see the model’s top predictions here.');
    return Promise.all([loadModelInfo(), loadExamples()]);
  }

  return {
    state,
    start,
    loadModelInfo,
    handleFiles,
    handlePaste,
    selectEntry,
    explainClass,
    tryExample,
    cropChanged,
    resetCrop,
    setTopK,
    clearHistory,
    isBusy: () => state.busy,
    startCamera,
    snap,
    retake,
    switchCamera,
    stopCamera,
    toggleLive,
    pageHidden,
    camerasChanged,
  };
}

function defaultSleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function defaultUrls() {
  return { create: (file) => URL.createObjectURL(file), revoke: (url) => URL.revokeObjectURL(url) };
}
