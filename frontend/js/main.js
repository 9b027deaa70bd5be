// Entry point: owns the page state and wires inputs (drop, picker, paste,
// phone capture, webcam) to the API client and the view.

import { createApiClient } from './api.js';
import { Camera } from './camera.js';
import {
  DEFAULT_MAX_BATCH,
  DEFAULT_MAX_UPLOAD_BYTES,
  DEFAULT_TOP_K,
  MAX_TOP_K,
  checkFile,
  clampTopK,
  describeError,
  extensionForType,
  imageFilesFromItems,
  sortPredictions,
  summarizePrediction,
} from './format.js';
import { addToHistory, urlsInUse } from './history.js';
import { createView } from './view.js';

const api = createApiClient();
const view = createView(document);
const el = view.elements;
const fileInput = document.getElementById('file-input');
const captureInput = document.getElementById('capture-input');
const camera = new Camera(document.getElementById('camera-video'));

const state = {
  maxBytes: DEFAULT_MAX_UPLOAD_BYTES,
  maxBatch: DEFAULT_MAX_BATCH,
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
  nextId: 1,
  liveUrls: new Set(),
};

// ---------------------------------------------------------------- object URLs
// Every preview/thumbnail is an object URL that pins its file in memory, so
// URLs are revoked as soon as nothing on screen (preview, history, batch) uses them.

function createObjectUrl(file) {
  const url = URL.createObjectURL(file);
  state.liveUrls.add(url);
  return url;
}

function releaseUnusedUrls() {
  const keep = urlsInUse(state.history, state.batchCards, [state.current, { url: state.previewUrl }]);
  for (const url of state.liveUrls) {
    if (!keep.has(url)) {
      URL.revokeObjectURL(url);
      state.liveUrls.delete(url);
    }
  }
}

// ---------------------------------------------------------------- showing results

function showEntry(entry) {
  state.current = entry;
  state.previewUrl = entry.url;
  view.showPrediction(entry, state.topK);
  view.markActive(entry.id);
}

function findEntry(id) {
  return [...state.history, ...state.batchCards].find((entry) => entry.id === id && !entry.error) ?? null;
}

function selectEntry(id) {
  const entry = findEntry(id);
  if (!entry) return;
  view.showError(null);
  showEntry(entry);
  view.setStatus(`Showing ${entry.name}. ${summarizePrediction(entry.predictions)}`);
}

function remember(entries) {
  const { history } = addToHistory(state.history, entries);
  state.history = history;
  view.renderHistory(state.history, state.current?.id);
}

function setBusy(busy, text) {
  state.busy = busy;
  view.setBusy(busy, text);
  if (busy) revealResult();
}

// On phones the result card sits below the inputs; bring it into view so the
// user sees the spinner and then the answer without hunting for it.
function revealResult() {
  const section = el.resultSection;
  const singleColumn = window.matchMedia?.('(max-width: 899px)').matches;
  if (!singleColumn || typeof section.scrollIntoView !== 'function') return;
  const { top } = section.getBoundingClientRect();
  if (top >= 0 && top <= window.innerHeight * 0.6) return; // already comfortably visible
  const reduceMotion = window.matchMedia?.('(prefers-reduced-motion: reduce)').matches;
  section.scrollIntoView({ behavior: reduceMotion ? 'auto' : 'smooth', block: 'start' });
}

function fileName(file, fallback) {
  return typeof file?.name === 'string' && file.name ? file.name : fallback;
}

// ---------------------------------------------------------------- classification

