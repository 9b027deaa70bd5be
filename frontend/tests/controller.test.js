// controller.js's flows (one picture, a crop, its explanation, history, k, the model's details,
// examples) with the fakes of fakes.js: no DOM, no network.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { ApiError } from '../js/api.js';
import { MODEL, PREDICTIONS, png, predictions, settle, setup } from './fakes.js';

describe('controller', () => {
  test('classifies one picture: every class requested, shown, remembered, announced', async () => {
    const { view, api, controller, store } = setup();
    await controller.handleFiles([png()]);
    assert.deepEqual(predictions(api), [['predict', 'cat.png', { topK: 10 }]]);
    const [[entry, k]] = view.called('showPrediction');
    assert.equal(entry.name, 'cat.png');
    assert.equal(entry.predictions[0].label, 'cat');
    assert.equal(k, 5);
    assert.equal(store.history.length, 1);
    assert.deepEqual(view.called('setBusy').map(([busy]) => busy), [true, false]);
    assert.match(view.called('setStatus').at(-1)[0], /cat/);
  });

  test('after the answer, what the model saw and why are shown, and kept with the entry', async () => {
    const { view, api, controller, store } = setup();
    await controller.handleFiles([png('a.png')]);
    await new Promise((resolve) => setTimeout(resolve, 0)); // the explanation follows the answer
    assert.deepEqual(api.requests.map(([kind]) => kind), ['predict', 'explain']);
    assert.equal(view.called('renderExplanation').at(-1)[0].label, 'cat');
    await controller.handleFiles([png('b.png')]);
    await new Promise((resolve) => setTimeout(resolve, 0));
    controller.selectEntry(store.history.find((entry) => entry.name === 'a.png').id);
    assert.equal(view.called('renderExplanation').at(-1)[0].label, 'cat');
  });

  test('a file over the size limit is refused without a request', async () => {
    const { view, api, controller } = setup();
    await controller.handleFiles([png('big.png', 11 * 1024 * 1024)]);
    assert.equal(api.requests.length, 0);
    assert.equal(view.called('showError')[0][0].code, 'payload_too_large');
  });

  test('new pictures wait while one is being classified', async () => {
    let release;
    const { view, api, controller, store } = setup({
      predict: () => new Promise((resolve) => { release = () => resolve({ predictions: PREDICTIONS }); }),
    });
    const first = controller.handleFiles([png('a.png')]);
    await controller.handleFiles([png('b.png')]);
    assert.equal(api.requests.length, 1);
    assert.match(view.called('setStatus').at(-1)[0], /Please wait/);
    release();
    await first;
    assert.equal(store.busy, false);
  });

  test('a picture sent before /api/model has answered waits for its limits', async () => {
    let answer;
    const { api, store, controller } = setup({ model: MODEL });
    api.getModel = () => new Promise((resolve) => { answer = resolve; });
    const started = controller.start();
    const sent = controller.handleFiles([png('early.png')]);
    await settle();
    assert.equal(predictions(api).length, 0);
    answer(MODEL);
    await Promise.all([started, sent]);
    assert.deepEqual(predictions(api), [['predict', 'early.png', { topK: 10 }]]);
    assert.equal(store.topK, 5);
  });

  test('the server\'s not_sure is what marks an answer as unsure', async () => {
    const { view, controller } = setup({ predict: () => ({ predictions: PREDICTIONS, not_sure: true }) });
    await controller.handleFiles([png()]);
    assert.equal(view.called('showPrediction').at(-1)[0].notSure, true);
    const sure = setup({ predict: () => ({ predictions: [{ label: 'cat', probability: 0.1 }], not_sure: false }) });
    await sure.controller.handleFiles([png()]);
    assert.equal(sure.view.called('showPrediction').at(-1)[0].notSure, false, 'no threshold of the page\'s own');
  });

  test('a failed request shows its error and clears the result', async () => {
    const { view, controller } = setup({
      predict: () => { throw new ApiError('invalid_image', 'corrupt', { status: 422 }); },
    });
    await controller.handleFiles([png()]);
    assert.equal(view.called('showError').at(-1)[0].code, 'invalid_image');
    assert.match(view.called('clearResult').at(-1)[0], /No result/);
  });

  test('the published limits set the k choices, the default and the requests', async () => {
    const { view, api, controller } = setup({
      model: { classes: ['a', 'b', 'c', 'd'], limits: { top_k: { min: 1, max: 4, default: 3 },
        max_upload_bytes: 1000, max_batch_files: 2 } },
    });
    await controller.start();
    assert.deepEqual(view.called('setTopKChoices').at(-1), [{ min: 1, max: 4, default: 3 }, 3]);
    assert.equal(view.called('setLimits').at(-1)[0].max_batch_files, 2);
    await controller.handleFiles([png('small.png', 10)]);
    assert.deepEqual(predictions(api).at(-1)[2], { topK: 4 });
    assert.deepEqual(view.called('showPrediction').at(-1).slice(1), [3, 4], 'k, and the class count for the note');
    await controller.handleFiles([png('big.png', 1001)]);
    assert.equal(view.called('showError').at(-1)[0].code, 'payload_too_large');
    await controller.handleFiles([png('x.png', 10), png('y.png', 10), png('z.png', 10)]);
    assert.equal(view.called('showError').at(-1)[0].code, 'too_many_files');
  });

  test('model details that fail to load leave a notice, not a broken page', async () => {
    const { view, controller } = setup({ model: new ApiError('network_error', 'offline') });
    await controller.start();
    assert.match(view.called('showModelNotice').at(-1)[0], /network_error/);
  });

  test('changing k re-renders the current result without a request', async () => {
    const { view, api, controller } = setup();
    await controller.handleFiles([png()]);
    controller.setTopK('2');
    assert.equal(predictions(api).length, 1);
    assert.equal(view.called('showPrediction').at(-1)[1], 2);
  });

  test('clearing the history releases the pictures nothing shows any more', async () => {
    const { urls, controller } = setup();
    await controller.handleFiles([png('a.png')]);
    await controller.handleFiles([png('b.png')]);
    assert.deepEqual(urls.revoked, []); // a in history, b shown
    controller.clearHistory();
    assert.deepEqual(urls.revoked, ['blob:1']); // b is still on screen
  });

  test('pasted pictures without a name get one', async () => {
    const { api, controller } = setup();
    await controller.handlePaste([new File([new Uint8Array(10)], '', { type: 'image/png' })]);
    assert.equal(api.requests[0][1], 'pasted-1700000000000-1.png');
  });

  test('moving the crop square classifies that part, cropped in the page, as a new entry', async () => {
    const { view, api, controller, store } = setup();
    await controller.handleFiles([png('cat.png')]);
    await settle();
    const square = { x: 10, y: 20, side: 30 };
    await controller.cropChanged(square);
    await settle();
    assert.deepEqual(view.called('cropPicture'), [[square]]);
    assert.deepEqual(predictions(api).map(([, name]) => name), ['cat.png', 'cat-crop.png']);
    assert.deepEqual(api.requests.at(-1), ['explain', 'cat-crop.png', {}]); // why, for the crop
    const [first, second] = [store.history[1], store.history[0]];
    assert.equal(second.url, first.url); // the same picture on screen, with the square on it
    assert.deepEqual(second.crop, square);
    assert.equal(first.crop, null);
    assert.deepEqual(view.called('showCrop').at(-1), [square]);
  });

  test('Reset sends the original picture again, which the server crops in the centre', async () => {
    const { view, api, controller, store } = setup();
    await controller.handleFiles([png('cat.png')]);
    await controller.cropChanged({ x: 0, y: 0, side: 8 });
    await controller.resetCrop();
    assert.deepEqual(predictions(api).map(([, name]) => name), ['cat.png', 'cat-crop.png', 'cat.png']);
    assert.equal(store.current.crop, null);
    assert.deepEqual(view.called('showCrop').at(-1), [null]);
  });

  test('a crop while a request runs is not sent; the square goes back', async () => {
    let release;
    const { view, api, controller, store } = setup({ predict: () => new Promise((resolve) => { release = resolve; }) });
    const first = controller.handleFiles([png('a.png')]);
    await settle();
    store.current = { name: 'a.png', url: 'blob:1', source: png('a.png'), crop: null };
    await controller.cropChanged({ x: 0, y: 0, side: 8 });
    assert.equal(view.called('cropPicture').length, 0);
    assert.deepEqual(view.called('showCrop').at(-1), [null]);
    release({ predictions: PREDICTIONS });
    await first;
    assert.deepEqual(predictions(api).map(([, name]) => name), ['a.png']);
  });

  test('a class picked in the chart is explained once and marked as explained', async () => {
    const { view, api, controller } = setup();
    await controller.handleFiles([png('cat.png')]);
    await settle();
    await controller.explainClass('dog');
    await controller.explainClass('dog');
    const explains = api.requests.filter(([kind]) => kind === 'explain');
    assert.deepEqual(explains, [['explain', 'cat.png', {}], ['explain', 'cat.png', { label: 'dog' }]]);
    assert.equal(view.called('renderExplanation').at(-1)[0].label, 'dog');
    assert.equal(view.called('showPrediction').at(-1)[0].explanation.label, 'dog');
    assert.match(view.called('setStatus').at(-1)[0], /dog/);
  });

  test('examples are listed at start and one click classifies one like any upload', async () => {
    const { view, api, controller, store } = setup();
    await controller.start();
    assert.deepEqual(view.called('renderExamples')[0][0].map((example) => example.label), ['cat', 'dog']);
    await controller.tryExample(1);
    assert.deepEqual(api.requests.slice(0, 2).map(([kind, name]) => [kind, name]),
      [['fetchExample', '/api/examples/dog.jpg'], ['predict', 'example-dog.jpg']]);
    assert.equal(store.history[0].name, 'example-dog.jpg');
    await controller.tryExample(7); // not an example: nothing happens
    assert.equal(predictions(api).length, 1);
  });
});
