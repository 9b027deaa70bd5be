import { describe, test } from 'node:test';
import assert from 'node:assert/strict';

import { HISTORY_LIMIT, addToHistory, urlsInUse } from '../js/history.js';

const entry = (id) => ({ id, url: `blob:${id}`, name: `${id}.png` });

describe('addToHistory', () => {
  test('most recent first', () => {
    let history = [];
    for (const id of [1, 2, 3]) history = addToHistory(history, [entry(id)]).history;
    assert.deepEqual(history.map((e) => e.id), [3, 2, 1]);
  });

  test('a batch keeps its upload order at the front', () => {
    const { history } = addToHistory([entry(1)], [entry(2), entry(3), entry(4)]);
    assert.deepEqual(history.map((e) => e.id), [2, 3, 4, 1]);
  });

  test('caps at 20 and reports what fell off', () => {
    assert.equal(HISTORY_LIMIT, 20);
    let history = [];
    for (let id = 1; id <= 20; id += 1) history = addToHistory(history, [entry(id)]).history;
    assert.equal(history.length, 20);
    const result = addToHistory(history, [entry(21), entry(22)]);
    assert.equal(result.history.length, 20);
    assert.deepEqual(result.history.slice(0, 2).map((e) => e.id), [21, 22]);
    assert.deepEqual(result.evicted.map((e) => e.id), [2, 1]);
  });

  test('custom limit and no duplicates when re-adding an id', () => {
    const { history } = addToHistory([entry(1), entry(2)], [entry(2)], 5);
    assert.deepEqual(history.map((e) => e.id), [2, 1]);
    assert.equal(addToHistory([entry(1), entry(2)], [entry(3)], 2).history.length, 2);
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