async function classifySingle(file) {
  const check = checkFile(file, { maxBytes: state.maxBytes });
  if (!check.ok) {
    view.showError(check); // rejected locally: no request is made
    return;
  }
  const name = fileName(file, 'image');
  view.showError(null);
  state.batchCards = [];
  view.renderBatch([], null);
  state.current = null;
  // Local copy: the user may open a history item while this request runs.
  const url = createObjectUrl(file);
  state.previewUrl = url;
  view.showPreview(url, name);
  view.clearResult('Classifying…');
  setBusy(true, `Classifying ${name}…`);
  view.setStatus(`Classifying ${name}…`);
  try {
    // Always ask for every class so changing k later needs no new request.
    const data = await api.predict(file, { topK: state.maxTopK, maxTopK: state.maxTopK });
    const entry = {
      id: state.nextId++,
      name,
      url,
      predictions: sortPredictions(data.predictions),
      modelVersion: data.model_version,
      elapsedMs: data.elapsed_ms,
    };
    showEntry(entry);
    remember([entry]);
    view.setStatus(summarizePrediction(entry.predictions));
  } catch (error) {
    view.showError(error);
    view.clearResult('No result — see the message above.');
    view.setStatus('Classification failed.');
  } finally {
    setBusy(false);
    releaseUnusedUrls();
  }
}

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
    const card = { id: state.nextId++, name: fileName(file, `image-${index + 1}`), file };
    if (check.ok) card.url = createObjectUrl(file);
    else card.error = check; // shown on its card; the file is not uploaded
    return card;
  });
  const uploads = cards.filter((card) => !card.error);

  if (uploads.length > 0) {
    state.current = null;
    state.previewUrl = null;
    view.clearPreview();
    view.clearResult('Classifying…');
    setBusy(true, `Classifying ${uploads.length} images…`);
    view.setStatus(`Classifying ${uploads.length} images…`);
    try {
      const data = await api.predictBatch(
        uploads.map((card) => card.file),
        { topK: state.maxTopK, maxTopK: state.maxTopK },
      );
      // Results come back in upload order, one per uploaded file.
      uploads.forEach((card, index) => {
        const result = data.results[index];
        if (result && Array.isArray(result.predictions)) {
          card.predictions = sortPredictions(result.predictions);
          card.modelVersion = data.model_version;
        } else {
          card.error = result?.error ?? { code: 'invalid_response', message: 'No result was returned for this file.' };
        }
      });
    } catch (error) {
      view.showError(error);
      view.clearResult('No result — see the message above.');
      view.setStatus('Classification failed.');
      state.batchCards = [];
      view.renderBatch([], null);
      setBusy(false);
      releaseUnusedUrls();
      return;
    }
    setBusy(false);
  }

  for (const card of cards) delete card.file; // the object URL already pins what is needed
  state.batchCards = cards;
  const successes = cards.filter((card) => !card.error);
  view.renderBatch(cards, successes[0]?.id ?? null);
  if (successes.length > 0) {
    showEntry(successes[0]);
    remember(successes);
    view.setStatus(
      `${successes.length} of ${cards.length} images classified. First: ${summarizePrediction(successes[0].predictions)}`,
    );
  } else {
    state.current = null;
    state.previewUrl = null;
    view.clearPreview();
    view.clearResult('No result — see the messages below.');
    view.showError({ code: 'batch_failed', message: '' });
    view.setStatus('None of the images could be classified.');
  }
  releaseUnusedUrls();
}

function handleFiles(fileList) {
  const files = Array.from(fileList ?? []).filter(Boolean);
  if (files.length === 0) return;
  if (state.busy) {
    view.setStatus('Please wait until the current classification has finished.');
    return;
  }
  if (files.length === 1) classifySingle(files[0]);
  else classifyBatch(files);
}

// ---------------------------------------------------------------- file inputs

function openPicker(input) {
  if (!state.busy) input.click();
}

for (const input of [fileInput, captureInput]) {
  input.addEventListener('change', () => {
    const files = Array.from(input.files ?? []);
    input.value = ''; // so choosing the same file again still fires "change"
    handleFiles(files);
  });
}

document.getElementById('choose-button').addEventListener('click', () => openPicker(fileInput));
document.getElementById('capture-button').addEventListener('click', () => openPicker(captureInput));

// ---------------------------------------------------------------- drop zone

const dropzone = el.dropzone;

dropzone.addEventListener('click', () => openPicker(fileInput));
dropzone.addEventListener('keydown', (event) => {
  if (event.key === 'Enter' || event.key === ' ' || event.key === 'Spacebar') {
    event.preventDefault(); // Space would otherwise scroll the page
    openPicker(fileInput);
  }
});

function carriesFiles(event) {
  return Array.from(event.dataTransfer?.types ?? []).includes('Files');
}

for (const type of ['dragenter', 'dragover']) {
  dropzone.addEventListener(type, (event) => {
    if (!carriesFiles(event)) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = state.busy ? 'none' : 'copy';
    view.setDragOver(true);
  });
}
dropzone.addEventListener('dragleave', (event) => {
  // dragleave also fires when moving onto a child element; ignore those.
  if (event.relatedTarget && dropzone.contains(event.relatedTarget)) return;
  view.setDragOver(false);
});
dropzone.addEventListener('drop', (event) => {
  event.preventDefault();
  view.setDragOver(false);
  handleFiles(event.dataTransfer?.files);
});

// A file dropped just outside the zone would otherwise replace the whole page.
for (const type of ['dragover', 'drop']) {
  window.addEventListener(type, (event) => {
    if (carriesFiles(event) && !dropzone.contains(event.target)) event.preventDefault();
  });
}

// ---------------------------------------------------------------- paste

document.addEventListener('paste', (event) => {
  const data = event.clipboardData;
  let files = imageFilesFromItems(data?.items);
  if (files.length === 0) {
    files = Array.from(data?.files ?? []).filter((file) => String(file.type).startsWith('image/'));
  }
  if (files.length === 0) return; // not an image: leave normal paste behaviour alone
  event.preventDefault();
  const stamp = Date.now();
  const named = files.map((file, index) =>
    file.name
      ? file
      : new File([file], `pasted-${stamp}-${index + 1}.${extensionForType(file.type)}`, { type: file.type }),
  );
  handleFiles(named);
});

