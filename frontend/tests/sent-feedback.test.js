// sent-feedback.js: what this browser remembers of the corrections it sent, with a storage that
// works, holds junk, is full, or cannot be read at all.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { STORAGE_KEY, createSentFeedback, parseSent } from '../js/sent-feedback.js';
import { sentSummary, sentTime } from '../js/sent-feedback-view.js';
import { fakeStorage } from './fakes.js';

const item = (n, label = 'dog') => ({
  id: String(n).repeat(32),
  deleteToken: `token-${n}`,
  label,
  sentAt: `2024-05-0${n}T10:00:00.000Z`,
});

describe('sent feedback in the browser', () => {
  test('round trip: what is added is there after a reload (a new page on the same storage)', () => {
    const storage = fakeStorage();
    const first = createSentFeedback(() => storage);
    assert.deepEqual(first.load(), []);
    first.add(item(1));
    assert.deepEqual(first.add(item(2, 'none')), [item(1), item(2, 'none')]);
    assert.deepEqual(JSON.parse(storage.items[STORAGE_KEY]), [item(1), item(2, 'none')]);
    assert.deepEqual(createSentFeedback(() => storage).load(), [item(1), item(2, 'none')]);
  });

  test('keeps only the id, the token, the label and the time: never a picture', () => {
    const storage = fakeStorage();
    createSentFeedback(() => storage).add({ ...item(1), picture: 'data:image/png;base64,AAAA', url: 'blob:1' });
    assert.deepEqual(Object.keys(JSON.parse(storage.items[STORAGE_KEY])[0]).sort(), ['deleteToken', 'id', 'label', 'sentAt']);
  });

  test('remove forgets one; the last one removed leaves no key behind', () => {
    const storage = fakeStorage();
    const sent = createSentFeedback(() => storage);
    sent.add(item(1));
    sent.add(item(2));
    assert.deepEqual(sent.remove(item(1).id), [item(2)]);
    assert.deepEqual(sent.remove('not-there'), [item(2)]);
    assert.deepEqual(sent.remove(item(2).id), []);
    assert.equal(Object.hasOwn(storage.items, STORAGE_KEY), false);
  });

  test('the same id twice is one entry', () => {
    const storage = fakeStorage();
    const sent = createSentFeedback(() => storage);
    sent.add(item(1));
    assert.deepEqual(sent.add({ ...item(1), label: 'cat' }), [{ ...item(1), label: 'cat' }]);
  });

  test('junk in the storage reads as nothing, or as the entries that make sense', () => {
    for (const junk of ['{not json', '"text"', '{"id": "a"}', 'null', '42', '']) {
      assert.deepEqual(createSentFeedback(() => fakeStorage({ [STORAGE_KEY]: junk })).load(), [], junk);
    }
    for (const junk of ['{"id": "a"}', '"text"', 'true', undefined, null]) assert.deepEqual(parseSent(junk), [], String(junk));
    const mixed = JSON.stringify([null, 'x', { id: 'a' }, { id: 7, deleteToken: 't' }, item(1), { id: 'b', deleteToken: 't', label: 3 }]);
    assert.deepEqual(parseSent(mixed), [item(1), { id: 'b', deleteToken: 't', label: '', sentAt: '' }]);
    // and the next write replaces the junk with what the page knows
    const storage = fakeStorage({ [STORAGE_KEY]: '{not json' });
    createSentFeedback(() => storage).add(item(2));
    assert.deepEqual(JSON.parse(storage.items[STORAGE_KEY]), [item(2)]);
  });

  test('no storage at all (blocked, private mode): the list lives in page memory', () => {
    for (const getStorage of [() => null, () => { throw new Error('SecurityError'); }, undefined]) {
      const sent = createSentFeedback(getStorage);
      assert.deepEqual(sent.load(), []);
      assert.deepEqual(sent.add(item(1)), [item(1)]);
      assert.equal(sent.save([item(1), item(2)]), false, 'not persisted');
      assert.deepEqual(sent.remove(item(2).id), [item(1)]);
    }
    const unreadable = fakeStorage({}, { failReads: true, failWrites: true });
    const sent = createSentFeedback(() => unreadable);
    assert.deepEqual(sent.add(item(1)), [item(1)]);
    assert.deepEqual(sent.load(), [item(1)]);
  });

  test('a full storage: writes fail, the page goes on with what it knows', () => {
    const storage = fakeStorage({ [STORAGE_KEY]: JSON.stringify([item(1)]) }, { failWrites: true });
    const sent = createSentFeedback(() => storage);
    assert.deepEqual(sent.add(item(2)), [item(1), item(2)]);
    assert.deepEqual(sent.load(), [item(1), item(2)], 'not read back over what this page knows');
    assert.deepEqual(sent.remove(item(1).id), [item(2)]);
    assert.deepEqual(JSON.parse(storage.items[STORAGE_KEY]), [item(1)], 'the storage itself is unchanged');
  });

  test('reads again each time: another tab\'s changes are seen', () => {
    const storage = fakeStorage();
    const here = createSentFeedback(() => storage);
    const there = createSentFeedback(() => storage);
    here.add(item(1));
    there.add(item(2));
    assert.deepEqual(here.load(), [item(1), item(2)]);
    there.remove(item(1).id);
    assert.deepEqual(here.load(), [item(2)]);
  });
});

describe('the footer\'s words for them', () => {
  test('how many, and when', () => {
    assert.equal(sentSummary(1), 'You sent 1 picture from this browser.');
    assert.equal(sentSummary(3), 'You sent 3 pictures from this browser.');
    assert.match(sentTime('2024-05-01T10:00:00.000Z'), /2024/);
    assert.equal(sentTime(''), '');
    assert.equal(sentTime('not a time'), '');
  });
});
