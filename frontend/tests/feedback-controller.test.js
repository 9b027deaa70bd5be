// feedback-controller.js: "Wrong answer?" through the controller with the fakes of fakes.js, for an
// upload, a crop, a webcam snapshot and live mode's last frame.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { ApiError } from '../js/api.js';
import { MODEL, png, settle, setup } from './fakes.js';

const sent = (api) => api.requests.filter(([kind]) => kind === 'sendFeedback');
const panel = (view) => view.called('renderFeedback').at(-1)[0];

/** Open the panel, pick `label`, tick the box and send. */
async function correct(controller, label = 'dog') {
  controller.openFeedback();
  controller.pickLabel(label);
  controller.setConsent(true);
  await controller.sendFeedback();
}

describe('wrong answer', () => {
  test('shows under an answer only where the server keeps feedback', async () => {
    const on = setup({ model: MODEL });
    await on.controller.start();
    assert.deepEqual(on.view.called('setClasses').at(-1), [MODEL.classes]);
    assert.deepEqual(on.view.called('setAvailable').at(-1), [true]);
    assert.equal(panel(on.view), null, 'no answer on screen yet');
    await on.controller.handleFiles([png()]);
    assert.deepEqual(panel(on.view), { open: false, label: null, consent: false, busy: false, sent: null, note: '' });

    const off = setup({ model: { ...MODEL, feedback: false } });
    await off.controller.start();
    await off.controller.handleFiles([png()]);
    assert.deepEqual(off.view.called('setAvailable').at(-1), [false]);
    assert.equal(panel(off.view), null);
    off.controller.openFeedback();
    off.controller.pickLabel('dog');
    off.controller.setConsent(true);
    await off.controller.sendFeedback();
    assert.deepEqual(sent(off.api), []);
  });

  test('sends the picture as classified, with the picked class and the model\'s answer, only once the box is ticked', async () => {
    const { view, api, controller, store } = setup();
    await controller.handleFiles([png('cat.png')]);
    controller.openFeedback();
    assert.deepEqual(panel(view), { open: true, label: null, consent: false, busy: false, sent: null, note: '' });
    assert.deepEqual(view.called('focusFeedback').at(-1), ['choices']);
    await controller.sendFeedback();
    controller.pickLabel('dog');
    await controller.sendFeedback();
    assert.deepEqual(sent(api), [], 'nothing is sent without a class and the ticked box');
    assert.equal(panel(view).label, 'dog');
    controller.setConsent(true);
    await controller.sendFeedback();
    assert.deepEqual(sent(api), [['sendFeedback', 'cat.png', { label: 'dog', predicted: 'cat', consent: true }]]);
    assert.deepEqual(panel(view), { open: false, label: null, consent: false, busy: false, sent: 'dog', note: '' });
    assert.deepEqual(view.called('focusFeedback').at(-1), ['undo']);
    assert.deepEqual(store.current.feedback, { id: 'f'.repeat(32), deleteToken: 'token-1', label: 'dog' });
  });

  test('is busy while sending: one request, whatever is pressed meanwhile', async () => {
    let answer;
    const { view, api, controller } = setup({ sendFeedback: () => new Promise((resolve) => { answer = resolve; }) });
    await controller.handleFiles([png()]);
    const sending = correct(controller);
    await settle();
    assert.equal(panel(view).busy, true);
    await controller.sendFeedback();
    controller.pickLabel('bird');
    answer({ id: 'a'.repeat(32), delete_token: 't' });
    await sending;
    assert.equal(sent(api).length, 1);
    assert.equal(panel(view).sent, 'dog');
  });

  test('takes only the model\'s classes or "none"', async () => {
    const { view, controller } = setup();
    await controller.handleFiles([png()]);
    controller.openFeedback();
    controller.pickLabel('unicorn');
    assert.equal(panel(view).label, null);
    controller.pickLabel('none');
    assert.equal(panel(view).label, 'none');
  });

  test('Cancel closes it and gives focus back; opening again starts over, unticked', async () => {
    const { view, controller } = setup();
    await controller.handleFiles([png()]);
    controller.openFeedback();
    controller.pickLabel('dog');
    controller.setConsent(true);
    controller.cancelFeedback();
    assert.equal(panel(view).open, false);
    assert.deepEqual(view.called('focusFeedback').at(-1), ['open']);
    controller.openFeedback();
    assert.deepEqual(panel(view), { open: true, label: null, consent: false, busy: false, sent: null, note: '' });
  });

  test('Undo deletes it on the server with the sender\'s token', async () => {
    const { view, api, controller, store } = setup();
    await controller.handleFiles([png()]);
    await correct(controller);
    await controller.undoFeedback();
    assert.deepEqual(api.requests.at(-1), ['deleteFeedback', 'f'.repeat(32), 'token-1']);
    assert.equal(store.current.feedback, null);
    assert.equal(panel(view).sent, null);
    assert.match(panel(view).note, /deleted/);
    assert.deepEqual(view.called('focusFeedback').at(-1), ['open']);
  });

  test('a refused send says why and keeps the form as filled in', async () => {
    const { view, controller, store } = setup({
      sendFeedback: () => { throw new ApiError('feedback_storage_full', 'full', { status: 507 }); },
    });
    await controller.handleFiles([png()]);
    await correct(controller, 'none');
    assert.equal(view.called('showError').at(-1)[0].code, 'feedback_storage_full');
    assert.deepEqual(view.called('focusFeedback').at(-1), ['send'], 'to try again');
    assert.deepEqual(panel(view), { open: true, label: 'none', consent: true, busy: false, sent: null, note: '' });
    assert.equal(store.current.feedback, undefined);
  });

  test('an Undo the server no longer knows leaves nothing to take back', async () => {
    const { view, controller, store } = setup({
      deleteFeedback: () => { throw new ApiError('feedback_not_found', 'gone', { status: 404 }); },
    });
    await controller.handleFiles([png()]);
    await correct(controller);
    await controller.undoFeedback();
    assert.equal(view.called('showError').at(-1)[0].code, 'feedback_not_found');
    assert.equal(store.current.feedback, null);
    assert.equal(panel(view).sent, null);
  });

  test('a sent correction stays with its answer in the history; another answer has its own panel', async () => {
    const { view, controller, store } = setup();
    await controller.handleFiles([png('a.png')]);
    await correct(controller, 'bird');
    await controller.handleFiles([png('b.png')]);
    assert.deepEqual(panel(view), { open: false, label: null, consent: false, busy: false, sent: null, note: '' });
    controller.selectEntry(store.history.find((entry) => entry.name === 'a.png').id);
    assert.equal(panel(view).sent, 'bird');
  });

  test('it is hidden while another picture is being classified', async () => {
    let answer = null;
    const { view, controller } = setup({
      predict: () => (answer ? new Promise((resolve) => { answer = resolve; }) : { predictions: [{ label: 'cat', probability: 1 }] }),
    });
    await controller.handleFiles([png('a.png')]);
    assert.notEqual(panel(view), null);
    answer = () => {};
    const classifying = controller.handleFiles([png('b.png')]);
    await settle();
    assert.equal(panel(view), null);
    answer({ predictions: [{ label: 'dog', probability: 1 }] });
    await classifying;
    assert.notEqual(panel(view), null);
  });

  test('a crop sends the part the page cut out and classified', async () => {
    const { api, controller } = setup();
    await controller.handleFiles([png('cat.png')]);
    await settle();
    await controller.cropChanged({ x: 1, y: 2, side: 30 });
    await correct(controller);
    assert.equal(sent(api)[0][1], 'cat-crop.png');
  });

  test('a webcam snapshot sends the snapped frame', async () => {
    const { api, controller } = setup();
    await controller.startCamera();
    await controller.snap();
    await correct(controller);
    assert.match(sent(api)[0][1], /^webcam-.*\.jpg$/);
  });

  test('a batch: the card on screen sends its own file', async () => {
    const { api, controller, store } = setup();
    await controller.handleFiles([png('a.png'), png('b.png')]);
    controller.selectEntry(store.batchCards[1].id);
    await correct(controller, 'ship');
    assert.deepEqual(sent(api).map(([, name, options]) => [name, options.label]), [['b.png', 'ship']]);
  });

  test('live mode hides it; once stopped, the frame on screen is what is sent', async () => {
    const hiddenWhileLive = [];
    const { view, api, controller } = setup({
      onSleep: (live, count) => {
        hiddenWhileLive.push(panel(view) === null);
        if (count === 2) live.toggleLive();
      },
    });
    await controller.handleFiles([png('before.png')]);
    await controller.startCamera();
    await controller.toggleLive();
    assert.deepEqual(hiddenWhileLive, [true, true]);
    assert.notEqual(panel(view), null);
    await correct(controller, 'horse');
    assert.deepEqual(sent(api).map(([, name, options]) => [name, options.label]), [['live-2.jpg', 'horse']]);
  });
});
