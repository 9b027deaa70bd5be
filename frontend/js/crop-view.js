// The crop square on the preview, in the DOM: placing it over the picture as drawn, following
// mouse, touch, pen and keys (the geometry is crop.js's), and cutting the chosen part out of the
// picture. main.js creates it; result-view.js and explain-view.js place their parts over it.

import {
  centreSquare,
  clampSquare,
  containedRect,
  describeSquare,
  moveSquare,
  outputSide,
  resizeFromCorner,
  sameSquare,
  squareAfterKey,
  squareInBox,
} from './crop.js';
import { byId } from './dom.js';

/**
 * The elements: the preview <img>, the crop square over it, its corner handle, the hint and Reset
 * shown with it, its description, and the occlusion map inside it (hidden while it moves).
 */
export function createCropView(doc) {
  const win = doc.defaultView;
  const preview = byId(doc, 'preview');
  const box = byId(doc, 'crop');
  const handle = byId(doc, 'crop-handle');
  const controls = byId(doc, 'crop-controls');
  const position = byId(doc, 'crop-position');
  const resetButton = byId(doc, 'crop-reset');
  const overlay = byId(doc, 'preview-overlay');
  // The square in the shown picture's pixels (null until that picture has loaded), what the
  // controller asked for (null: the centre square), and which picture has loaded.
  const state = { enabled: false, wanted: null, square: null, loadedSrc: null, commitTimer: null };

  preview.addEventListener('load', () => {
    state.loadedSrc = preview.getAttribute('src');
    place();
  });
  // The square follows the picture when the layout changes (rotation, resizing the window).
  if (typeof win.ResizeObserver === 'function') new win.ResizeObserver(() => place()).observe(preview);

  function pictureSize() {
    return { width: preview.naturalWidth, height: preview.naturalHeight };
  }

  /** Put the square where it belongs on the picture as it is drawn now (or hide it). */
  function place() {
    const { width, height } = pictureSize();
    const ready = state.enabled && !preview.hidden && width > 0 && height > 0 &&
      state.loadedSrc === preview.getAttribute('src');
    box.hidden = !ready;
    controls.hidden = !ready;
    if (!ready) return;
    state.square ??= clampSquare(state.wanted ?? centreSquare(width, height), width, height);
    const onScreen = squareInBox(state.square, containedRect(width, height, preview.clientWidth, preview.clientHeight));
    box.style.left = `${preview.offsetLeft + onScreen.left}px`;
    box.style.top = `${preview.offsetTop + onScreen.top}px`;
    box.style.width = box.style.height = `${onScreen.size}px`;
    position.textContent = describeSquare(state.square, width, height);
    resetButton.hidden = sameSquare(state.square, centreSquare(width, height));
  }

  /**
   * Show the crop square on the preview at `square` (picture pixels; null: the centre square), or
   * no square at all with `enabled: false` (a live camera frame, no picture).
   */
  function show(square, { enabled = true } = {}) {
    clearTimeout(state.commitTimer);
    state.enabled = enabled;
    state.wanted = square;
    state.square = null;
    box.classList.remove('is-adjusting');
    place();
  }

  /** The chosen square of the shown picture as a PNG (at most 512 × 512: the network sees 32 × 32). */
  function cropPicture(square) {
    const side = outputSide(square);
    const canvas = doc.createElement('canvas');
    canvas.width = canvas.height = side;
    const context = canvas.getContext('2d');
    context.imageSmoothingQuality = 'high';
    context.drawImage(preview, square.x, square.y, square.side, square.side, 0, 0, side, side);
    return new Promise((resolve, reject) => {
      canvas.toBlob((blob) => (blob ? resolve(blob) : reject(new Error('The crop could not be encoded.'))), 'image/png');
    });
  }

  /**
   * The square moved by mouse, touch or pen (drag it; its corner handle resizes it) or by the keys
   * (squareAfterKey): ``handler(square)`` on release, or once the keys have rested for a moment
   * (Enter: at once). ``reset()`` for the Reset button.
   */
  function bind(handler, reset) {
    let drag = null;
    const commit = (before) => {
      clearTimeout(state.commitTimer);
      if (!state.square || sameSquare(state.square, before)) {
        box.classList.remove('is-adjusting');
        return;
      }
      handler(state.square);
    };
    const adjusting = () => {
      box.classList.add('is-adjusting');
      overlay.hidden = true; // the map belongs to the previous square
    };

    box.addEventListener('pointerdown', (event) => {
      if (!state.square || event.button > 0 || drag) return;
      event.preventDefault(); // no text selection or native image drag
      box.focus({ preventScroll: true });
      box.setPointerCapture?.(event.pointerId);
      drag = { id: event.pointerId, x: event.clientX, y: event.clientY, start: state.square,
               resize: event.target === handle };
      adjusting();
    });
    box.addEventListener('pointermove', (event) => {
      if (!drag || event.pointerId !== drag.id) return;
      const { width, height } = pictureSize();
      const { scale } = containedRect(width, height, preview.clientWidth, preview.clientHeight);
      const dx = (event.clientX - drag.x) / scale;
      const dy = (event.clientY - drag.y) / scale;
      state.square = drag.resize
        ? resizeFromCorner(drag.start, dx, dy, width, height)
        : moveSquare(drag.start, dx, dy, width, height);
      place();
    });
    for (const type of ['pointerup', 'pointercancel']) {
      box.addEventListener(type, (event) => {
        if (!drag || event.pointerId !== drag.id) return;
        const { start } = drag;
        drag = null;
        commit(start);
      });
    }

    let keyStart = null;
    box.addEventListener('keydown', (event) => {
      if (!state.square) return;
      if (event.key === 'Enter' && keyStart) {
        event.preventDefault();
        const before = keyStart;
        keyStart = null;
        commit(before);
        return;
      }
      const { width, height } = pictureSize();
      const next = squareAfterKey(state.square, event.key, event, width, height);
      if (!next) return;
      event.preventDefault(); // arrows would scroll the page
      keyStart ??= state.square;
      state.square = next;
      adjusting();
      place();
      clearTimeout(state.commitTimer);
      state.commitTimer = win.setTimeout(() => {
        const before = keyStart;
        keyStart = null;
        commit(before);
      }, 700);
    });
    resetButton.addEventListener('click', reset);
  }

  return {
    showCrop: show,
    bindCrop: bind,
    cropPicture,
    isAdjusting: () => box.classList.contains('is-adjusting'),
    settleCrop: () => box.classList.remove('is-adjusting'),
  };
}
