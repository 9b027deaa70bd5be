// Pure helpers: no DOM, no network, no globals beyond the language itself, so
// every function here can be unit-tested in plain Node (see frontend/tests/).

export const MIN_TOP_K = 1;
export const MAX_TOP_K = 10;
export const DEFAULT_TOP_K = 5;
export const DEFAULT_MAX_UPLOAD_BYTES = 10 * 1024 * 1024;
export const DEFAULT_MAX_BATCH = 64;
// Bytes one batch request may carry, until /api/model publishes the server's `max_batch_bytes`.
export const DEFAULT_MAX_BATCH_BYTES = 64 * 1024 * 1024;
// What a file costs a batch request beyond its own bytes: its multipart boundary and headers
// (field name, file name, type), a few hundred bytes; rounded up so a long file name still fits.
export const BATCH_PART_OVERHEAD_BYTES = 1024;
// Live webcam frames a second until /api/model publishes the rate its limits allow.
export const DEFAULT_LIVE_FRAMES_PER_SECOND = 2;

// Browsers report an empty type for files they cannot identify, and some
// platforms label images as octet-stream. The server sniffs the bytes, so these
// must still be uploaded rather than rejected here.
const AMBIGUOUS_MIME_TYPES = new Set(['', 'application/octet-stream', 'binary/octet-stream']);

/**
 * Probability (0–1) → percentage text such as "91.2%".
 * Values that would round to 0 or 100 without being exactly 0 or 1 are shown as
 * "<0.1%" / ">99.9%" so a small-but-real chance never reads as impossible (and a
 * near-certainty never reads as certain).
 */
export function formatPercent(probability, fractionDigits = 1) {
  const value = Number(probability);
  if (probability === null || probability === '' || !Number.isFinite(value)) return '–';
  const clamped = Math.min(1, Math.max(0, value));
  const digits = Math.max(0, Math.min(4, Math.trunc(fractionDigits)));
  const step = 10 ** -digits; // smallest visible percentage step, e.g. 0.1
  const percent = roundHalfUp(clamped * 100, digits);
  if (clamped > 0 && percent < step) return `<${step.toFixed(digits)}%`;
  if (clamped < 1 && percent > 100 - step) return `>${(100 - step).toFixed(digits)}%`;
  return `${percent.toFixed(digits)}%`;
}

// Math.round on binary floats turns 91.25 into 91.2 (it is stored as 91.2499…);
// trimming to 12 significant digits first removes that noise so .5 rounds up.
function roundHalfUp(value, digits) {
  const factor = 10 ** digits;
  const scaled = Number((value * factor).toPrecision(12));
  return Math.round(scaled) / factor;
}

/**
 * Probability → plain decimal string for data attributes ("0.9123", never
 * exponent notation like "1e-7" which naive String(number) can produce).
 */
export function formatProbabilityAttr(probability) {
  const value = Number(probability);
  if (!Number.isFinite(value)) return '0';
  const clamped = Math.min(1, Math.max(0, value));
  return clamped.toFixed(6).replace(/\.?0+$/, '') || '0';
}

/**
 * Parse anything (string from a <select>, number, junk) into an integer k in 1–max (max: the
 * model's class count from /api/model's limits; 10 until it is known).
 */
export function clampTopK(value, fallback = DEFAULT_TOP_K, max = MAX_TOP_K) {
  const parsed = typeof value === 'number' ? value : Number.parseInt(String(value ?? ''), 10);
  if (!Number.isFinite(parsed)) {
    return Number.isFinite(fallback) ? clampTopK(fallback, DEFAULT_TOP_K, max) : Math.min(DEFAULT_TOP_K, max);
  }
  return Math.min(max, Math.max(MIN_TOP_K, Math.trunc(parsed)));
}

/**
 * Keep only well-formed {label, probability} entries and sort them by
 * probability, highest first. Array.prototype.sort is stable, so ties keep the
 * server's order (which is deterministic), rather than shuffling between renders.
 */
export function sortPredictions(predictions) {
  if (!Array.isArray(predictions)) return [];
  return predictions
    .filter((p) => p && typeof p.label === 'string' && Number.isFinite(Number(p.probability)))
    .map((p) => ({ label: p.label, probability: Number(p.probability) }))
    .sort((a, b) => b.probability - a.probability);
}

/** The k most probable predictions, sorted descending; k is clamped to 1–10. */
export function topK(predictions, k) {
  return sortPredictions(predictions).slice(0, clampTopK(k));
}

