// How numbers and answers read on the page: percentages, sizes, the sorted predictions, and the
// one-line summaries of an answer and of the model. Pure functions, tested in Node.

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

/** The k most probable predictions, sorted descending; all of them while k is not known (null). */
export function topK(predictions, k) {
  return sortPredictions(predictions).slice(0, k > 0 ? Math.trunc(k) : undefined);
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

/** The "Not sure" note; the class count comes from the model (null while not known). */
export function lowConfidenceMessage(classCount = null) {
  const classes = Number.isInteger(classCount) && classCount > 0 ? `${classCount} classes` : 'classes';
  return `Not sure — this may not be one of the ${classes} the model knows.`;
}
