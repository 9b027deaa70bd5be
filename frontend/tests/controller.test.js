// The controller's flows (controller.js, batch-controller.js, camera-controller.js) with fake views
// (one recorder for every view: their method names are distinct), a fake API client and a fake
// camera: no DOM, no network.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { ApiError } from '../js/api.js';
import { createController } from '../js/controller.js';
import { Store } from '../js/store.js';

const MB = 1024 * 1024;
// /api/model as the server publishes it with its default settings (backend/api.py).
const MODEL = {
  classes: ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'],
  limits: {
    top_k: { min: 1, max: 10, default: 5 },
    max_upload_bytes: 10 * MB,
    max_batch_files: 64,
    max_batch_bytes: 64 * MB,
    live_frames_per_second: 2,
  },
};

const PREDICTIONS = [
  { label: 'cat', probability: 0.7 },
  { label: 'dog', probability: 0.2 },
  { label: 'frog', probability: 0.1 },
];

function fakeView() {
  const calls = [];
  const view = new Proxy(
    {},
    {
      get(target, name) {
        if (name === 'calls') return calls;
        if (!(name in target)) target[name] = (...args) => calls.push([name, ...args]);
        return target[name];
      },
    },
  );
  view.called = (name) => calls.filter(([called]) => called === name).map(([, ...args]) => args);
  return view;
}

function fakeApi({ predict, predictBatch, model } = {}) {
  const requests = [];
  return {
    requests,
    async predict(file, options) {
      requests.push(['predict', file.name, options]);
      return predict ? predict(file) : { predictions: PREDICTIONS, model_version: 'v1', elapsed_ms: 2 };
    },
    async predictBatch(files, options) {
      requests.push(['predictBatch', files.map((file) => file.name), options]);
      return predictBatch
        ? predictBatch(files)
        : { results: files.map(() => ({ predictions: PREDICTIONS })), model_version: 'v1' };
    },
    async explain(file, options) {
      requests.push(['explain', file.name, options]);
      return { label: options?.label ?? 'cat', heatmap: [[0.1]], input_png: 'data:image/png;base64,AA==' };
    },
    async getExamples() {
      return [{ label: 'cat', url: '/api/examples/cat.jpg' }, { label: 'dog', url: '/api/examples/dog.jpg' }];
    },
    async fetchExample(example) {
      requests.push(['fetchExample', example.url]);
      return new File([new Uint8Array(10)], `example-${example.label}.jpg`, { type: 'image/jpeg' });
    },
    async getModel() {
      if (model instanceof Error) throw model;
      return model ?? MODEL;
    },
  };
}

function fakeUrls() {
  let n = 0;
  const revoked = [];
  return { revoked, create: () => `blob:${++n}`, revoke: (url) => revoked.push(url) };
}

const fakeCamera = () => ({
  isActive: false,
  frozen: false,
  grabbed: 0,
  async grab() {
    this.grabbed += 1;
    return new Blob(['frame'], { type: 'image/jpeg' });
  },
  async start() {
    this.isActive = true;
  },
  async snap() {
    this.frozen = true;
    return new Blob(['jpeg'], { type: 'image/jpeg' });
  },
  async retake() {
    this.frozen = false;
  },
  async switchCamera() {},
  stop() {
    this.isActive = false;
    this.frozen = false;
  },
  async listVideoInputs() {
    return [{}, {}];
  },
});

const predictions = (api) => api.requests.filter(([kind]) => kind.startsWith('predict'));

const png = (name = 'cat.png', bytes = 100) => new File([new Uint8Array(bytes)], name, { type: 'image/png' });

/**
 * The controller with fakes. Without `options.model` the store starts with the server's default
 * limits, as after /api/model has answered; with it, the test loads the model's details itself.
 */