// The training parameters a fine-tuning step sets anew (/api/model's fine_tuning says it ran):
// shown as that step, not as the recipe that trained the networks.
export const FINE_TUNING_PARAMS = ['epochs', 'learning_rate', 'lr_schedule', 'outlier_weight'];

/** "outlier exposure: 2 epochs at learning rate 0.3, on 8,960 photos of other things", or ''. */
export function fineTuningSummary(fineTuning) {
  const epochs = Number(fineTuning?.epochs);
  const rate = Number(fineTuning?.learning_rate);
  if (!Number.isFinite(epochs) || !Number.isFinite(rate)) return '';
  const images = Number(fineTuning.images);
  const on = Number.isFinite(images) ? `, on ${images.toLocaleString('en-US')} photos of other things` : '';
  return `outlier exposure: ${epochs} epoch${epochs === 1 ? '' : 's'} at learning rate ${rate}${on}`;
}

/** Human-readable size: 10485760 → "10 MB", 1536 → "1.5 KB". */
export function formatBytes(bytes) {
  const value = Number(bytes);
  if (!Number.isFinite(value) || value < 0) return 'unknown size';
  if (value < 1024) return `${value} B`;
  const units = ['KB', 'MB', 'GB'];
  let size = value;
  let unit = 'B';
  for (const next of units) {
    if (size < 1024) break;
    size /= 1024;
    unit = next;
  }
  const rounded = Math.round(size * 10) / 10;
  return `${Number.isInteger(rounded) ? rounded.toFixed(0) : rounded.toFixed(1)} ${unit}`;
}

/** True unless the browser-reported MIME type says clearly "not an image". */
export function isAcceptableImageType(type) {
  const mime = String(type ?? '').trim().toLowerCase();
  if (AMBIGUOUS_MIME_TYPES.has(mime)) return true;
  return mime.startsWith('image/');
}

/**
 * Client-side checks run before any upload, so an obviously bad file produces
 * an instant, specific message and no request.
 * @param {{name?: string, size?: number, type?: string}} file
 * @returns {{ok: true} | {ok: false, code: string, message: string}}
 */
export function checkFile(file, { maxBytes = DEFAULT_MAX_UPLOAD_BYTES } = {}) {
  if (!file || typeof file !== 'object') {
    return { ok: false, code: 'missing_file', message: 'No file was selected.' };
  }
  const name = displayName(file.name);
  const size = Number(file.size);
  const limit = Number.isFinite(Number(maxBytes)) && Number(maxBytes) > 0 ? Number(maxBytes) : DEFAULT_MAX_UPLOAD_BYTES;
  if (!isAcceptableImageType(file.type)) {
    return {
      ok: false,
      code: 'unsupported_media_type',
      message: `${name} is not an image (${file.type}).`,
    };
  }
  if (Number.isFinite(size) && size === 0) {
    return { ok: false, code: 'empty_file', message: `${name} is empty (0 bytes).` };
  }
  if (Number.isFinite(size) && size > limit) {
    return {
      ok: false,
      code: 'payload_too_large',
      message: `${name} is ${formatBytes(size)}; the limit is ${formatBytes(limit)}.`,
    };
  }
  return { ok: true };
}

/**
 * Split a batch into consecutive groups, one request each, in their original order: each group
 * holds at most `maxFiles` items and at most `maxBytes` counting every item's size plus
 * `partOverhead` (its multipart part around it). Groups are filled greedily, so a batch that fits
 * one request is sent as one. An item too big to share a request with any other goes alone (each
 * file's own limit is checked before, by checkFile).
 * @template T
 * @param {T[]} items
 * @param {{maxFiles?: number, maxBytes?: number, partOverhead?: number, sizeOf?: (item: T) => number}} [limits]
 * @returns {T[][]}
 */
export function splitBatch(items, {
  maxFiles = DEFAULT_MAX_BATCH,
  maxBytes = DEFAULT_MAX_BATCH_BYTES,
  partOverhead = BATCH_PART_OVERHEAD_BYTES,
  sizeOf = (item) => item?.size,
} = {}) {
  const fileLimit = Number.isFinite(maxFiles) && maxFiles >= 1 ? Math.trunc(maxFiles) : DEFAULT_MAX_BATCH;
  const byteLimit = Number.isFinite(maxBytes) && maxBytes > 0 ? maxBytes : DEFAULT_MAX_BATCH_BYTES;
  const overhead = Number.isFinite(partOverhead) && partOverhead > 0 ? partOverhead : 0;
  const groups = [];
  let group = [];
  let bytes = 0;
  for (const item of Array.from(items ?? [])) {
    const size = Number(sizeOf(item));
    const cost = (Number.isFinite(size) && size > 0 ? size : 0) + overhead;
    if (group.length > 0 && (group.length >= fileLimit || bytes + cost > byteLimit)) {
      groups.push(group);
      group = [];
      bytes = 0;
    }
    group.push(item);
    bytes += cost;
  }
  if (group.length > 0) groups.push(group);
  return groups;
}

