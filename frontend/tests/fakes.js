// The fakes the controller tests share: one recorder for every view (their method names are
// distinct, so a call's name says which view it was), an API client, a camera and object URLs,
// and the controller made of them with a Store. No DOM, no network.

import { createController } from '../js/controller.js';
import { createSentFeedback } from '../js/sent-feedback.js';
import { Store } from '../js/store.js';

export const MB = 1024 * 1024;
// /api/model as the server publishes it with its default settings (backend/api/model_info.py).
export const MODEL = {
  feedback: true,
  classes: ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'],
  limits: {
    top_k: { min: 1, max: 10, default: 5 },
    max_upload_bytes: 10 * MB,
    max_batch_files: 64,
    max_batch_bytes: 64 * MB,
    live_frames_per_second: 2,
  },
};

export const PREDICTIONS = [
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

function fakeApi({ predict, predictBatch, model, sendFeedback, deleteFeedback } = {}) {
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
    async sendFeedback(file, options) {
      requests.push(['sendFeedback', file.name, options]);
      return sendFeedback ? sendFeedback(file, options) : { id: 'f'.repeat(32), delete_token: 'token-1' };
    },
    async deleteFeedback(id, deleteToken) {
      requests.push(['deleteFeedback', id, deleteToken]);
      if (deleteFeedback) await deleteFeedback(id, deleteToken);
    },
    async getModel() {
      if (model instanceof Error) throw model;
      return model ?? MODEL;
    },
  };
}

/**
 * A localStorage stand-in: `items` holds what was written; `failWrites` makes every write throw as
 * a full storage does (QuotaExceededError), `failReads` every read as a blocked one does.
 */
export function fakeStorage(items = {}, { failWrites = false, failReads = false } = {}) {
  const storage = {
    items: { ...items },
    failWrites,
    failReads,
    getItem(key) {
      if (storage.failReads) throw new Error('SecurityError');
      return Object.hasOwn(storage.items, key) ? storage.items[key] : null;
    },
    setItem(key, value) {
      if (storage.failWrites) throw new Error('QuotaExceededError');
      storage.items[key] = String(value);
    },
    removeItem(key) {
      if (storage.failWrites) throw new Error('QuotaExceededError');
      delete storage.items[key];
    },
  };
  return storage;
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

export const predictions = (api) => api.requests.filter(([kind]) => kind.startsWith('predict'));

export const png = (name = 'cat.png', bytes = 100) => new File([new Uint8Array(bytes)], name, { type: 'image/png' });

/**
 * The controller with fakes. Without `options.model` the store starts with the server's default
 * limits, as after /api/model has answered; with it, the test loads the model's details itself.
 */
export function setup(options = {}) {
  const view = fakeView();
  const api = fakeApi(options);
  const urls = fakeUrls();
  const camera = fakeCamera();
  const store = new Store(urls);
  if (!options.model) store.setModel(MODEL);
  const views = Object.fromEntries(
    ['page', 'upload', 'result', 'crop', 'explain', 'batch', 'history', 'about', 'camera', 'feedback', 'sent'].map(
      (name) => [name, view],
    ),
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
  // What the browser remembers of the corrections sent: options.storage (a fakeStorage, say), or
  // page memory only.
  const sentFeedback = createSentFeedback(() => options.storage ?? null);
  const controller = createController({ api, store, views, camera, now: () => 1700000000000, sleep, sentFeedback });
  return { view, api, urls, camera, store, controller, sleeps, sentFeedback };
}

export const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

// A stand-in for a large picked file: what the page reads of it (name, size, type), no bytes.
export const photo = (name, bytes) => ({ name, size: bytes, type: 'image/png' });
// A batch answer whose top class is the file's own name, so each card shows which answer it got.
export const echoBatch = (files) => ({
  results: files.map((file) => ({ filename: file.name, predictions: [{ label: file.name, probability: 0.9 }] })),
  model_version: 'v1',
});
export const batchRequests = (api) => api.requests.filter(([kind]) => kind === 'predictBatch').map(([, names]) => names);