function setup(options = {}) {
  const view = fakeView();
  const api = fakeApi(options);
  const urls = fakeUrls();
  const camera = fakeCamera();
  const store = new Store(urls);
  if (!options.model) store.setModel(MODEL);
  const views = Object.fromEntries(
    ['page', 'upload', 'result', 'crop', 'explain', 'batch', 'history', 'about', 'camera'].map((name) => [name, view]),
  );
  // The view crops the shown picture with a canvas; here it hands back a small PNG.
  view.cropPicture = async (square) => {
    view.calls.push(['cropPicture', square]);
    return new Blob(['png'], { type: 'image/png' });
  };
  // Live mode's pauses, recorded; options.onSleep can stop the run from inside.
  const sleeps = [];
  const sleep = async (ms) => {
    sleeps.push(ms);
    options.onSleep?.(controller, sleeps.length);
  };
  const controller = createController({ api, store, views, camera, now: () => 1700000000000, sleep });
  return { view, api, urls, camera, store, controller, sleeps };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

// A stand-in for a large picked file: what the page reads of it (name, size, type), no bytes.
const photo = (name, bytes) => ({ name, size: bytes, type: 'image/png' });
// A batch answer whose top class is the file's own name, so each card shows which answer it got.
const echoBatch = (files) => ({
  results: files.map((file) => ({ filename: file.name, predictions: [{ label: file.name, probability: 0.9 }] })),
  model_version: 'v1',
});
const batchRequests = (api) => api.requests.filter(([kind]) => kind === 'predictBatch').map(([, names]) => names);

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

  test('a batch uploads only the acceptable files and shows each result on its card', async () => {
    const { view, api, controller, store } = setup();
    await controller.handleFiles([png('a.png'), png('huge.png', 11 * 1024 * 1024), png('b.png')]);
    assert.deepEqual(api.requests[0].slice(0, 2), ['predictBatch', ['a.png', 'b.png']]);
    const [[cards, activeId]] = view.called('renderBatch').slice(-1);
    assert.equal(cards.length, 3);
    assert.equal(cards[1].error.code, 'payload_too_large');
    assert.equal(activeId, cards[0].id);
    assert.equal(store.history.length, 2);
  });

  test('a batch over the published byte limit goes in several requests, answers in the original order', async () => {
    // The audit's case: 8 PNGs of 8.7 MB each (each under 10 MB, 70 MB in all) and a 64 MB limit.
    const { view, api, controller, store } = setup({
      predictBatch: echoBatch,
      model: { classes: ['cat'], limits: { max_upload_bytes: 10 * MB, max_batch_files: 64, max_batch_bytes: 64 * MB } },
    });
    await controller.loadModelInfo();
    assert.equal(store.limits.max_batch_bytes, 64 * MB);
    const names = Array.from({ length: 8 }, (_, index) => `p${index + 1}.png`);
    await controller.handleFiles(names.map((name) => photo(name, Math.round(8.7 * MB))));
    const sent = batchRequests(api);
    assert.deepEqual(sent, [names.slice(0, 7), names.slice(7)]);
    for (const request of sent) assert.ok(request.length * (Math.round(8.7 * MB) + 1024) <= 64 * MB);
    // one batch for the user: one set of cards, every file answered, in the order picked
    assert.equal(view.called('renderBatch').length, 1);
    const [[cards, activeId]] = view.called('renderBatch');
    assert.deepEqual(cards.map((card) => card.name), names);
    assert.deepEqual(cards.map((card) => card.predictions[0].label), names);
    assert.equal(activeId, cards[0].id);
    assert.deepEqual(view.called('showError'), [[null]]);
    assert.deepEqual(view.called('setBusy').map(([busy]) => busy), [true, true, false]);
    assert.deepEqual(view.called('setStatus').map(([text]) => text).slice(0, 2),
      ['Classifying 8 images…', 'Classifying 8 images… 7 of 8 done.']);
    assert.match(view.called('setStatus').at(-1)[0], /^8 of 8 images classified\. First: Top prediction: p1\.png/);
    assert.deepEqual(store.history.map((entry) => entry.name), names);
  });

  test('without published limits the page splits nothing: the server judges the batch', async () => {
    const { api, store, controller } = setup({ predictBatch: echoBatch, model: new ApiError('network_error', 'offline') });
    await controller.start();
    assert.equal(store.limits, null);
    await controller.handleFiles(Array.from({ length: 8 }, (_, index) => photo(`p${index}.png`, 9 * MB)));
    assert.deepEqual(batchRequests(api), [Array.from({ length: 8 }, (_, index) => `p${index}.png`)]);
    assert.deepEqual(api.requests[0][2], { topK: null }, 'the server\'s default k');
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

  test('a batch that fits one request is still sent as one', async () => {
    const { view, api, controller } = setup({ predictBatch: echoBatch });
    await controller.handleFiles([png('a.png'), png('b.png'), png('c.png')]);
    assert.deepEqual(batchRequests(api), [['a.png', 'b.png', 'c.png']]);
    assert.deepEqual(view.called('setBusy').map(([busy]) => busy), [true, false]);
  });

  test('splitting keeps the per-file check: a file over its own limit stays on its card, unsent', async () => {
    const { view, api, controller } = setup({
      predictBatch: echoBatch,
      model: { classes: ['cat'], limits: { max_upload_bytes: 10 * MB, max_batch_bytes: 20 * MB } },
    });
    await controller.loadModelInfo();
    await controller.handleFiles([
      photo('a.png', 9 * MB), photo('huge.png', 11 * MB), photo('b.png', 9 * MB), photo('c.png', 9 * MB),
    ]);
    assert.deepEqual(batchRequests(api), [['a.png', 'b.png'], ['c.png']]);
    const [[cards]] = view.called('renderBatch');
    assert.deepEqual(cards.map((card) => card.name), ['a.png', 'huge.png', 'b.png', 'c.png']);
    assert.equal(cards[1].error.code, 'payload_too_large');
    assert.match(cards[1].error.message, /huge\.png.*11 MB.*10 MB/);
    assert.deepEqual(cards.filter((card) => !card.error).map((card) => card.predictions[0].label),
      ['a.png', 'b.png', 'c.png']);
  });

  test('the file-count limit still holds: too many files are refused, each request stays within it', async () => {
    const { view, api, controller } = setup({
      predictBatch: echoBatch,
      model: { classes: ['cat'], limits: { max_batch_files: 3, max_batch_bytes: 2500 } },
    });
    await controller.loadModelInfo();
    await controller.handleFiles([png('w.png', 10), png('x.png', 10), png('y.png', 10), png('z.png', 10)]);
    assert.equal(view.called('showError').at(-1)[0].code, 'too_many_files');
    assert.equal(api.requests.length, 0);
    await controller.handleFiles([png('x.png', 10), png('y.png', 10), png('z.png', 10)]);
    assert.deepEqual(batchRequests(api), [['x.png', 'y.png'], ['z.png']]); // 1 KB a part counted
  });

  test('a request refused for its size (413) marks its own cards, accurately, and the others go on', async () => {
    let calls = 0;
    const { view, api, controller } = setup({
      predictBatch: (files) => {
        calls += 1;
        if (calls === 1) throw new ApiError('batch_too_large', 'The 2 images sent together (18 MB) are too much.', { status: 413 });
        return echoBatch(files);
      },
      model: { classes: ['cat'], limits: { max_batch_bytes: 20 * MB } },
    });
    await controller.loadModelInfo();
    await controller.handleFiles([photo('a.png', 9 * MB), photo('b.png', 9 * MB), photo('c.png', 9 * MB)]);
    assert.deepEqual(batchRequests(api), [['a.png', 'b.png'], ['c.png']]);
    const [[cards, activeId]] = view.called('renderBatch');
    assert.deepEqual(cards.map((card) => card.error?.code ?? 'ok'), ['batch_too_large', 'batch_too_large', 'ok']);
    assert.equal(activeId, cards[2].id);
    assert.equal(view.called('showError').at(-1)[0].code, 'batch_too_large');
    assert.match(view.called('setStatus').at(-1)[0], /^1 of 3 images classified/);
  });

  test('a batch whose only request is refused says why, as before, with no cards', async () => {
    const { view, controller, store } = setup({
      predictBatch: () => { throw new ApiError('batch_too_large', 'too much', { status: 413 }); },
    });
    await controller.handleFiles([png('a.png'), png('b.png')]);
    assert.equal(view.called('showError').at(-1)[0].code, 'batch_too_large');
    assert.deepEqual(view.called('renderBatch').at(-1), [[], null]);
    assert.match(view.called('clearResult').at(-1)[0], /No result/);
    assert.equal(view.called('setStatus').at(-1)[0], 'Classification failed.');
    assert.equal(store.busy, false);
  });

  test('a 429 between requests is waited out (Retry-After) and the batch carries on', async () => {
    let calls = 0;
    const { view, api, controller, sleeps } = setup({
      predictBatch: (files) => {
        calls += 1;
        if (calls === 2) throw new ApiError('too_many_requests', 'Too many megabytes', { status: 429, retryAfter: 12 });
        return echoBatch(files);
      },
      model: { classes: ['cat'], limits: { max_batch_bytes: 20 * MB } },
    });
    await controller.loadModelInfo();
    await controller.handleFiles([photo('a.png', 9 * MB), photo('b.png', 9 * MB), photo('c.png', 9 * MB)]);
    assert.deepEqual(sleeps, [12_000]);
    assert.deepEqual(batchRequests(api), [['a.png', 'b.png'], ['c.png'], ['c.png']]);
    const [[cards]] = view.called('renderBatch');
    assert.equal(cards.filter((card) => card.predictions).length, 3);
    assert.ok(view.called('setStatus').some(([text]) => /2 of 3 done\. The server asked for a pause; carrying on in 12 s\./.test(text)));
    assert.deepEqual(view.called('showError'), [[null]]);
  });

  test('a 429 that does not go away leaves those cards with the reason after a few tries', async () => {
    const { view, api, controller, sleeps } = setup({
      predictBatch: () => { throw new ApiError('too_many_requests', 'Too many megabytes', { status: 429 }); },
    });
    await controller.handleFiles([png('a.png'), png('b.png')]);
    assert.deepEqual(sleeps, [5000, 5000, 5000]); // no Retry-After: 5 s
    assert.equal(batchRequests(api).length, 4);
    assert.equal(view.called('showError').at(-1)[0].code, 'too_many_requests');
  });

  test('when a later request fails (offline), earlier answers stay and the rest are not sent', async () => {
    let calls = 0;
    const { view, api, controller, store } = setup({
      predictBatch: (files) => {
        calls += 1;
        if (calls === 2) throw new ApiError('network_error', 'No response was received from the server.');
        return echoBatch(files);
      },
      model: { classes: ['cat'], limits: { max_batch_bytes: 10 * MB } },
    });
    await controller.loadModelInfo();
    await controller.handleFiles([photo('a.png', 9 * MB), photo('b.png', 9 * MB), photo('c.png', 9 * MB)]);
    assert.deepEqual(batchRequests(api), [['a.png'], ['b.png']]);
    const [[cards]] = view.called('renderBatch');
    assert.deepEqual(cards.map((card) => card.error?.code ?? card.predictions[0].label),
      ['a.png', 'network_error', 'network_error']);
    assert.equal(view.called('showError').at(-1)[0].code, 'network_error');
    assert.deepEqual(store.history.map((entry) => entry.name), ['a.png']);
  });

  test('files the server had no decoding allowance left for are sent again in the next request', async () => {
    let calls = 0;
    const budget = { code: 'batch_decode_budget', message: 'send it in another request' };
    const { view, api, controller } = setup({
      predictBatch: (files) => {
        calls += 1;
        if (calls > 2) return echoBatch(files);
        // the server decodes the first file of a request whatever it costs, then stops
        return { results: files.map((file, index) => (index === 0 ? echoBatch([file]).results[0]
          : { filename: file.name, error: budget })), model_version: 'v1' };
      },
    });
    await controller.handleFiles([png('a.png'), png('b.png'), png('c.png'), png('d.png')]);
    assert.deepEqual(batchRequests(api),
      [['a.png', 'b.png', 'c.png', 'd.png'], ['b.png', 'c.png', 'd.png'], ['c.png', 'd.png']]);
    const [[cards]] = view.called('renderBatch');
    assert.deepEqual(cards.map((card) => card.predictions?.[0].label), ['a.png', 'b.png', 'c.png', 'd.png']);
    assert.deepEqual(view.called('setStatus').map(([text]) => text).slice(1, 3),
      ['Classifying 4 images… 1 of 4 done.', 'Classifying 4 images… 2 of 4 done.']);
  });

  test('a request\'s first file is never sent again (the batch always moves on)', async () => {
    const budget = { code: 'batch_decode_budget', message: 'send it in another request' };
    const { view, api, controller } = setup({
      predictBatch: (files) => ({ results: files.map((file) => ({ filename: file.name, error: budget })) }),
    });
    await controller.handleFiles([png('a.png'), png('b.png')]);
    assert.deepEqual(batchRequests(api), [['a.png', 'b.png'], ['b.png']]);
    const [[cards]] = view.called('renderBatch');
    assert.deepEqual(cards.map((card) => card.error.code), ['batch_decode_budget', 'batch_decode_budget']);
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

  test('the webcam: start, snap classifies the frame, stop announces it', async () => {
    const { view, api, camera, controller } = setup();
    await controller.startCamera();
    assert.equal(camera.isActive, true);
    assert.deepEqual(view.called('setCameraState').at(-1), [{ active: true, frozen: false, canSwitch: true, live: false }]);
    await controller.snap();
    assert.match(api.requests[0][1], /^webcam-.*\.jpg$/);
    assert.deepEqual(view.called('focusCameraControl').at(-1), ['retake']);
    controller.pageHidden();
    assert.equal(camera.isActive, false);
    assert.match(view.called('setStatus').at(-1)[0], /hidden/);
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

  test('live mode classifies frame after frame at the published pace until toggled off', async () => {
    const { view, api, urls, camera, controller, sleeps, store } = setup({
      model: { classes: ['cat', 'dog'], limits: { live_frames_per_second: 2.5 } },
      onSleep: (live, count) => count === 3 && live.toggleLive(),
    });
    await controller.loadModelInfo();
    await controller.startCamera();
    await controller.toggleLive();
    assert.equal(camera.grabbed, 3);
    assert.deepEqual(predictions(api).map(([, name]) => name), ['live-1.jpg', 'live-2.jpg', 'live-3.jpg']);
    assert.deepEqual(sleeps, [400, 400, 400]); // 2.5 frames a second, each after its answer
    assert.equal(view.called('showPrediction').length, 3);
    assert.deepEqual(view.called('setLive'), [[true], [false]]);
    assert.equal(store.history.length, 0, 'frames are not kept');
    assert.equal(urls.revoked.length, 2, 'each frame releases the one before');
    // the answer is announced once, not once per frame
    assert.equal(view.called('setStatus').filter(([text]) => /^Live: Top prediction/.test(text)).length, 1);
    assert.equal(view.called('setCameraState').at(-1)[0].live, false);
  });

  test('live mode needs the published pace: without /api/model it does not start', async () => {
    const { view, api, controller } = setup({ model: new ApiError('network_error', 'offline') });
    await controller.start();
    await controller.startCamera();
    await controller.toggleLive();
    assert.equal(predictions(api).length, 0);
    assert.match(view.called('setStatus').at(-1)[0], /reload/);
  });

  test('live mode waits when the server says 429, and stops on any other failure', async () => {
    let calls = 0;
    const { view, controller, sleeps, store } = setup({
      predict: () => {
        calls += 1;
        throw new ApiError(calls === 1 ? 'too_many_requests' : 'internal_error', 'no', { status: 500 });
      },
    });
    await controller.startCamera();
    await controller.toggleLive();
    assert.deepEqual(sleeps, [5000]);
    assert.equal(store.live, null);
    assert.equal(view.called('showError').at(-1)[0].code, 'internal_error');
  });

  test('hiding the page stops live mode and the camera', async () => {
    const { camera, controller, store } = setup({ onSleep: (live) => live.pageHidden() });
    await controller.startCamera();
    await controller.toggleLive();
    assert.equal(store.live, null);
    assert.equal(camera.isActive, false);
    assert.equal(camera.grabbed, 1);
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

  test('batch results are explained when shown: the first at once, the others when picked', async () => {
    const { api, controller, store } = setup();
    await controller.handleFiles([png('a.png'), png('b.png')]);
    await settle();
    const explained = () => api.requests.filter(([kind]) => kind === 'explain').map(([, name]) => name);
    assert.deepEqual(explained(), ['a.png']);
    const second = store.batchCards[1];
    controller.selectEntry(second.id);
    await settle();
    assert.deepEqual(explained(), ['a.png', 'b.png']);
    controller.selectEntry(second.id); // already explained: no new request
    await settle();
    assert.deepEqual(explained(), ['a.png', 'b.png']);
  });
});
