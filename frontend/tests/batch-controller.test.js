// batch-controller.js: a batch split into requests within the server's limits, its retries and
// its cards, driven through the controller with the fakes of fakes.js.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { ApiError } from '../js/api.js';
import { MB, batchRequests, echoBatch, photo, png, predictions, settle, setup } from './fakes.js';

describe('batch', () => {
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
