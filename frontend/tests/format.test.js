import { describe, test } from 'node:test';
import assert from 'node:assert/strict';

import {
  calibrationSummary,
  fineTuningSummary,
  formatBytes,
  formatPercent,
  formatProbabilityAttr,
  lowConfidenceMessage,
  sortPredictions,
  summarizePrediction,
  topK,
} from '../js/format.js';

const CLASSES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];

// Ten-class distribution in deliberately unsorted order.
const FULL = [
  { label: 'dog', probability: 0.05 },
  { label: 'cat', probability: 0.7 },
  { label: 'truck', probability: 0.001 },
  { label: 'bird', probability: 0.1 },
  { label: 'frog', probability: 0.02 },
  { label: 'horse', probability: 0.04 },
  { label: 'ship', probability: 0.009 },
  { label: 'deer', probability: 0.03 },
  { label: 'airplane', probability: 0.025 },
  { label: 'automobile', probability: 0.025 },
];

describe('formatPercent', () => {
  test('exact bounds', () => {
    assert.equal(formatPercent(0), '0.0%');
    assert.equal(formatPercent(1), '100.0%');
  });

  test('typical values keep one decimal', () => {
    assert.equal(formatPercent(0.9123), '91.2%');
    assert.equal(formatPercent(0.5), '50.0%');
    assert.equal(formatPercent(0.07), '7.0%');
  });

  test('rounds half up despite binary floating point', () => {
    assert.equal(formatPercent(0.9125), '91.3%'); // 91.25 is stored as 91.2499…
    assert.equal(formatPercent(0.00125), '0.1%');
    assert.equal(formatPercent(0.12345), '12.3%');
    assert.equal(formatPercent(0.12355), '12.4%');
    assert.equal(formatPercent(0.0015), '0.2%');
  });

  test('tiny non-zero values never read as 0%', () => {
    assert.equal(formatPercent(0.0004), '<0.1%');
    assert.equal(formatPercent(1e-9), '<0.1%');
    assert.equal(formatPercent(0.0005), '0.1%'); // rounds up to the first visible step
  });

  test('near-certain values never read as 100%', () => {
    assert.equal(formatPercent(0.99996), '>99.9%');
    assert.equal(formatPercent(0.999), '99.9%');
  });

  test('custom precision', () => {
    assert.equal(formatPercent(0.91234, 2), '91.23%');
    assert.equal(formatPercent(0.915, 0), '92%');
    assert.equal(formatPercent(0.004, 0), '<1%');
    assert.equal(formatPercent(0.0004, 2), '0.04%');
  });

  test('out-of-range values are clamped', () => {
    assert.equal(formatPercent(1.2), '100.0%');
    assert.equal(formatPercent(-0.3), '0.0%');
  });

  test('numeric strings are accepted; junk gives a dash', () => {
    assert.equal(formatPercent('0.25'), '25.0%');
    assert.equal(formatPercent(NaN), '–');
    assert.equal(formatPercent(undefined), '–');
    assert.equal(formatPercent(null), '–');
    assert.equal(formatPercent(''), '–');
    assert.equal(formatPercent('abc'), '–');
  });
});

describe('formatProbabilityAttr', () => {
  test('plain decimal strings without exponent notation', () => {
    assert.equal(formatProbabilityAttr(0.9123), '0.9123');
    assert.equal(formatProbabilityAttr(1), '1');
    assert.equal(formatProbabilityAttr(0), '0');
    assert.equal(formatProbabilityAttr(1e-7), '0');
    assert.equal(formatProbabilityAttr(0.0000123), '0.000012');
    assert.equal(formatProbabilityAttr(0.5), '0.5');
  });

  test('round-trips through parseFloat closely', () => {
    for (const p of [0.123456, 0.5, 0.99, 0.000999]) {
      assert.ok(Math.abs(Number.parseFloat(formatProbabilityAttr(p)) - p) < 1e-6);
    }
  });

  test('clamps and sanitises', () => {
    assert.equal(formatProbabilityAttr(2), '1');
    assert.equal(formatProbabilityAttr(-1), '0');
    assert.equal(formatProbabilityAttr(NaN), '0');
  });
});

