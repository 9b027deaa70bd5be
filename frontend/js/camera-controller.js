// The webcam: start, snap (classified like an upload), retake, switch, stop, and live mode, which
// classifies the stream a few frames a second without keeping them in the history; once it is
// stopped, the frame on screen is an answer like any other ("why?", "Wrong answer?"). The camera
// is never left on for a page nobody is looking at.

import { extensionForType } from './files.js';
import { summarizePrediction } from './format.js';

/**
 * @param {object} deps
 * @param {object} deps.api  @param {import('./store.js').Store} deps.store  @param {object} deps.views
 * @param {object} deps.camera  a Camera (camera.js)
 * @param {() => number} deps.now  @param {(ms: number) => Promise<void>} deps.sleep
 * @param {object} deps.shared  the main controller's steps: classifySingle, showPrediction, answerFields,
 *   renderFeedback
 */
export function createCameraController({ api, store, views, camera, now, sleep, shared }) {
  const { page, result, crop, explain, batch, camera: cameraView } = views;

  async function refreshCameraControls() {
    if (camera.isActive) {
      const inputs = await camera.listVideoInputs();
      store.canSwitchCamera = inputs.length > 1;
    }
    cameraView.setCameraState({
      active: camera.isActive, frozen: camera.frozen, canSwitch: store.canSwitchCamera, live: Boolean(store.live),
    });
  }

  function showCameraError(error) {
    if (error?.code === 'camera_cancelled') return; // stopped on purpose while starting
    // The DOMException text ("NotAllowedError: …") means nothing to users; the code's sentence
    // already says what happened and what to do.
    page.showError({ code: error?.code ?? 'camera_error' });
  }

  /** Run a camera step, announce it (or show why it failed), then sync the camera buttons. */
  async function runCameraAction(action, announcement) {
    try {
      await action();
      page.setStatus(announcement);
    } catch (error) {
      showCameraError(error);
    }
    await refreshCameraControls();
  }

  async function startCamera() {
    page.showError(null);
    cameraView.setCameraState({ active: false, starting: true });
    await runCameraAction(() => camera.start(), 'Camera is on. Press Snap to classify the current frame.');
  }

  async function snap() {
    if (store.busy) return;
    stopLive();
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
    await shared.classifySingle(file);
    cameraView.focusCameraControl('retake'); // Snap is hidden now; keep focus nearby
  }

  async function retake() {
    await runCameraAction(() => camera.retake(), 'Live preview resumed.');
    cameraView.focusCameraControl('snap');
  }

  async function switchCamera() {
    await runCameraAction(() => camera.switchCamera(), 'Switched camera.');
  }

  function stopCamera() {
    stopLive();
    camera.stop();
    cameraView.setCameraState({ active: false });
    page.setStatus('Camera stopped.');
    cameraView.focusCameraControl('start');
  }

  function pageHidden() {
    const wasActive = camera.isActive;
    stopLive();
    camera.stop();
    cameraView.setCameraState({ active: false });
    if (wasActive) page.setStatus('Camera stopped because the page was hidden.');
  }

  /**
   * Classify the camera stream until stopped: one frame at a time (the next is grabbed only once
   * the server has answered), at most the server's live_frames_per_second, the chart redrawn in
   * place. A 429 slows it down; any other failure stops it and says why.
   */
  async function startLive() {
    if (store.live || store.busy || !camera.isActive) return;
    const framesPerSecond = store.limits?.live_frames_per_second;
    if (!framesPerSecond) {
      page.setStatus('Live mode needs the server’s limits, which have not loaded. Please reload the page.');
      return;
    }
    if (camera.frozen) await camera.retake();
    const run = { frames: 0, label: null };
    store.live = run;
    page.showError(null);
    store.batchCards = [];
    batch.renderBatch([], null);
    explain.renderExplanation(null);
    result.setLive(true);
    shared.renderFeedback(); // hidden while the frames change
    await refreshCameraControls();
    page.setStatus(`Live: about ${framesPerSecond} frames a second are classified. Press Live again to stop.`);
    while (store.live === run && camera.isActive) {
      const started = now();
      let pause = 1000 / framesPerSecond;
      try {
        const frame = await camera.grab();
        const file = new File([frame], `live-${run.frames + 1}.${extensionForType(frame.type)}`, { type: frame.type });
        const data = await api.predict(file, { topK: store.requestedTopK });
        if (store.live !== run) break;
        showLiveFrame(run, frame, file, data);
      } catch (error) {
        if (store.live !== run) break;
        if (error?.code !== 'too_many_requests') {
          stopLive();
          if (error?.code?.startsWith('camera_')) showCameraError(error);
          else page.showError(error);
          break;
        }
        pause = 5000; // the server asked us to slow down
        page.setStatus('Live: the server asked for a pause; carrying on in a few seconds.');
      }
      await sleep(Math.max(0, pause - (now() - started)));
    }
  }

  function showLiveFrame(run, frame, file, data) {
    run.frames += 1;
    const url = store.createObjectUrl(frame);
    // `upload`: the frame as sent, so that it can be corrected once live mode is stopped.
    const entry = { id: `live-${run.frames}`, name: 'Live camera', url, upload: file, ...shared.answerFields(data, data) };
    store.current = entry;
    store.previewUrl = url;
    shared.showPrediction(entry);
    crop.showCrop(null, { enabled: false });
    store.releaseUnusedUrls(); // the previous frame
    // Screen readers hear the answer only when it changes, not several times a second.
    const label = entry.predictions[0]?.label;
    if (label !== run.label) {
      run.label = label;
      page.setStatus(`Live: ${summarizePrediction(entry.predictions)}`);
    }
  }

  /** End live mode, if it runs; the last answer stays on screen, as an answer like any other. */
  function stopLive(message = null) {
    if (!store.live) return;
    store.live = null;
    result.setLive(false);
    if (store.current) shared.showPrediction(store.current);
    else shared.renderFeedback();
    refreshCameraControls();
    if (message) page.setStatus(message);
  }

  function toggleLive() {
    if (store.live) {
      stopLive('Live mode stopped; the last answer stays on screen.');
      return Promise.resolve();
    }
    return startLive();
  }

  function camerasChanged() {
    if (camera.isActive) refreshCameraControls();
  }

  cameraView.bindCamera({
    start: startCamera, snap, retake, switchCamera, stop: stopCamera, live: toggleLive, pageHidden, camerasChanged,
  });

  return { startCamera, snap, retake, switchCamera, stopCamera, toggleLive, stopLive, pageHidden, camerasChanged };
}
