// The corrections this browser sent, through the controller with the fakes of fakes.js: a send is
// remembered, Undo forgets it, and the footer's line withdraws them later (after a reload), one or
// all, forgetting those the server deleted or no longer has and keeping those an error kept.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { ApiError } from '../js/api.js';
import { withdrawnNote } from '../js/feedback-controller.js';
import { STORAGE_KEY } from '../js/sent-feedback.js';
import { MODEL, fakeStorage, png, settle, setup } from './fakes.js';

const SENT_AT = new Date(1700000000000).toISOString(); // fakes.js's clock
const item = (n, label = 'dog') => ({ id: String(n).repeat(32), deleteToken: `token-${n}`, label, sentAt: SENT_AT });
const stored = (storage) => JSON.parse(storage.items[STORAGE_KEY] ?? '[]');
const line = (view) => view.called('renderSent').at(-1)?.[0];
const deletes = (api) => api.requests.filter(([kind]) => kind === 'deleteFeedback').map(([, id]) => id);
const lastError = (view) => view.called('showError').at(-1)?.[0];

/** Open the panel, pick `label`, tick the box and send. */
async function correct(controller, label = 'dog') {
  controller.openFeedback();
  controller.pickLabel(label);
  controller.setConsent(true);
  await controller.sendFeedback();
}

/** The page opened again in this browser: its storage holds `items`; the model's details loaded. */
async function reopened(items, options = {}) {
  const storage = fakeStorage({ [STORAGE_KEY]: JSON.stringify(items) });
  const page = setup({ model: MODEL, storage, ...options });
  await page.controller.start();
  return { ...page, storage };
}

/** A deleteFeedback that fails for these ids with these codes, and deletes the others. */
const failing = (codes) => (id) => {
  const code = codes[id];
  if (code) throw new ApiError(code, code, { status: code === 'feedback_not_found' ? 404 : 500 });
};