function displayName(name) {
  const text = typeof name === 'string' ? name.trim() : '';
  return text ? `“${text}”` : 'This file';
}

// One friendly sentence per error code. Server and client codes share this
// table so the user sees consistent wording whatever layer noticed the problem.
const ERROR_MESSAGES = Object.freeze({
  missing_file: 'No image was received. Please choose an image and try again.',
  empty_file: 'That file is empty. Please choose another image.',
  invalid_top_k: 'The number of results must be between 1 and 10.',
  validation_error: 'The request was not valid. Please try again.',
  bad_request: 'The server could not understand the request. Please try again.',
  unauthorized: 'This needs an access token.',
  cross_site_request: 'Pictures can only be sent from the classifier’s own page. Please open it directly and try again.',
  request_timeout: 'The upload stalled before it was complete. Please try again.',
  not_found: 'The requested resource was not found.',
  method_not_allowed: 'That action is not supported by the server.',
  payload_too_large: 'That file is too large to upload. Please choose a smaller image.',
  batch_decode_budget:
    'This picture did not fit in the same request as the others. Please classify it again on its own.',
  // The page's own code: the server refused a batch request for its total size (each file fitted).
  batch_too_large:
    'Together, these images are more than the server accepts in one upload. Please choose fewer images at a time.',
  unsupported_media_type: 'That file type is not supported. Please choose an image such as PNG or JPEG.',
  range_not_satisfiable: 'Part of a file was asked for that it does not have. Please reload the page.',
  invalid_image: 'That file could not be read as an image. It may be damaged or in an unsupported format.',
  image_too_large: 'That image is too large to process. Please try a smaller image.',
  image_aspect_ratio: 'That picture is a very long, thin strip. Please crop it closer to a square and try again.',
  too_many_files: 'Too many files at once. Please choose fewer images.',
  too_many_requests: 'You are sending pictures faster than the server allows. Please wait a few seconds and try again.',
  server_busy: 'The server is busy with other large images. Please try again in a few seconds.',
  batch_failed: 'None of the images could be classified. See the details for each file below.',
  network_error: 'Could not reach the server. Check your connection and try again.',
  timeout: 'The server took too long to respond. Please try again.',
  aborted: 'The request was cancelled.',
  server_error: 'Something went wrong on the server. Please try again in a moment.',
  internal_error: 'Something went wrong on the server. Please try again in a moment.',
  service_unavailable: 'The classifier is not available right now. Please try again in a moment.',
  model_not_loaded: 'The model is not loaded yet. Please try again in a moment.',
  invalid_response: 'The server sent an unexpected response. Please try again.',
  camera_permission_denied:
    'Camera permission was denied. Allow camera access in your browser’s site settings, or choose an image instead.',
  camera_not_found: 'No camera was found. Connect a camera, or choose an image instead.',
  camera_busy: 'The camera is busy or could not be started. Close other apps that use it and try again.',
  camera_not_ready: 'The camera is still starting. Please try again in a moment.',
  camera_error: 'The camera could not be started. Please try again or choose an image instead.',
  crop_failed: 'That part of the picture could not be cut out in this browser. Please try another picture.',
  example_unavailable: 'That example could not be loaded. Please try another one or choose an image.',
});

export const UNKNOWN_ERROR_MESSAGE = 'Something went wrong. Please try again.';

/** Friendly message for an error code; unknown or missing codes get a generic one. */
export function messageForCode(code) {
  return Object.hasOwn(ERROR_MESSAGES, code) ? ERROR_MESSAGES[code] : UNKNOWN_ERROR_MESSAGE;
}

/**
 * Turn any error (ApiError, client check result, DOMException, plain Error,
 * string) into {code, title, detail}: `title` is our friendly sentence, `detail`
 * is the server's (or check's) specific message when it adds information.
 */
export function describeError(error) {
  if (typeof error === 'string') {
    return { code: error, title: messageForCode(error), detail: '' };
  }
  const code = typeof error?.code === 'string' && error.code ? error.code : 'unknown';
  const title = messageForCode(code);
  const raw = typeof error?.message === 'string' ? error.message.trim() : '';
  const detail = raw && raw !== title ? raw : '';
  return { code, title, detail };
}