describe('sortPredictions / topK', () => {
  test('sorts descending by probability', () => {
    const sorted = sortPredictions(FULL);
    assert.equal(sorted.length, 10);
    for (let i = 1; i < sorted.length; i += 1) {
      assert.ok(sorted[i - 1].probability >= sorted[i].probability);
    }
    assert.deepEqual(sorted.slice(0, 3).map((p) => p.label), ['cat', 'bird', 'dog']);
  });

  test('does not mutate the input', () => {
    const copy = structuredClone(FULL);
    sortPredictions(FULL);
    topK(FULL, 3);
    assert.deepEqual(FULL, copy);
  });

  test('ties keep their original (server) order', () => {
    const sorted = sortPredictions(FULL);
    const tied = sorted.filter((p) => p.probability === 0.025).map((p) => p.label);
    assert.deepEqual(tied, ['airplane', 'automobile']);
    const reversed = sortPredictions([
      { label: 'b', probability: 0.5 },
      { label: 'a', probability: 0.5 },
    ]);
    assert.deepEqual(reversed.map((p) => p.label), ['b', 'a']);
  });

  test('slices exactly k items', () => {
    for (let k = 1; k <= 10; k += 1) {
      assert.equal(topK(FULL, k).length, k);
    }
    assert.deepEqual(topK(FULL, 1), [{ label: 'cat', probability: 0.7 }]);
  });

  test('k not known yet (null) shows every class that came back', () => {
    assert.equal(topK(FULL, null).length, 10);
    assert.equal(topK(FULL, 50).length, 10);
  });

  test('fewer predictions than k returns what exists', () => {
    assert.equal(topK(FULL.slice(0, 2), 5).length, 2);
  });

  test('drops malformed entries and coerces numeric strings', () => {
    const result = sortPredictions([
      { label: 'cat', probability: '0.4' },
      { label: 'dog' },
      null,
      { probability: 0.9 },
      { label: 'ship', probability: 'NaN' },
      { label: 'bird', probability: 0.6 },
    ]);
    assert.deepEqual(result, [
      { label: 'bird', probability: 0.6 },
      { label: 'cat', probability: 0.4 },
    ]);
  });

  test('non-arrays give an empty list', () => {
    assert.deepEqual(sortPredictions(undefined), []);
    assert.deepEqual(sortPredictions({}), []);
    assert.deepEqual(topK(null, 3), []);
  });
});

describe('lowConfidenceMessage', () => {
  test('message text', () => {
    assert.equal(
      lowConfidenceMessage(CLASSES.length), 'Not sure — this may not be one of the 10 classes the model knows.',
    );
    assert.match(lowConfidenceMessage(100), /one of the 100 classes/);
    // Before /api/model has said how many classes there are, the note names no number.
    assert.equal(lowConfidenceMessage(null), 'Not sure — this may not be one of the classes the model knows.');
    assert.equal(lowConfidenceMessage(0), lowConfidenceMessage(null));
  });
});

describe('formatBytes', () => {
  test('units', () => {
    assert.equal(formatBytes(0), '0 B');
    assert.equal(formatBytes(512), '512 B');
    assert.equal(formatBytes(1536), '1.5 KB');
    assert.equal(formatBytes(10 * 1024 * 1024), '10 MB');
    assert.equal(formatBytes(12.3 * 1024 * 1024), '12.3 MB');
    assert.equal(formatBytes(3 * 1024 ** 3), '3 GB');
  });

  test('invalid sizes', () => {
    assert.equal(formatBytes(-1), 'unknown size');
    assert.equal(formatBytes(undefined), 'unknown size');
  });
});

describe('calibrationSummary', () => {
  test('states the temperature and the calibration error', () => {
    const text = calibrationSummary({ temperature: 1.234, ece: 0.021 });
    assert.match(text, /T = 1\.23/);
    assert.match(text, /2(\.1)?\s?%/);
  });

  test('falls back to a dash without figures', () => {
    assert.equal(calibrationSummary(null), '—');
    assert.equal(calibrationSummary({ temperature: 'x', ece: 0.1 }), '—');
  });
});

describe('fineTuningSummary', () => {
  test('says what the fine-tuning step was', async () => {
    assert.equal(
      fineTuningSummary({ epochs: 2, learning_rate: 0.3, weight: 1, images: 8960 }),
      'outlier exposure: 2 epochs at learning rate 0.3, on 8,960 photos of other things',
    );
    assert.equal(fineTuningSummary({ epochs: 1, learning_rate: 0.1 }), 'outlier exposure: 1 epoch at learning rate 0.1');
    assert.equal(fineTuningSummary(null), '');
    assert.equal(fineTuningSummary({ epochs: 'x' }), '');
  });
});

describe('summarizePrediction', () => {
  test('names the best class', () => {
    assert.equal(summarizePrediction(FULL), 'Top prediction: cat (70.0%).');
    assert.equal(summarizePrediction([]), 'No prediction available.');
  });
});
