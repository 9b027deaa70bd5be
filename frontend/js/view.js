// The view owns the DOM: every element, every listener, every update except the chart itself.
// The controller decides *what* to show and calls render/show/set…; the view calls the
// controller back through the handlers given to its bind… functions (main.js wires the two).
// Elements are looked up by id once.
// Content is built with textContent/createElement (never innerHTML) because
// filenames and server messages are untrusted text.

import { clearChart, renderChart } from './chart.js';
import { createCropView } from './crop-view.js';
import {
  FINE_TUNING_PARAMS,
  fineTuningSummary,
  calibrationSummary,
  describeError,
  formatBytes,
  describeHeatmap,
  formatPercent,
  imageFilesFromItems,
  overlayColour,
  lowConfidenceMessage,
  topK,
} from './format.js';

const BUSY_CONTROL_IDS = ['choose-button', 'capture-button', 'camera-snap', 'camera-retake', 'camera-switch'];

export function createView(doc = document) {
  const byId = (id) => {
    const element = doc.getElementById(id);
    if (!element) throw new Error(`Missing element #${id} in index.html`);
    return element;
  };

  const el = {
    dropzone: byId('dropzone'),
    status: byId('status'),
    error: byId('error'),
    errorTitle: byId('error-title'),
    errorDetail: byId('error-detail'),
    loading: byId('loading'),
    resultSection: byId('result-section'),
    preview: byId('preview'),
    previewPlaceholder: byId('preview-placeholder'),
    previewCaption: byId('preview-caption'),
    results: byId('results'),
    resultsEmpty: byId('results-empty'),
    lowConfidence: byId('low-confidence'),
    resultMeta: byId('result-meta'),
    topK: byId('top-k'),
    limits: byId('limits'),
    batchSection: byId('batch-section'),
    batchSummary: byId('batch-summary'),
    batchList: byId('batch-list'),
    history: byId('history'),
    historyEmpty: byId('history-empty'),
    historyClear: byId('history-clear'),
    modelNotice: byId('model-notice'),
    modelAccuracy: byId('model-accuracy'),
    modelVersion: byId('model-version'),
    modelSha: byId('model-sha'),
    modelInput: byId('model-input'),
    modelArchitecture: byId('model-architecture'),
    modelClasses: byId('model-classes'),
    modelParams: byId('model-params'),
    modelParamsWrap: byId('model-params-wrap'),
    reportConfusion: byId('report-confusion'),
    reportReliability: byId('report-reliability'),
    modelCalibration: byId('model-calibration'),
    reportGrid: byId('report-grid'),
    cameraStage: byId('camera-stage'),
    cameraStart: byId('camera-start'),
    cameraSnap: byId('camera-snap'),
    cameraRetake: byId('camera-retake'),
    cameraSwitch: byId('camera-switch'),
    cameraStop: byId('camera-stop'),
    cameraLive: byId('camera-live'),
    examples: byId('examples'),
    examplesList: byId('examples-list'),
    cameraBadge: byId('camera-badge'),
    fileInput: byId('file-input'),
    captureInput: byId('capture-input'),
    chooseButton: byId('choose-button'),
    captureButton: byId('capture-button'),
    errorDismiss: byId('error-dismiss'),
    seen: byId('seen'),
    seenImage: byId('seen-image'),
    seenOverlay: byId('seen-overlay'),
    seenWhy: byId('seen-why'),
    seenLegend: byId('seen-legend'),
    crop: byId('crop'),
    cropHandle: byId('crop-handle'),
    cropControls: byId('crop-controls'),
    cropPosition: byId('crop-position'),
    cropReset: byId('crop-reset'),
    previewOverlay: byId('preview-overlay'),
  };
  const win = doc.defaultView;

  let classCount = 10;

  const crop = createCropView({
    doc, win, preview: el.preview, box: el.crop, handle: el.cropHandle, controls: el.cropControls,
    position: el.cropPosition, resetButton: el.cropReset, overlay: el.previewOverlay,
  });

  // CIFAR-10 images are 32×32: scale tiny images with crisp pixels instead of blur.
  el.preview.addEventListener('load', () => {
    el.preview.classList.toggle('is-pixelated', el.preview.naturalWidth > 0 && el.preview.naturalWidth <= 64);
    el.previewPlaceholder.hidden = true;
  });
  // A file the browser cannot decode (the server may still accept it) should not
  // leave a broken-image icon behind.
  el.preview.addEventListener('error', () => {
    if (!el.preview.getAttribute('src')) return;
    el.preview.hidden = true;
    el.previewPlaceholder.textContent = 'This browser cannot show this file (an iPhone HEIC photo, say); the model reads it all the same.';
    el.previewPlaceholder.hidden = false;
  });

  for (const figureImage of [el.reportConfusion, el.reportReliability, el.reportGrid]) {
    figureImage.addEventListener('error', () => {
      const figure = figureImage.closest('figure');
      const fallback = figure?.querySelector('.report-missing');
      figureImage.hidden = true;
      if (fallback) fallback.hidden = false;
    });
  }

  function setStatus(text) {
    el.status.textContent = text;
  }

  function setBusy(busy, text = 'Classifying…') {
    el.loading.hidden = !busy;
    el.loading.querySelector('.loading-text').textContent = text;
    el.resultSection.setAttribute('aria-busy', String(busy));
    el.dropzone.setAttribute('aria-disabled', String(busy));
    el.dropzone.classList.toggle('is-busy', busy);
    for (const id of BUSY_CONTROL_IDS) {
      byId(id).disabled = busy;
    }
  }

  /** Show an error (anything describeError understands) or hide it with `null`. */
  function showError(error) {
    if (!error) {
      el.error.hidden = true;
      el.errorTitle.textContent = '';
      el.errorDetail.textContent = '';
      el.errorDetail.hidden = true;
      return;
    }
    const { title, detail } = describeError(error);
    el.errorTitle.textContent = title;
    el.errorDetail.textContent = detail;
    el.errorDetail.hidden = !detail;
    el.error.hidden = false;
  }

  function showPreview(url, name) {
    el.previewPlaceholder.hidden = true;
    el.preview.hidden = false;
    el.preview.alt = name ? `Image being classified: ${name}` : 'Image being classified';
    if (el.preview.getAttribute('src') !== url) el.preview.src = url;
    el.previewCaption.textContent = name ?? '';
  }

  function clearPreview() {
    crop.show(null, { enabled: false });
    el.preview.hidden = true;
    el.preview.removeAttribute('src');
    el.preview.alt = '';
    el.previewCaption.textContent = '';
    el.previewPlaceholder.textContent = 'No image yet';
    el.previewPlaceholder.hidden = false;
  }

  /** Render a stored prediction entry ({name, url, predictions, notSure, modelVersion, elapsedMs}). */
  function showPrediction(entry, k) {
    showPreview(entry.url, entry.name);
    // Class names are buttons that ask why, once there is a picture to explain.
    renderChart(el.results, entry.predictions, k, {
      pickable: Boolean(entry.upload),
      explained: entry.explanation?.label ?? null,
    });
    el.resultsEmpty.hidden = true;
    el.lowConfidence.textContent = lowConfidenceMessage(classCount);
    // In live mode the note keeps its space while invisible, so the chart does not jump.
    // The server says whether the model is sure (not_sure: below the model's own threshold).
    const notSure = entry.notSure === true;
    const live = el.resultSection.classList.contains('is-live');
    el.lowConfidence.hidden = !notSure && !live;
    el.lowConfidence.classList.toggle('is-invisible', live && !notSure);
    const meta = [];
    if (entry.modelVersion) meta.push(`Model ${entry.modelVersion}`);
    if (Number.isFinite(entry.elapsedMs)) meta.push(`${entry.elapsedMs.toFixed(1)} ms on the server`);
    el.resultMeta.textContent = meta.join(' · ');
  }

  function clearResult(message = 'No result yet.') {
    clearChart(el.results);
    el.resultsEmpty.textContent = message;
    el.resultsEmpty.hidden = false;
    el.lowConfidence.hidden = true;
    el.resultMeta.textContent = '';
  }

  function setTopK(k) {
    el.topK.value = String(k);
  }

  /** Offer k = 1…max (the model's class count), keeping the current choice where it fits. */
  function setTopKRange(max) {
    const current = el.topK.value;
    el.topK.replaceChildren(
      ...Array.from({ length: max }, (_, index) => {
        const option = doc.createElement('option');
        option.value = option.textContent = String(index + 1);
        return option;
      }),
    );
    if (Number(current) <= max) el.topK.value = current;
  }

  function setLimits({ maxBytes, maxBatch }) {
    el.limits.textContent = `Images up to ${formatBytes(maxBytes)} each · up to ${maxBatch} at once.`;
  }

  function setDragOver(active) {
    el.dropzone.classList.toggle('is-dragover', active);
  }

  function thumbnail(url) {
    const image = doc.createElement('img');
    image.className = 'thumb';
    image.alt = '';
    image.decoding = 'async';
    image.src = url;
    // Undecodable files keep a neutral tile rather than a broken-image icon.
    image.addEventListener('error', () => image.classList.add('is-broken'), { once: true });
    return image;
  }

  function topLine(predictions) {
    const [best] = topK(predictions, 1);
    const line = doc.createElement('span');
    line.className = 'item-top';
    const label = doc.createElement('span');
    label.className = 'item-label';
    label.textContent = best ? best.label : '—';
    const value = doc.createElement('span');
    value.className = 'item-value';
    value.textContent = best ? formatPercent(best.probability) : '';
    line.append(label, ' ', value);
    return line;
  }

  function fileNameLine(name) {
    const line = doc.createElement('span');
    line.className = 'item-name';
    line.textContent = name;
    line.title = name;
    return line;
  }

  /** History strip, most recent first. Items are buttons (Enter/Space for free). */
  function renderHistory(history, activeId) {
    const items = history.map((entry) => {
      const li = doc.createElement('li');
      const button = doc.createElement('button');
      button.type = 'button';
      button.className = 'history-item';
      button.dataset.testid = 'history-item';
      button.dataset.entryId = String(entry.id);
      if (entry.id === activeId) button.setAttribute('aria-current', 'true');
      // Crops of one picture share its thumbnail: the name line says which is a crop.
      button.append(thumbnail(entry.url), topLine(entry.predictions),
        fileNameLine(entry.crop ? `${entry.name} (crop)` : entry.name));
      li.append(button);
      return li;
    });
    el.history.replaceChildren(...items);
    el.historyEmpty.hidden = history.length > 0;
    el.historyClear.hidden = history.length === 0;
  }

  /**
   * Batch result cards in upload order. Successful cards are buttons that show
   * their chart; failed ones are static and carry the error message.
   * @param {{id:number, name:string, url?:string, predictions?:object[], error?:object}[]} cards
   */
  function renderBatch(cards, activeId) {
    const items = cards.map((card) => {
      const li = doc.createElement('li');
      let node;
      if (card.error) {
        node = doc.createElement('div');
        node.className = 'batch-item is-error';
        const icon = doc.createElement('span');
        icon.className = 'thumb thumb-error';
        icon.setAttribute('aria-hidden', 'true');
        icon.textContent = '!';
        const { title, detail } = describeError(card.error);
        const message = doc.createElement('span');
        message.className = 'item-error';
        message.textContent = detail || title;
        node.append(icon, fileNameLine(card.name), message);
      } else {
        node = doc.createElement('button');
        node.type = 'button';
        node.className = 'batch-item';
        node.dataset.entryId = String(card.id);
        if (card.id === activeId) node.setAttribute('aria-current', 'true');
        node.append(thumbnail(card.url), fileNameLine(card.name), topLine(card.predictions));
      }
      node.dataset.testid = 'batch-item';
      li.append(node);
      return li;
    });
    el.batchList.replaceChildren(...items);
    const ok = cards.filter((card) => !card.error).length;
    el.batchSummary.textContent = `${ok} of ${cards.length} ${cards.length === 1 ? 'image' : 'images'} classified.`;
    el.batchSection.hidden = cards.length === 0;
  }

  function markActive(activeId) {
    for (const node of doc.querySelectorAll('[data-entry-id]')) {
      if (node.dataset.entryId === String(activeId)) node.setAttribute('aria-current', 'true');
      else node.removeAttribute('aria-current');
    }
  }

  function showModelNotice(text) {
    el.modelNotice.textContent = text;
    el.modelNotice.hidden = !text;
  }

  function renderModelInfo(model) {
    const classes = Array.isArray(model?.classes) ? model.classes : [];
    if (classes.length) classCount = classes.length;
    el.modelCalibration.textContent = calibrationSummary(model?.calibration);
    el.modelAccuracy.textContent = Number.isFinite(model?.accuracy) ? formatPercent(model.accuracy) : '—';
    el.modelVersion.textContent = model?.version ? String(model.version) : '—';
    const sha = typeof model?.sha256 === 'string' ? model.sha256 : '';
    el.modelSha.textContent = sha ? `${sha.slice(0, 12)}…` : '—';
    el.modelSha.title = sha;
    el.modelInput.textContent = Array.isArray(model?.input_size) ? model.input_size.join(' × ') : '—';
    const architecture = typeof model?.architecture === 'string' ? model.architecture : '';
    el.modelArchitecture.textContent = architecture ? `Network: ${architecture}.` : '';
    el.modelArchitecture.hidden = !architecture;

    el.modelClasses.replaceChildren(
      ...classes.map((name) => {
        const li = doc.createElement('li');
        li.textContent = name;
        return li;
      }),
    );

    const fineTuning = fineTuningSummary(model?.fine_tuning);
    const params = (model?.params && typeof model.params === 'object' ? Object.entries(model.params) : [])
      .filter(([key]) => !(fineTuning && FINE_TUNING_PARAMS.includes(key)));
    if (fineTuning) params.push(['fine-tuned with', fineTuning]);
    el.modelParams.replaceChildren(
      ...params.flatMap(([key, value]) => {
        const dt = doc.createElement('dt');
        dt.textContent = key;
        const dd = doc.createElement('dd');
        dd.textContent = value !== null && typeof value === 'object' ? JSON.stringify(value) : String(value);
        return [dt, dd];
      }),
    );
    el.modelParamsWrap.hidden = params.length === 0;

    const reports = model?.reports ?? {};
    setReport(el.reportConfusion, reports.confusion_matrix);
    setReport(el.reportGrid, reports.grid_search);
    setReport(el.reportReliability, reports.reliability);
  }

  function setReport(image, url) {
    const figure = image.closest('figure');
    if (typeof url !== 'string' || !url) {
      if (figure) figure.hidden = true;
      return;
    }
    if (figure) figure.hidden = false;
    image.hidden = false;
    image.src = url;
  }

  // ------------------------------------------------------------ input: bind… (handler)

  /**
   * Pictures from the file picker, the phone-camera input, the drop zone (click, Enter/Space,
   * drag and drop) reach ``handler(files)``; ``isBusy()`` says whether to refuse a drop.
   */
  function bindFiles(handler, { isBusy = () => false } = {}) {
    const openPicker = (input) => {
      if (!isBusy()) input.click();
    };
    for (const input of [el.fileInput, el.captureInput]) {
      input.addEventListener('change', () => {
        const files = Array.from(input.files ?? []);
        input.value = ''; // so choosing the same file again still fires "change"
        handler(files);
      });
    }
    el.chooseButton.addEventListener('click', () => openPicker(el.fileInput));
    el.captureButton.addEventListener('click', () => openPicker(el.captureInput));
    el.dropzone.addEventListener('click', () => openPicker(el.fileInput));
    el.dropzone.addEventListener('keydown', (event) => {
      if (event.key === 'Enter' || event.key === ' ' || event.key === 'Spacebar') {
        event.preventDefault(); // Space would otherwise scroll the page
        openPicker(el.fileInput);
      }
    });
    const carriesFiles = (event) => Array.from(event.dataTransfer?.types ?? []).includes('Files');
    for (const type of ['dragenter', 'dragover']) {
      el.dropzone.addEventListener(type, (event) => {
        if (!carriesFiles(event)) return;
        event.preventDefault();
        event.dataTransfer.dropEffect = isBusy() ? 'none' : 'copy';
        setDragOver(true);
      });
    }
    el.dropzone.addEventListener('dragleave', (event) => {
      // dragleave also fires when moving onto a child element; ignore those.
      if (event.relatedTarget && el.dropzone.contains(event.relatedTarget)) return;
      setDragOver(false);
    });
    el.dropzone.addEventListener('drop', (event) => {
      event.preventDefault();
      setDragOver(false);
      handler(Array.from(event.dataTransfer?.files ?? []));
    });
    // A file dropped just outside the zone would otherwise replace the whole page.
    for (const type of ['dragover', 'drop']) {
      win.addEventListener(type, (event) => {
        if (carriesFiles(event) && !el.dropzone.contains(event.target)) event.preventDefault();
      });
    }
  }

  /** Pasted pictures reach ``handler(files)``; any other paste behaves as usual. */
  function bindPaste(handler) {
    doc.addEventListener('paste', (event) => {
      const data = event.clipboardData;
      let files = imageFilesFromItems(data?.items);
      if (files.length === 0) {
        files = Array.from(data?.files ?? []).filter((file) => String(file.type).startsWith('image/'));
      }
      if (files.length === 0) return; // not an image: leave normal paste behaviour alone
      event.preventDefault();
      handler(files);
    });
  }

  function bindTopK(handler) {
    el.topK.addEventListener('change', () => handler(el.topK.value));
  }

  /** A click on a history item or a batch card: ``handler(entryId)``. */
  function bindSelectEntry(handler) {
    for (const container of [el.history, el.batchList]) {
      container.addEventListener('click', (event) => {
        const node = event.target.closest('[data-entry-id]');
        if (node) handler(Number(node.dataset.entryId));
      });
    }
  }

  function bindClearHistory(handler) {
    el.historyClear.addEventListener('click', handler);
  }

  function bindDismissError() {
    el.errorDismiss.addEventListener('click', () => showError(null));
  }

  /** Camera buttons, plus the page being hidden or closed and cameras coming and going. */
  function bindCamera({ start, snap, retake, switchCamera, stop, live, pageHidden, camerasChanged }) {
    el.cameraStart.addEventListener('click', start);
    el.cameraLive.addEventListener('click', live);
    el.cameraSnap.addEventListener('click', snap);
    el.cameraRetake.addEventListener('click', retake);
    el.cameraSwitch.addEventListener('click', switchCamera);
    el.cameraStop.addEventListener('click', stop);
    doc.addEventListener('visibilitychange', () => {
      if (doc.hidden) pageHidden();
    });
    win.addEventListener('pagehide', pageHidden);
    win.navigator.mediaDevices?.addEventListener?.('devicechange', camerasChanged);
  }

  /** Keep keyboard focus on the camera control that replaced the one just used. */
  function focusCameraControl(which) {
    const control = { start: el.cameraStart, snap: el.cameraSnap, retake: el.cameraRetake }[which];
    if (control && !control.hidden) control.focus({ preventScroll: true });
  }

  // On phones the result card sits below the inputs; bring it into view so the
  // user sees the spinner and then the answer without hunting for it.
  function revealResult() {
    const section = el.resultSection;
    const singleColumn = win.matchMedia?.('(max-width: 899px)').matches;
    if (!singleColumn || typeof section.scrollIntoView !== 'function') return;
    const { top } = section.getBoundingClientRect();
    if (top >= 0 && top <= win.innerHeight * 0.6) return; // already comfortably visible
    const reduceMotion = win.matchMedia?.('(prefers-reduced-motion: reduce)').matches;
    section.scrollIntoView({ behavior: reduceMotion ? 'auto' : 'smooth', block: 'start' });
  }

  // ------------------------------------------------------------ why this answer

  /** Paint an occlusion map into a canvas of its size: red helped the class, blue hurt it. */
  function paintHeatmap(canvas, heatmap) {
    const rows = heatmap.length;
    const cols = heatmap[0]?.length ?? 0;
    canvas.width = cols;
    canvas.height = rows;
    const context = canvas.getContext('2d');
    if (!context || !rows || !cols) return;
    const pixels = context.createImageData(cols, rows);
    const max = Math.max(...heatmap.flat().map(Math.abs));
    heatmap.forEach((row, r) => row.forEach((value, c) => {
      pixels.data.set(overlayColour(value, max), 4 * (r * cols + c));
    }));
    context.putImageData(pixels, 0, 0);
  }

  function showOverlays() {
    const show = el.seenWhy.checked && !el.seen.hidden;
    el.seenOverlay.hidden = !show;
    el.previewOverlay.hidden = !show || crop.isAdjusting();
  }

  /**
   * What the model saw ({input_png, heatmap, label}) with its occlusion map, both in the panel and
   * over the crop square on the preview; null hides them.
   */
  function renderExplanation(explanation) {
    if (!explanation) {
      el.seen.hidden = true;
      showOverlays();
      return;
    }
    el.seenImage.src = explanation.input_png;
    const { heatmap, label } = explanation;
    paintHeatmap(el.seenOverlay, heatmap);
    paintHeatmap(el.previewOverlay, heatmap);
    el.seenLegend.textContent = describeHeatmap(heatmap, label) +
      ' Blue: covering that part made the answer more likely.';
    el.seen.hidden = false;
    crop.settle();
    showOverlays();
  }

  /** One button per example picture (its thumbnail and class); none hides the row. */
  function renderExamples(examples) {
    el.examplesList.replaceChildren(
      ...examples.map((example, index) => {
        const li = doc.createElement('li');
        const button = doc.createElement('button');
        button.type = 'button';
        button.className = 'example';
        button.dataset.testid = 'example';
        button.dataset.index = String(index);
        button.title = example.source ? `${example.label}: ${example.source}` : example.label;
        const image = thumbnail(example.url);
        image.classList.add('is-pixelated');
        const label = doc.createElement('span');
        label.textContent = example.label;
        button.append(image, label);
        li.append(button);
        return li;
      }),
    );
    el.examples.hidden = examples.length === 0;
  }

  /** An example clicked (or chosen with Enter/Space): ``handler(index)``. */
  function bindExamples(handler) {
    el.examplesList.addEventListener('click', (event) => {
      const button = event.target.closest('[data-index]');
      if (button) handler(Number(button.dataset.index));
    });
  }

  /** A class name picked in the chart: ``handler(label)``. */
  function bindExplainClass(handler) {
    el.results.addEventListener('click', (event) => {
      const button = event.target.closest('[data-pick]');
      if (button) handler(button.dataset.pick);
    });
  }

  function bindExplanationToggle() {
    el.seenWhy.addEventListener('change', showOverlays);
  }

  /**
   * Live mode on or off: the chart is redrawn in place several times a second, so the "Not sure"
   * note keeps its space (no jumps) and the preview shows the frame each answer is for.
   */
  function setLive(on) {
    el.resultSection.classList.toggle('is-live', on);
    if (!on && el.lowConfidence.classList.contains('is-invisible')) {
      el.lowConfidence.classList.remove('is-invisible');
      el.lowConfidence.hidden = true;
    }
    el.cameraBadge.textContent = on ? 'Live' : 'Snapshot';
  }

  /** Camera controls: Snap/Live/Stop only while on, Retake only on a frozen frame. */
  function setCameraState({ active, frozen = false, canSwitch = false, starting = false, live = false }) {
    el.cameraStage.hidden = !active;
    el.cameraStart.hidden = active;
    el.cameraStart.disabled = starting;
    el.cameraStart.textContent = starting ? 'Starting camera…' : 'Start camera';
    el.cameraSnap.hidden = !active || frozen;
    el.cameraRetake.hidden = !active || !frozen;
    el.cameraSwitch.hidden = !active || !canSwitch;
    el.cameraStop.hidden = !active;
    el.cameraLive.hidden = !active || frozen;
    el.cameraLive.setAttribute('aria-pressed', String(live));
    el.cameraStage.classList.toggle('is-frozen', frozen);
    el.cameraStage.classList.toggle('is-live', live);
  }

  return {
    bindExplanationToggle,
    bindExplainClass,
    renderExplanation,
    renderExamples,
    bindExamples,
    bindCrop: crop.bind,
    showCrop: crop.show,
    cropPicture: crop.cropPicture,
    bindFiles,
    bindPaste,
    bindTopK,
    bindSelectEntry,
    bindClearHistory,
    bindDismissError,
    bindCamera,
    focusCameraControl,
    revealResult,
    setStatus,
    setBusy,
    showError,
    showPreview,
    clearPreview,
    showPrediction,
    clearResult,
    setTopK,
    setTopKRange,
    setLimits,
    setDragOver,
    renderHistory,
    renderBatch,
    markActive,
    showModelNotice,
    renderModelInfo,
    setCameraState,
    setLive,
  };
}
