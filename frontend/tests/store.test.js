import { describe, test } from 'node:test';
import assert from 'node:assert/strict';

import { HISTORY_LIMIT, Store, addToHistory, clampTopK, urlsInUse } from '../js/store.js';

const entry = (id) => ({ id, url: `blob:${id}`, name: `${id}.png` });

function fakeUrls() {
  let n = 0;
  const revoked = [];
  return { revoked, create: () => `blob:${++n}`, revoke: (url) => revoked.push(url) };
}

// As /api/model publishes them (backend/api/model_info.py), for a model of four classes.
const MODEL = {
  classes: ['cat', 'dog', 'frog', 'ship'],
  limits: { top_k: { min: 1, max: 4, default: 3 }, max_upload_bytes: 1000, max_batch_files: 2, max_batch_bytes: 5000 },
};

describe('addToHistory', () => {
  test('most recent first', () => {
    let history = [];
    for (const id of [1, 2, 3]) history = addToHistory(history, [entry(id)]);
    assert.deepEqual(history.map((e) => e.id), [3, 2, 1]);
  });

  test('a batch keeps its upload order at the front', () => {
    assert.deepEqual(addToHistory([entry(1)], [entry(2), entry(3), entry(4)]).map((e) => e.id), [2, 3, 4, 1]);
  });

  test('keeps the most recent HISTORY_LIMIT entries', () => {
    let history = [];
    for (let id = 1; id <= HISTORY_LIMIT + 2; id += 1) history = addToHistory(history, [entry(id)]);
    assert.equal(history.length, HISTORY_LIMIT);
    assert.equal(history[0].id, HISTORY_LIMIT + 2);
    assert.equal(history.at(-1).id, 3, 'the two oldest fell off');
  });

  test('custom limit and no duplicates when re-adding an id', () => {
    assert.deepEqual(addToHistory([entry(1), entry(2)], [entry(2)], 5).map((e) => e.id), [2, 1]);
    assert.equal(addToHistory([entry(1), entry(2)], [entry(3)], 2).length, 2);
  });

  test('does not mutate its input', () => {
    const original = [entry(1)];
    addToHistory(original, [entry(2)]);
    assert.deepEqual(original.map((e) => e.id), [1]);
  });
});

describe('urlsInUse', () => {
  test('collects urls from several groups, ignoring empties', () => {
    const urls = urlsInUse([entry(1), { id: 9 }], null, [entry(2), null, { url: null }]);
    assert.deepEqual([...urls].sort(), ['blob:1', 'blob:2']);
  });
});

describe('clampTopK', () => {
  const range = { min: 1, max: 4 };

  test('keeps values in the published range, parses a <select>\'s strings, truncates fractions', () => {
    assert.equal(clampTopK(3, range, 2), 3);
    assert.equal(clampTopK(9, range, 2), 4);
    assert.equal(clampTopK(0, range, 2), 1);
    assert.equal(clampTopK(' 3 ', range, 2), 3);
    assert.equal(clampTopK('2.9', range, 1), 2);
  });

  test('junk gives the fallback', () => {
    for (const junk of ['abc', undefined, null, Number.NaN, Infinity]) assert.equal(clampTopK(junk, range, 2), 2);
  });
});

describe('Store', () => {
  test('knows no limits and shows every class until /api/model has answered', () => {
    const store = new Store(fakeUrls());
    assert.equal(store.limits, null);
    assert.equal(store.topK, null);
    assert.equal(store.requestedTopK, null, 'the server then answers with its default');
    store.chooseTopK('2');
    assert.equal(store.topK, null, 'no range to choose in yet');
  });

  test('takes its limits, k and class count from /api/model', () => {
    const store = new Store(fakeUrls());
    store.setModel(MODEL);
    assert.equal(store.limits, MODEL.limits);
    assert.equal(store.classCount, 4);
    assert.equal(store.topK, 3, 'the server\'s default');
    assert.equal(store.requestedTopK, 4, 'every class, so that changing k needs no request');
    store.chooseTopK('9');
    assert.equal(store.topK, 4);
  });

  test('a k the user chose stays chosen when the model\'s details arrive again', () => {
    const store = new Store(fakeUrls());
    store.setModel(MODEL);
    store.chooseTopK(2);
    store.setModel(MODEL);
    assert.equal(store.topK, 2);
  });

  test('finds answered entries of the history and the batch by id', () => {
    const store = new Store(fakeUrls());
    store.remember([entry(1)]);
    store.batchCards = [entry(2), { ...entry(3), error: { code: 'invalid_image' } }];
    assert.equal(store.findEntry(1).id, 1);
    assert.equal(store.findEntry(2).id, 2);
    assert.equal(store.findEntry(3), null, 'a failed card has nothing to show');
    store.clearHistory();
    assert.equal(store.findEntry(1), null);
  });

  test('revokes the object URLs nothing on screen uses any more', () => {
    const urls = fakeUrls();
    const store = new Store(urls);
    const kept = store.createObjectUrl(new Blob(['a']));
    const shown = store.createObjectUrl(new Blob(['b']));
    const dropped = store.createObjectUrl(new Blob(['c']));
    store.remember([{ id: 1, url: kept }]);
    store.previewUrl = shown;
    store.releaseUnusedUrls();
    assert.deepEqual(urls.revoked, [dropped]);
    store.clearHistory();
    store.releaseUnusedUrls();
    assert.deepEqual(urls.revoked, [dropped, kept]);
  });
});