describe('sent corrections, remembered in this browser', () => {
  test('a send is remembered (id, token, class, time) and shown in the footer\'s line', async () => {
    const storage = fakeStorage();
    const { view, controller } = setup({ storage });
    await controller.handleFiles([png()]);
    await correct(controller, 'none');
    assert.deepEqual(stored(storage), [{ id: 'f'.repeat(32), deleteToken: 'token-1', label: 'none', sentAt: SENT_AT }]);
    assert.deepEqual(line(view), { items: stored(storage), busy: false, note: '', available: true });
  });

  test('a refused send remembers nothing', async () => {
    const storage = fakeStorage();
    const { controller } = setup({
      storage, sendFeedback: () => { throw new ApiError('feedback_storage_full', 'full', { status: 507 }); },
    });
    await controller.handleFiles([png()]);
    await correct(controller);
    assert.deepEqual(stored(storage), []);
  });

  test('Undo forgets it; so does an Undo the server no longer knows', async () => {
    for (const deleteFeedback of [undefined, failing({ ['f'.repeat(32)]: 'feedback_not_found' })]) {
      const storage = fakeStorage();
      const { view, controller } = setup({ storage, deleteFeedback });
      await controller.handleFiles([png()]);
      await correct(controller);
      assert.equal(stored(storage).length, 1);
      await controller.undoFeedback();
      assert.deepEqual(stored(storage), []);
      assert.deepEqual(line(view).items, []);
    }
  });

  test('an Undo that fails otherwise keeps it', async () => {
    const storage = fakeStorage();
    const { controller } = setup({ storage, deleteFeedback: failing({ ['f'.repeat(32)]: 'network_error' }) });
    await controller.handleFiles([png()]);
    await correct(controller);
    await controller.undoFeedback();
    assert.equal(stored(storage).length, 1);
  });

  test('after a reload the line lists them; with nothing sent, or feedback off, it shows nothing', async () => {
    const { view } = await reopened([item(1), item(2, 'cat')]);
    assert.deepEqual(line(view), { items: [item(1), item(2, 'cat')], busy: false, note: '', available: true });
    assert.deepEqual(line((await reopened([])).view).items, []);
    const off = await reopened([item(1)], { model: { ...MODEL, feedback: false } });
    assert.equal(line(off.view).available, false);
    await off.controller.withdrawAllSent();
    await off.controller.withdrawSent(item(1).id);
    assert.deepEqual(deletes(off.api), [], 'nothing to withdraw where the server keeps no feedback');
  });

  test('"Withdraw them all" deletes each with its own token and forgets them', async () => {
    const { view, api, controller, storage } = await reopened([item(1), item(2), item(3)]);
    await controller.withdrawAllSent();
    assert.deepEqual(api.requests.filter(([kind]) => kind === 'deleteFeedback'),
      [1, 2, 3].map((n) => ['deleteFeedback', item(n).id, `token-${n}`]));
    assert.deepEqual(stored(storage), []);
    assert.deepEqual(line(view), { items: [], busy: false, note: 'Withdrawn: the server has deleted 3 pictures.', available: true });
    assert.deepEqual(view.called('focusSent').at(-1), ['all']);
  });

  test('what the server no longer has is forgotten; what an error kept stays, to try again', async () => {
    const { view, api, controller, storage } = await reopened([item(1), item(2), item(3)], {
      deleteFeedback: failing({ [item(1).id]: 'feedback_not_found', [item(2).id]: 'internal_error' }),
    });
    await controller.withdrawAllSent();
    assert.deepEqual(deletes(api), [item(1).id, item(2).id, item(3).id], 'one error does not stop the others');
    assert.deepEqual(stored(storage), [item(2)]);
    assert.equal(line(view).note,
      'Withdrawn: the server has deleted 1 picture. 1 was already gone. 1 picture could not be withdrawn: try again later.');
    assert.equal(lastError(view).code, 'internal_error');

    await controller.withdrawAllSent(); // and again, once the server is back
    assert.deepEqual(deletes(api).at(-1), item(2).id);
  });

  test('one Withdraw: deleted, already gone, or kept after an error', async () => {
    const { view, api, controller, storage } = await reopened([item(1), item(2, 'none'), item(3)], {
      deleteFeedback: failing({ [item(1).id]: 'network_error', [item(3).id]: 'feedback_not_found' }),
    });
    await controller.withdrawSent(item(2).id);
    assert.deepEqual(api.requests.at(-1), ['deleteFeedback', item(2).id, 'token-2']);
    assert.deepEqual(stored(storage), [item(1), item(3)]);
    assert.equal(line(view).note, 'Withdrawn: the server has deleted the picture sent as “none of these”.');
    assert.deepEqual(view.called('focusSent').at(-1), ['item', 1]);

    await controller.withdrawSent(item(3).id);
    assert.deepEqual(stored(storage), [item(1)]);
    assert.equal(lastError(view).code, 'feedback_not_found');

    await controller.withdrawSent(item(1).id);
    assert.deepEqual(stored(storage), [item(1)]);
    assert.equal(lastError(view).code, 'network_error');
    assert.equal(line(view).note, '');

    await controller.withdrawSent('not-remembered');
    assert.equal(deletes(api).length, 3, 'nothing is sent for an id the browser does not hold');
  });

  test('withdrawing from the line takes the Undo off the answer on screen', async () => {
    const storage = fakeStorage();
    const { view, api, controller } = setup({ storage });
    await controller.handleFiles([png()]);
    await correct(controller);
    assert.equal(view.called('renderFeedback').at(-1)[0].sent, 'dog');
    await controller.withdrawAllSent();
    assert.equal(view.called('renderFeedback').at(-1)[0].sent, null);
    await controller.undoFeedback();
    assert.equal(deletes(api).length, 1, 'nothing left for Undo to take back');
  });

  test('busy while withdrawing: one request per picture, whatever is pressed meanwhile', async () => {
    const waiting = [];
    const { view, api, controller, storage } = await reopened([item(1), item(2)], {
      deleteFeedback: () => new Promise((resolve) => { waiting.push(resolve); }),
    });
    const running = controller.withdrawAllSent();
    await settle();
    assert.equal(line(view).busy, true);
    const meanwhile = [controller.withdrawAllSent(), controller.withdrawSent(item(2).id)];
    await settle();
    while (waiting.length) {
      waiting.shift()();
      await settle();
    }
    await Promise.all([running, ...meanwhile]);
    assert.deepEqual(deletes(api), [item(1).id, item(2).id]);
    assert.deepEqual(stored(storage), []);
    assert.equal(line(view).busy, false);
  });

  test('without a storage that works, sending, Undo and the line still work for this page', async () => {
    for (const storage of [fakeStorage({}, { failWrites: true }), fakeStorage({}, { failReads: true, failWrites: true })]) {
      const { view, api, controller } = setup({ storage });
      await controller.handleFiles([png()]);
      await correct(controller);
      assert.equal(line(view).items.length, 1);
      await controller.undoFeedback();
      assert.deepEqual(line(view).items, []);
      await correct(controller);
      await controller.withdrawAllSent();
      assert.deepEqual(deletes(api).length, 2);
    }
  });

  test('the note, in words', () => {
    assert.equal(withdrawnNote({ deleted: 1, gone: 0, failed: 0 }), 'Withdrawn: the server has deleted 1 picture.');
    assert.equal(withdrawnNote({ deleted: 0, gone: 2, failed: 0 }), 'Nothing left to withdraw: the server no longer had them.');
    assert.equal(withdrawnNote({ deleted: 2, gone: 2, failed: 3 }),
      'Withdrawn: the server has deleted 2 pictures. 2 were already gone. 3 pictures could not be withdrawn: try again later.');
  });
});
