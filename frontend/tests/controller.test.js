// The controller's flows with a fake view (records every call), a fake API client and a fake
// camera: no DOM, no network.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { ApiError } from '../js/api.js';
import { createController } from '../js/controller.js';

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
      return model ?? { classes: ['cat', 'dog', 'frog', 'ship'], limits: {} };
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

function setup(options = {}) {
  const view = fakeView();
  const api = fakeApi(options);
  const urls = fakeUrls();
  const camera = fakeCamera();
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
  const controller = createController({ api, view, camera, urls, now: () => 1700000000000, sleep });
  return { view, api, urls, camera, controller, sleeps };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

describe('controller', () => {
  test('classifies one picture: every class requested, shown, remembered, announced', async () => {
    const { view, api, controller } = setup();
    await controller.handleFiles([png()]);
    assert.deepEqual(predictions(api), [['predict', 'cat.png', { topK: 10, maxTopK: 10 }]]);
    const [[entry, k]] = view.called('showPrediction');
    assert.equal(entry.name, 'cat.png');
    assert.equal(entry.predictions[0].label, 'cat');
    assert.equal(k, 5);
    assert.equal(controller.state.history.length, 1);
    assert.deepEqual(view.called('setBusy').map(([busy]) => busy), [true, false]);
    assert.match(view.called('setStatus').at(-1)[0], /cat/);
  });

  test('after the answer, what the model saw and why are shown, and kept with the entry', async () => {
    const { view, api, controller } = setup();
    await controller.handleFiles([png('a.png')]);
    await new Promise((resolve) => setTimeout(resolve, 0)); // the explanation follows the answer
    assert.deepEqual(api.requests.map(([kind]) => kind), ['predict', 'explain']);
    assert.equal(view.called('renderExplanation').at(-1)[0].label, 'cat');
    await controller.handleFiles([png('b.png')]);
    await new Promise((resolve) => setTimeout(resolve, 0));
    controller.selectEntry(controller.state.history.find((entry) => entry.name === 'a.png').id);
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
    const { view, api, controller } = setup({
      predict: () => new Promise((resolve) => { release = () => resolve({ predictions: PREDICTIONS }); }),
    });
    const first = controller.handleFiles([png('a.png')]);
    await controller.handleFiles([png('b.png')]);
    assert.equal(api.requests.length, 1);
    assert.match(view.called('setStatus').at(-1)[0], /Please wait/);
    release();
    await first;
    assert.equal(controller.isBusy(), false);
  });

  test('a batch uploads only the acceptable files and shows each result on its card', async () => {
    const { view, api, controller } = setup();
    await controller.handleFiles([png('a.png'), png('huge.png', 11 * 1024 * 1024), png('b.png')]);
    assert.deepEqual(api.requests[0].slice(0, 2), ['predictBatch', ['a.png', 'b.png']]);
    const [[cards, activeId]] = view.called('renderBatch').slice(-1);
    assert.equal(cards.length, 3);
    assert.equal(cards[1].error.code, 'payload_too_large');
    assert.equal(activeId, cards[0].id);
    assert.equal(controller.state.history.length, 2);
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
    assert.deepEqual(view.called('setTopKRange').at(-1), [4]);
    assert.deepEqual(view.called('setTopK').at(-1), [3]);
    assert.deepEqual(view.called('setLimits').at(-1), [{ maxBytes: 1000, maxBatch: 2 }]);
    await controller.handleFiles([png('small.png', 10)]);
    assert.deepEqual(predictions(api).at(-1)[2], { topK: 4, maxTopK: 4 });
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
    const { view, api, controller } = setup();
    await controller.handleFiles([png('cat.png')]);
    await settle();
    const square = { x: 10, y: 20, side: 30 };
    await controller.cropChanged(square);
    await settle();
    assert.deepEqual(view.called('cropPicture'), [[square]]);
    assert.deepEqual(predictions(api).map(([, name]) => name), ['cat.png', 'cat-crop.png']);
    assert.deepEqual(api.requests.at(-1), ['explain', 'cat-crop.png', {}]); // why, for the crop
    const [first, second] = [controller.state.history[1], controller.state.history[0]];
    assert.equal(second.url, first.url); // the same picture on screen, with the square on it
    assert.deepEqual(second.crop, square);
    assert.equal(first.crop, null);
    assert.deepEqual(view.called('showCrop').at(-1), [square]);
  });

  test('Reset sends the original picture again, which the server crops in the centre', async () => {
    const { view, api, controller } = setup();
    await controller.handleFiles([png('cat.png')]);
    await controller.cropChanged({ x: 0, y: 0, side: 8 });
    await controller.resetCrop();
    assert.deepEqual(predictions(api).map(([, name]) => name), ['cat.png', 'cat-crop.png', 'cat.png']);
    assert.equal(controller.state.current.crop, null);
    assert.deepEqual(view.called('showCrop').at(-1), [null]);
  });

  test('a crop while a request runs is not sent; the square goes back', async () => {
    let release;
    const { view, api, controller } = setup({ predict: () => new Promise((resolve) => { release = resolve; }) });
    const first = controller.handleFiles([png('a.png')]);
    await settle();
    controller.state.current = { name: 'a.png', url: 'blob:1', source: png('a.png'), crop: null };
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
    const { view, api, urls, camera, controller, sleeps } = setup({
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
    assert.equal(controller.state.history.length, 0, 'frames are not kept');
    assert.equal(urls.revoked.length, 2, 'each frame releases the one before');
    // the answer is announced once, not once per frame
    assert.equal(view.called('setStatus').filter(([text]) => /^Live: Top prediction/.test(text)).length, 1);
    assert.equal(view.called('setCameraState').at(-1)[0].live, false);
  });

  test('live mode waits when the server says 429, and stops on any other failure', async () => {
    let calls = 0;
    const { view, controller, sleeps } = setup({
      predict: () => {
        calls += 1;
        throw new ApiError(calls === 1 ? 'too_many_requests' : 'server_error', 'no', { status: 500 });
      },
    });
    await controller.startCamera();
    await controller.toggleLive();
    assert.deepEqual(sleeps, [5000]);
    assert.equal(controller.state.live, null);
    assert.equal(view.called('showError').at(-1)[0].code, 'server_error');
  });

  test('hiding the page stops live mode and the camera', async () => {
    const { camera, controller } = setup({ onSleep: (live) => live.pageHidden() });
    await controller.startCamera();
    await controller.toggleLive();
    assert.equal(controller.state.live, null);
    assert.equal(camera.isActive, false);
    assert.equal(camera.grabbed, 1);
  });

  test('examples are listed at start and one click classifies one like any upload', async () => {
    const { view, api, controller } = setup();
    await controller.start();
    assert.deepEqual(view.called('renderExamples')[0][0].map((example) => example.label), ['cat', 'dog']);
    await controller.tryExample(1);
    assert.deepEqual(api.requests.slice(0, 2).map(([kind, name]) => [kind, name]),
      [['fetchExample', '/api/examples/dog.jpg'], ['predict', 'example-dog.jpg']]);
    assert.equal(controller.state.history[0].name, 'example-dog.jpg');
    await controller.tryExample(7); // not an example: nothing happens
    assert.equal(predictions(api).length, 1);
  });

  test('batch results are explained when shown: the first at once, the others when picked', async () => {
    const { api, controller } = setup();
    await controller.handleFiles([png('a.png'), png('b.png')]);
    await settle();
    const explained = () => api.requests.filter(([kind]) => kind === 'explain').map(([, name]) => name);
    assert.deepEqual(explained(), ['a.png']);
    const second = controller.state.batchCards[1];
    controller.selectEntry(second.id);
    await settle();
    assert.deepEqual(explained(), ['a.png', 'b.png']);
    controller.selectEntry(second.id); // already explained: no new request
    await settle();
    assert.deepEqual(explained(), ['a.png', 'b.png']);
  });
});
