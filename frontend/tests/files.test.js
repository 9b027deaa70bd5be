import { describe, test } from 'node:test';
import assert from 'node:assert/strict';

import {
  BATCH_PART_OVERHEAD_BYTES,
  checkFile,
  extensionForType,
  fileName,
  imageFilesFromItems,
  isAcceptableImageType,
  splitBatch,
} from '../js/files.js';

describe('file checks', () => {
  const file = (overrides) => ({ name: 'cat.png', size: 2048, type: 'image/png', ...overrides });

  test('a normal image passes', () => {
    assert.deepEqual(checkFile(file()), { ok: true });
    assert.deepEqual(checkFile(file({ type: 'image/jpeg', name: 'a.jpg' })), { ok: true });
  });

  const LIMIT = 10 * 1024 * 1024;

  test('exactly the limit passes, one byte more fails with payload_too_large', () => {
    assert.equal(checkFile(file({ size: LIMIT }), { maxBytes: LIMIT }).ok, true);
    const result = checkFile(file({ size: LIMIT + 1 }), { maxBytes: LIMIT });
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

  test('without a known limit the size is left to the server', () => {
    assert.equal(checkFile(file({ size: 500 * 1024 * 1024 })).ok, true);
    assert.equal(checkFile(file({ size: 500 * 1024 * 1024 }), { maxBytes: null }).ok, true);
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
    const result = checkFile({ size: LIMIT * 2, type: 'image/jpeg' }, { maxBytes: LIMIT });
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

  test('limits not known yet split nothing; sizes can come from elsewhere', () => {
    const batch = files(...Array(65).fill(10 * MB));
    assert.deepEqual(splitBatch(batch).map((group) => group.length), [65]);
    assert.deepEqual(splitBatch(batch, { maxFiles: undefined, maxBytes: undefined }).map((group) => group.length), [65]);
    const cards = [{ file: { size: 3000 } }, { file: { size: 3000 } }];
    const sizeOf = (card) => card.file.size;
    assert.equal(splitBatch(cards, { maxBytes: 5000, partOverhead: 0, sizeOf }).length, 2);
    assert.equal(splitBatch([{}, { size: 'n/a' }], { maxBytes: 1, partOverhead: 0 }).length, 1);
  });
});

describe('naming and picking files', () => {
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

  test('nameless files get the fallback name', () => {
    assert.equal(fileName({ name: 'cat.png' }, 'image'), 'cat.png');
    assert.equal(fileName(new Blob(['x']), 'image'), 'image');
    assert.equal(fileName({ name: '' }, 'image-2'), 'image-2');
  });

  test('extensionForType', () => {
    assert.equal(extensionForType('image/jpeg'), 'jpg');
    assert.equal(extensionForType('image/png'), 'png');
    assert.equal(extensionForType('IMAGE/WEBP'), 'webp');
    assert.equal(extensionForType(''), 'png');
  });
});

