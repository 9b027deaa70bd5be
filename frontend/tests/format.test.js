import { describe, test } from 'node:test';
import assert from 'node:assert/strict';

import {
  BATCH_PART_OVERHEAD_BYTES,
  DEFAULT_MAX_BATCH,
  DEFAULT_MAX_BATCH_BYTES,
  DEFAULT_MAX_UPLOAD_BYTES,
  DEFAULT_TOP_K,
  MAX_TOP_K,
  MIN_TOP_K,
  UNKNOWN_ERROR_MESSAGE,
  cameraErrorCode,
  checkFile,
  clampTopK,
  describeError,
  extensionForType,
  formatBytes,
  formatPercent,
  formatProbabilityAttr,
  imageFilesFromItems,
  isAcceptableImageType,
  calibrationSummary,
  describeHeatmap,
  overlayColour,
  lowConfidenceMessage,
  messageForCode,
  sortPredictions,
  splitBatch,
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

describe('constants', () => {
  test('k range and defaults match the API contract', () => {
    assert.equal(MIN_TOP_K, 1);
    assert.equal(MAX_TOP_K, 10);
    assert.equal(DEFAULT_TOP_K, 5);
    assert.equal(DEFAULT_MAX_UPLOAD_BYTES, 10_485_760);
  });
});

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

describe('clampTopK', () => {
  test('keeps values in range', () => {
    for (let k = 1; k <= 10; k += 1) assert.equal(clampTopK(k), k);
  });

  test('clamps out-of-range values to 1–10', () => {
    assert.equal(clampTopK(0), 1);
    assert.equal(clampTopK(-5), 1);
    assert.equal(clampTopK(11), 10);
    assert.equal(clampTopK(1000), 10);
  });

  test('parses strings from a <select> and truncates fractions', () => {
    assert.equal(clampTopK('3'), 3);
    assert.equal(clampTopK('10'), 10);
    assert.equal(clampTopK(' 7 '), 7);
    assert.equal(clampTopK(4.9), 4);
    assert.equal(clampTopK('4.9'), 4);
  });

  test('unparseable values use the fallback (default 5)', () => {
    assert.equal(clampTopK('abc'), 5);
    assert.equal(clampTopK(undefined), 5);
    assert.equal(clampTopK(null), 5);
    assert.equal(clampTopK(NaN), 5);
    assert.equal(clampTopK(Infinity), 5);
    assert.equal(clampTopK('abc', 10), 10);
    assert.equal(clampTopK('abc', 99), 10, 'fallback is clamped too');
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

  test('k is clamped when slicing', () => {
    assert.equal(topK(FULL, 0).length, 1);
    assert.equal(topK(FULL, 50).length, 10);
    assert.equal(topK(FULL, '3').length, 3);
    assert.equal(topK(FULL, 'junk').length, DEFAULT_TOP_K);
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
    assert.equal(lowConfidenceMessage(), 'Not sure — this may not be one of the 10 classes the model knows.');
    assert.equal(lowConfidenceMessage(CLASSES.length), lowConfidenceMessage());
    assert.match(lowConfidenceMessage(100), /one of the 100 classes/);
    assert.match(lowConfidenceMessage(0), /one of the 10 classes/);
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

describe('file checks', () => {
  const file = (overrides) => ({ name: 'cat.png', size: 2048, type: 'image/png', ...overrides });

  test('a normal image passes', () => {
    assert.deepEqual(checkFile(file()), { ok: true });
    assert.deepEqual(checkFile(file({ type: 'image/jpeg', name: 'a.jpg' })), { ok: true });
  });

  test('exactly the limit passes, one byte more fails with payload_too_large', () => {
    assert.equal(checkFile(file({ size: DEFAULT_MAX_UPLOAD_BYTES })).ok, true);
    const result = checkFile(file({ size: DEFAULT_MAX_UPLOAD_BYTES + 1 }));
    assert.equal(result.ok, false);
    assert.equal(result.code, 'payload_too_large');
    assert.match(result.message, /cat\.png/);
    assert.match(result.message, /10 MB/);
  });

  test('custom limit from /api/model is honoured', () => {
    const result = checkFile(file({ size: 3000 }), { maxBytes: 2048 });
    assert.equal(result.code, 'payload_too_large');
    assert.match(result.message, /2 KB/);
    assert.equal(checkFile(file({ size: 2048 }), { maxBytes: 2048 }).ok, true);
  });

  test('invalid custom limits fall back to the default', () => {
    assert.equal(checkFile(file({ size: 5 * 1024 * 1024 }), { maxBytes: 0 }).ok, true);
    assert.equal(checkFile(file({ size: 5 * 1024 * 1024 }), { maxBytes: 'x' }).ok, true);
  });

  test('clearly non-image MIME types are rejected', () => {
    for (const type of ['text/plain', 'application/pdf', 'video/mp4', 'audio/mpeg', 'application/zip']) {
      const result = checkFile(file({ name: 'notes.txt', type }));
      assert.equal(result.ok, false, type);
      assert.equal(result.code, 'unsupported_media_type');
      assert.match(result.message, /notes\.txt/);
    }
  });

  test('unknown or ambiguous types are still sent (the server sniffs bytes)', () => {
    assert.equal(checkFile(file({ type: '' })).ok, true);
    assert.equal(checkFile(file({ type: undefined })).ok, true);
    assert.equal(checkFile(file({ type: 'application/octet-stream' })).ok, true);
    assert.equal(checkFile(file({ type: 'IMAGE/PNG' })).ok, true);
    assert.equal(checkFile(file({ type: 'image/heic' })).ok, true);
  });

  test('empty files are rejected locally', () => {
    const result = checkFile(file({ size: 0 }));
    assert.equal(result.ok, false);
    assert.equal(result.code, 'empty_file');
  });

  test('missing file', () => {
    assert.equal(checkFile(null).code, 'missing_file');
    assert.equal(checkFile(undefined).ok, false);
  });

  test('unnamed blobs get a generic name in messages', () => {
    const result = checkFile({ size: DEFAULT_MAX_UPLOAD_BYTES * 2, type: 'image/jpeg' });
    assert.match(result.message, /^This file is 20 MB/);
  });

  test('works with real Blob/File objects', () => {
    const big = new File([new Uint8Array(2048)], 'big.png', { type: 'image/png' });
    assert.equal(checkFile(big, { maxBytes: 1024 }).code, 'payload_too_large');
    const text = new File(['hello'], 'a.txt', { type: 'text/plain' });
    assert.equal(checkFile(text).code, 'unsupported_media_type');
    assert.equal(checkFile(new Blob([new Uint8Array(10)])).ok, true);
  });

  test('isAcceptableImageType', () => {
    assert.equal(isAcceptableImageType('image/webp'), true);
    assert.equal(isAcceptableImageType(''), true);
    assert.equal(isAcceptableImageType('text/html'), false);
    assert.equal(isAcceptableImageType('imagex/png'), false);
  });
});

describe('splitting a batch into requests', () => {
  const MB = 1024 * 1024;
  const files = (...sizes) => sizes.map((size, index) => ({ name: `p${index + 1}.png`, size }));
  const names = (groups) => groups.map((group) => group.map((file) => file.name));
  const bytes = (group) => group.reduce((sum, file) => sum + file.size + BATCH_PART_OVERHEAD_BYTES, 0);

  test('a batch within both limits is one request', () => {
    const batch = files(1000, 2000, 3000);
    assert.deepEqual(splitBatch(batch, { maxFiles: 64, maxBytes: 64 * MB }), [batch]);
    assert.deepEqual(splitBatch([]), []);
  });

  test('files summing over the byte limit go in several requests, in their order', () => {
    // The audit's case: 8 PNGs of 8.7 MB (70 MB in all) against the server's 64 MB.
    const batch = files(...Array(8).fill(Math.round(8.7 * MB)));
    const groups = splitBatch(batch, { maxFiles: 64, maxBytes: 64 * MB });
    assert.deepEqual(names(groups), [['p1.png', 'p2.png', 'p3.png', 'p4.png', 'p5.png', 'p6.png', 'p7.png'], ['p8.png']]);
    for (const group of groups) assert.ok(bytes(group) <= 64 * MB);
    assert.deepEqual(groups.flat(), batch, 'every file once, in the original order');
  });

  test('groups are filled greedily and a small file never jumps ahead of a big one', () => {
    const groups = splitBatch(files(6000, 6000, 1000, 9000, 500), { maxFiles: 10, maxBytes: 10_000, partOverhead: 0 });
    assert.deepEqual(names(groups), [['p1.png'], ['p2.png', 'p3.png'], ['p4.png', 'p5.png']]);
  });

  test('each part\'s multipart overhead is counted', () => {
    const batch = files(4000, 4000);
    assert.equal(splitBatch(batch, { maxBytes: 8000, partOverhead: 0 }).length, 1);
    assert.equal(splitBatch(batch, { maxBytes: 8000 }).length, 2); // 1 KB a part by default
    assert.equal(splitBatch(batch, { maxBytes: 8000 + 2 * BATCH_PART_OVERHEAD_BYTES }).length, 1);
  });

  test('the file-count limit still holds for every request', () => {
    const batch = files(...Array(7).fill(10));
    const groups = splitBatch(batch, { maxFiles: 3, maxBytes: 64 * MB });
    assert.deepEqual(groups.map((group) => group.length), [3, 3, 1]);
    assert.deepEqual(groups.flat(), batch);
  });

  test('a file too big to share a request goes alone, never dropped', () => {
    const groups = splitBatch(files(100, 5000, 100), { maxFiles: 64, maxBytes: 4000, partOverhead: 0 });
    assert.deepEqual(names(groups), [['p1.png'], ['p2.png'], ['p3.png']]);
  });

  test('defaults are the server\'s defaults; junk limits fall back to them; sizes can come from elsewhere', () => {
    assert.equal(DEFAULT_MAX_BATCH, 64);
    assert.equal(DEFAULT_MAX_BATCH_BYTES, 64 * MB);
    const batch = files(...Array(65).fill(10));
    assert.deepEqual(splitBatch(batch).map((group) => group.length), [64, 1]);
    assert.deepEqual(splitBatch(batch, { maxFiles: 0, maxBytes: Number.NaN }).map((group) => group.length), [64, 1]);
    const cards = [{ file: { size: 3000 } }, { file: { size: 3000 } }];
    const sizeOf = (card) => card.file.size;
    assert.equal(splitBatch(cards, { maxBytes: 5000, partOverhead: 0, sizeOf }).length, 2);
    assert.equal(splitBatch([{}, { size: 'n/a' }], { maxBytes: 1, partOverhead: 0 }).length, 1);
  });
});

describe('error messages', () => {
  const API_CODES = [
    'missing_file',
    'invalid_top_k',
    'validation_error',
    'not_found',
    'method_not_allowed',
    'payload_too_large',
    'unsupported_media_type',
    'invalid_image',
    'image_too_large',
    'too_many_requests',
    'server_busy',
    'cross_site_request',
    'batch_decode_budget',
  ];

  test('every documented API code has its own specific message', () => {
    const messages = API_CODES.map(messageForCode);
    for (const [index, message] of messages.entries()) {
      assert.notEqual(message, UNKNOWN_ERROR_MESSAGE, API_CODES[index]);
      assert.ok(message.length > 10);
    }
    assert.equal(new Set(messages).size, messages.length, 'messages are distinct');
  });

  test('a batch refused for its total size does not blame a single file', () => {
    const message = messageForCode('batch_too_large');
    assert.notEqual(message, messageForCode('payload_too_large'));
    assert.notEqual(message, UNKNOWN_ERROR_MESSAGE);
    assert.match(message, /together/i);
    assert.doesNotMatch(message, /that file/i);
  });

  test('network errors have a friendly message', () => {
    assert.match(messageForCode('network_error'), /reach the server/);
    assert.match(messageForCode('timeout'), /too long/);
  });

  test('unknown and missing codes fall back to a generic message', () => {
    assert.equal(messageForCode('definitely_not_a_code'), UNKNOWN_ERROR_MESSAGE);
    assert.equal(messageForCode(undefined), UNKNOWN_ERROR_MESSAGE);
    assert.equal(messageForCode('toString'), UNKNOWN_ERROR_MESSAGE, 'no prototype leakage');
    assert.equal(messageForCode('__proto__'), UNKNOWN_ERROR_MESSAGE);
  });

  test('describeError keeps the server message as detail', () => {
    const described = describeError({ code: 'invalid_image', message: 'cannot identify image file' });
    assert.equal(described.code, 'invalid_image');
    assert.equal(described.title, messageForCode('invalid_image'));
    assert.equal(described.detail, 'cannot identify image file');
  });

  test('describeError handles unknown codes, Errors, strings and nothing', () => {
    assert.deepEqual(describeError({ code: 'weird', message: 'Teapot' }), {
      code: 'weird',
      title: UNKNOWN_ERROR_MESSAGE,
      detail: 'Teapot',
    });
    const plain = describeError(new TypeError('Failed to fetch'));
    assert.equal(plain.code, 'unknown');
    assert.equal(plain.detail, 'Failed to fetch');
    assert.equal(describeError('network_error').title, messageForCode('network_error'));
    assert.deepEqual(describeError(null), { code: 'unknown', title: UNKNOWN_ERROR_MESSAGE, detail: '' });
  });

  test('describeError drops a detail identical to the title or blank', () => {
    assert.equal(describeError({ code: 'not_found', message: messageForCode('not_found') }).detail, '');
    assert.equal(describeError({ code: 'not_found', message: '   ' }).detail, '');
  });

  test('file check results describe cleanly', () => {
    const check = checkFile({ name: 'huge.jpg', size: 50 * 1024 * 1024, type: 'image/jpeg' });
    const described = describeError(check);
    assert.equal(described.code, 'payload_too_large');
    assert.match(described.detail, /“huge\.jpg” is 50 MB; the limit is 10 MB/);
  });
});

describe('camera error codes', () => {
  test('maps DOMException names', () => {
    assert.equal(cameraErrorCode({ name: 'NotAllowedError' }), 'camera_permission_denied');
    assert.equal(cameraErrorCode({ name: 'SecurityError' }), 'camera_permission_denied');
    assert.equal(cameraErrorCode({ name: 'NotFoundError' }), 'camera_not_found');
    assert.equal(cameraErrorCode({ name: 'OverconstrainedError' }), 'camera_not_found');
    assert.equal(cameraErrorCode({ name: 'NotReadableError' }), 'camera_busy');
    assert.equal(cameraErrorCode('TrackStartError'), 'camera_busy');
    assert.equal(cameraErrorCode({ name: 'SomethingElse' }), 'camera_error');
    assert.equal(cameraErrorCode(undefined), 'camera_error');
  });

  test('camera messages say what happened', () => {
    assert.match(messageForCode('camera_permission_denied'), /^Camera permission was denied/);
    assert.match(messageForCode('camera_not_found'), /^No camera was found/);
    assert.match(messageForCode('camera_busy'), /busy/);
  });
});

describe('misc helpers', () => {
  test('summarizePrediction names the best class', () => {
    assert.equal(summarizePrediction(FULL), 'Top prediction: cat (70.0%).');
    assert.equal(summarizePrediction([]), 'No prediction available.');
  });

  test('imageFilesFromItems keeps only image files', () => {
    const png = new File([new Uint8Array(4)], 'image.png', { type: 'image/png' });
    const items = [
      { kind: 'string', type: 'text/plain', getAsFile: () => null },
      { kind: 'file', type: 'image/png', getAsFile: () => png },
      { kind: 'file', type: 'application/pdf', getAsFile: () => new File(['x'], 'a.pdf') },
      { kind: 'file', type: 'image/jpeg', getAsFile: () => null },
    ];
    assert.deepEqual(imageFilesFromItems(items), [png]);
    assert.deepEqual(imageFilesFromItems(undefined), []);
  });

  test('extensionForType', () => {
    assert.equal(extensionForType('image/jpeg'), 'jpg');
    assert.equal(extensionForType('image/png'), 'png');
    assert.equal(extensionForType('IMAGE/WEBP'), 'webp');
    assert.equal(extensionForType(''), 'png');
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

describe('clampTopK with the model\'s class count', () => {
  test('clamps to the published maximum', () => {
    assert.equal(clampTopK(9, 5, 4), 4);
    assert.equal(clampTopK('3', 5, 4), 3);
    assert.equal(clampTopK('junk', 5, 4), 4, 'the fallback is clamped too');
    assert.equal(clampTopK(20, 5, 100), 20);
  });
});

describe('occlusion overlay', () => {
  test('red where covering lowered the class, blue where it helped, clear where nothing changed', () => {
    assert.deepEqual(overlayColour(0.5, 0.5), [220, 38, 38, 200]);
    assert.deepEqual(overlayColour(-0.25, 0.5), [37, 99, 235, 100]);
    assert.deepEqual(overlayColour(0, 0.5)[3], 0);
    assert.deepEqual(overlayColour(0.3, 0), [0, 0, 0, 0]);
    assert.deepEqual(overlayColour(Number.NaN, 1), [0, 0, 0, 0]);
  });

  test('the text alternative names where the decisive parts are', () => {
    const heatmap = Array.from({ length: 6 }, (_, r) => Array.from({ length: 6 }, (_, c) => (r < 2 && c < 2 ? 0.4 : 0)));
    assert.match(describeHeatmap(heatmap, 'cat'), /top left/);
    assert.match(describeHeatmap(heatmap, 'cat'), /“cat”/);
    assert.match(describeHeatmap([[0, 0], [0, 0]], 'dog'), /No single part/);
    assert.equal(describeHeatmap([], 'dog'), '');
  });
});

describe('fineTuningSummary', () => {
  test('says what the fine-tuning step was', async () => {
    const { fineTuningSummary } = await import('../js/format.js');
    assert.equal(
      fineTuningSummary({ epochs: 2, learning_rate: 0.3, weight: 1, images: 8960 }),
      'outlier exposure: 2 epochs at learning rate 0.3, on 8,960 photos of other things',
    );
    assert.equal(fineTuningSummary({ epochs: 1, learning_rate: 0.1 }), 'outlier exposure: 1 epoch at learning rate 0.1');
    assert.equal(fineTuningSummary(null), '');
    assert.equal(fineTuningSummary({ epochs: 'x' }), '');
  });
});