// ---------------------------------------------------------------- k selector

el.topK.addEventListener('change', () => {
  state.topK = clampTopK(el.topK.value, DEFAULT_TOP_K, state.maxTopK);
  state.topKChosenByUser = true;
  // Re-render from the stored full distribution: no new request needed.
  if (state.current) view.showPrediction(state.current, state.topK);
});

// ---------------------------------------------------------------- history & batch

function entryIdFrom(event) {
  const node = event.target.closest('[data-entry-id]');
  return node ? Number(node.dataset.entryId) : null;
}

for (const container of [el.history, el.batchList]) {
  container.addEventListener('click', (event) => {
    const id = entryIdFrom(event);
    if (id !== null) selectEntry(id);
  });
}

el.historyClear.addEventListener('click', () => {
  state.history = [];
  view.renderHistory(state.history, null);
  releaseUnusedUrls();
  view.setStatus('History cleared.');
});

document.getElementById('error-dismiss').addEventListener('click', () => view.showError(null));

// ---------------------------------------------------------------- webcam

async function refreshCameraControls() {
  if (camera.isActive) {
    const inputs = await camera.listVideoInputs();
    state.canSwitchCamera = inputs.length > 1;
  }
  view.setCameraState({ active: camera.isActive, frozen: camera.frozen, canSwitch: state.canSwitchCamera });
}

function showCameraError(error) {
  if (error?.code === 'camera_cancelled') return; // stopped on purpose while starting
  // The DOMException text ("NotAllowedError: …") means nothing to users; the
  // code's friendly sentence already says what happened and what to do.
  view.showError({ code: error?.code ?? 'camera_error' });
}

el.cameraStart.addEventListener('click', async () => {
  view.showError(null);
  view.setCameraState({ active: false, starting: true });
  await runCameraAction(() => camera.start(), 'Camera is on. Press Snap to classify the current frame.');
});

el.cameraSnap.addEventListener('click', async () => {
  if (state.busy) return;
  let blob;
  try {
    blob = await camera.snap({ type: 'image/jpeg' });
  } catch (error) {
    showCameraError(error);
    return;
  }
  await refreshCameraControls();
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const file = new File([blob], `webcam-${stamp}.${extensionForType(blob.type)}`, { type: blob.type });
  await classifySingle(file);
  el.cameraRetake.focus({ preventScroll: true }); // Snap is hidden now; keep focus nearby
});

el.cameraRetake.addEventListener('click', async () => {
  await runCameraAction(() => camera.retake(), 'Live preview resumed.');
  if (!el.cameraSnap.hidden) el.cameraSnap.focus({ preventScroll: true });
});

el.cameraSwitch.addEventListener('click', async () => {
  await runCameraAction(() => camera.switchCamera(), 'Switched camera.');
});

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

el.cameraStop.addEventListener('click', () => {
  camera.stop();
  view.setCameraState({ active: false });
  view.setStatus('Camera stopped.');
  el.cameraStart.focus({ preventScroll: true });
});

// Never keep the camera (and its indicator light) on for a page nobody is looking at.
document.addEventListener('visibilitychange', () => {
  if (!document.hidden) return;
  const wasActive = camera.isActive;
  camera.stop();
  view.setCameraState({ active: false });
  if (wasActive) view.setStatus('Camera stopped because the page was hidden.');
});
window.addEventListener('pagehide', () => camera.stop());
navigator.mediaDevices?.addEventListener?.('devicechange', () => {
  if (camera.isActive) refreshCameraControls();
});

// ---------------------------------------------------------------- model info

function positiveNumber(value, fallback) {
  return Number.isFinite(value) && value > 0 ? value : fallback;
}

async function loadModelInfo() {
  try {
    const model = await api.getModel();
    // The server publishes its limits once (/api/model's `limits`); the page follows them.
    const limits = model.limits ?? {};
    state.maxBytes = positiveNumber(limits.max_upload_bytes, DEFAULT_MAX_UPLOAD_BYTES);
    state.maxBatch = positiveNumber(limits.max_batch_files, DEFAULT_MAX_BATCH);
    state.maxTopK = positiveNumber(limits.top_k?.max, MAX_TOP_K);
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

// ---------------------------------------------------------------- start

view.setTopK(state.topK);
view.setLimits({ maxBytes: state.maxBytes, maxBatch: state.maxBatch });
view.setCameraState({ active: false });
view.renderHistory(state.history, null);
view.clearPreview();
view.clearResult('Add an image to see the model’s top predictions here.');
loadModelInfo();