/** Map a getUserMedia / camera failure (DOMException name) to one of our codes. */
export function cameraErrorCode(error) {
  const name = typeof error === 'string' ? error : error?.name;
  switch (name) {
    case 'NotAllowedError':
    case 'PermissionDeniedError':
    case 'SecurityError':
      return 'camera_permission_denied';
    case 'NotFoundError':
    case 'DevicesNotFoundError':
    case 'OverconstrainedError':
    case 'ConstraintNotSatisfiedError':
    case 'NoMediaDevices':
      return 'camera_not_found';
    case 'NotReadableError':
    case 'TrackStartError':
    case 'AbortError':
      return 'camera_busy';
    case 'NotReadyError':
      return 'camera_not_ready';
    default:
      return 'camera_error';
  }
}

/** Status text for screen readers and sighted users after a prediction. */
export function summarizePrediction(predictions) {
  const [best] = sortPredictions(predictions);
  if (!best) return 'No prediction available.';
  return `Top prediction: ${best.label} (${formatPercent(best.probability)}).`;
}

/** One sentence on how honest the probabilities are, from /api/model's calibration figures. */
export function calibrationSummary(calibration) {
  const ece = Number(calibration?.ece);
  const temperature = Number(calibration?.temperature);
  if (!Number.isFinite(ece) || !Number.isFinite(temperature)) return '—';
  return `Calibrated by temperature scaling (T = ${temperature.toFixed(2)}): on validation photos, ` +
    `the probabilities shown are off by ${formatPercent(ece)} on average.`;
}

/** Low-confidence note; the count comes from the model so the text stays true. */
export function lowConfidenceMessage(classCount = 10) {
  const count = Number.isInteger(classCount) && classCount > 0 ? classCount : 10;
  return `Not sure — this may not be one of the ${count} classes the model knows.`;
}

/**
 * Pick image files out of clipboard / drag items ({kind, type, getAsFile}).
 * Non-image items (text, HTML) are ignored so normal pasting is unaffected.
 */
export function imageFilesFromItems(items) {
  const files = [];
  for (const item of Array.from(items ?? [])) {
    if (item?.kind !== 'file' || !String(item.type ?? '').startsWith('image/')) continue;
    const file = typeof item.getAsFile === 'function' ? item.getAsFile() : null;
    if (file) files.push(file);
  }
  return files;
}

/** File extension for a MIME type, used to name pasted images and camera snaps. */
export function extensionForType(type) {
  const map = { 'image/jpeg': 'jpg', 'image/png': 'png', 'image/webp': 'webp', 'image/gif': 'gif', 'image/bmp': 'bmp' };
  return map[String(type ?? '').toLowerCase()] ?? 'png';
}

/**
 * Overlay colour for one occlusion value (how much covering that spot lowered the class's
 * probability), scaled by the map's largest magnitude: red where the spot mattered, blue where
 * covering it helped, transparent where it made no difference. Returns [r, g, b, a] (0-255).
 */
export function overlayColour(value, maxMagnitude) {
  if (!Number.isFinite(value) || !(maxMagnitude > 0)) return [0, 0, 0, 0];
  const strength = Math.min(1, Math.abs(value) / maxMagnitude);
  const alpha = Math.round(200 * strength);
  return value >= 0 ? [220, 38, 38, alpha] : [37, 99, 235, alpha];
}

/** Text alternative for an occlusion map: where in the picture the decisive parts are. */
export function describeHeatmap(heatmap, label) {
  const rows = Array.isArray(heatmap) ? heatmap.length : 0;
  const cols = rows ? heatmap[0].length : 0;
  if (!rows || !cols) return '';
  const names = [['top left', 'top', 'top right'], ['left', 'centre', 'right'], ['bottom left', 'bottom', 'bottom right']];
  const sums = names.map((line) => line.map(() => 0));
  heatmap.forEach((row, r) => row.forEach((value, c) => {
    sums[Math.min(2, Math.floor((3 * r) / rows))][Math.min(2, Math.floor((3 * c) / cols))] += Math.max(0, value);
  }));
  const ranked = names.flat().map((name, i) => [name, sums[Math.floor(i / 3)][i % 3]])
    .sort((a, b) => b[1] - a[1]);
  if (!(ranked[0][1] > 0)) return `No single part of the picture decided “${label}”.`;
  const top = ranked.filter(([, sum]) => sum >= 0.5 * ranked[0][1]).slice(0, 2).map(([name]) => name);
  return `Red marks what mattered most for “${label}”: mostly the ${top.join(' and ')} of the picture.`;
}
