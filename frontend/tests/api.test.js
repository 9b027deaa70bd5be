import { describe, test } from 'node:test';
import assert from 'node:assert/strict';

import {
  ApiError,
  buildBatchForm,
  buildPredictForm,
  createApiClient,
  parseErrorResponse,
  retryAfterSeconds,
} from '../js/api.js';

const PREDICTIONS = [
  { label: 'cat', probability: 0.91 },
  { label: 'dog', probability: 0.05 },
];

function jsonResponse(body, status = 200) {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
}

/** Fake fetch that records each call and answers with `respond(url, init)`. */
function fakeFetch(respond) {
  const calls = [];
  const fetchImpl = async (url, init = {}) => {
    calls.push({ url, init });
    return respond(url, init);
  };
  return { calls, fetchImpl };
}

const png = (name = 'cat.png') => new File([new Uint8Array([137, 80, 78, 71])], name, { type: 'image/png' });

describe('form builders', () => {
  test('predict form has one `image` file with its name and top_k', () => {
    const form = buildPredictForm(png('kitty.png'), 10);
    const images = form.getAll('image');
    assert.equal(images.length, 1);
    assert.equal(images[0].name, 'kitty.png');
    assert.equal(images[0].size, 4);
    assert.equal(form.get('top_k'), '10');
  });

  test('predict form names anonymous blobs; no top_k (not known yet) leaves it to the server', () => {
    const form = buildPredictForm(new Blob([new Uint8Array(3)], { type: 'image/jpeg' }), 10);
    assert.equal(form.get('image').name, 'image');
    assert.equal(buildPredictForm(png()).has('top_k'), false);
    assert.equal(buildBatchForm([png()], null).has('top_k'), false);
  });

  test('batch form repeats `images` in upload order', () => {
    const files = [png('a.png'), png('b.png'), new Blob(['x'])];
    const form = buildBatchForm(files, 3);
    const images = form.getAll('images');
    assert.deepEqual(
      images.map((file) => file.name),
      ['a.png', 'b.png', 'image-3'],
    );
    assert.equal(form.get('top_k'), '3');
    assert.equal(form.get('image'), null, 'uses the batch field name only');
  });
});

describe('parseErrorResponse', () => {
  test('reads the API error envelope', async () => {
    const error = await parseErrorResponse(
      jsonResponse(
        { error: { code: 'image_too_large', message: 'Image is 9000x9000', details: { max_pixels: 1e6 } } },
        422,
      ),
    );
    assert.ok(error instanceof ApiError);
    assert.equal(error.code, 'image_too_large');
    assert.equal(error.message, 'Image is 9000x9000');
    assert.equal(error.status, 422);
    assert.deepEqual(error.details, { max_pixels: 1e6 });
  });

  test('falls back to the status for non-JSON bodies (e.g. a proxy page)', async () => {
    const error = await parseErrorResponse(
      new Response('<html>Request Entity Too Large</html>', { status: 413, statusText: 'Payload Too Large' }),
    );
    assert.equal(error.code, 'payload_too_large');
    assert.equal(error.status, 413);
    assert.match(error.message, /413/);
    assert.equal(error.details, null);
  });

  test('keeps the pause the server asks for (Retry-After, seconds or a date)', async () => {
    const limited = await parseErrorResponse(new Response(
      JSON.stringify({ error: { code: 'too_many_requests', message: 'Too many megabytes' } }),
      { status: 429, headers: { 'Content-Type': 'application/json', 'Retry-After': '37' } },
    ));
    assert.equal(limited.code, 'too_many_requests');
    assert.equal(limited.retryAfter, 37);
    assert.equal((await parseErrorResponse(jsonResponse({}, 500))).retryAfter, null);
    const now = Date.parse('2026-01-01T00:00:00Z');
    assert.equal(retryAfterSeconds('Thu, 01 Jan 2026 00:00:12 GMT', now), 12);
    assert.equal(retryAfterSeconds('Wed, 31 Dec 2025 23:59:00 GMT', now), 0);
    assert.equal(retryAfterSeconds('1.5'), 1.5);
    for (const junk of [null, undefined, '', '  ', 'soon', '-3']) assert.equal(retryAfterSeconds(junk), null);
  });

  test('falls back when JSON lacks the envelope or fields', async () => {
    const noEnvelope = await parseErrorResponse(jsonResponse({ detail: 'nope' }, 500));
    assert.equal(noEnvelope.code, 'internal_error');
    const partial = await parseErrorResponse(jsonResponse({ error: { message: 'Only a message' } }, 404));
    assert.equal(partial.code, 'not_found');
    assert.equal(partial.message, 'Only a message');
    const empty = await parseErrorResponse(new Response(null, { status: 502 }));
    assert.equal(empty.code, 'internal_error');
  });
});

describe('createApiClient', () => {
  test('getModel GETs /api/model and returns the JSON', async () => {
    const model = { classes: ['cat'], max_upload_bytes: 1024 };
    const { calls, fetchImpl } = fakeFetch(() => jsonResponse(model));
    const api = createApiClient({ fetchImpl });
    assert.deepEqual(await api.getModel(), model);
    assert.equal(calls.length, 1);
    assert.equal(calls[0].url, '/api/model');
    assert.equal(calls[0].init.method, undefined);
    assert.equal(calls[0].init.headers.Accept, 'application/json');
  });

  test('getExamples lists the examples, dropping malformed entries', async () => {
    const examples = [{ label: 'cat', url: '/api/examples/cat.jpg' }, { label: 'dog' }, null];
    const { calls, fetchImpl } = fakeFetch(() => jsonResponse({ examples }));
    const api = createApiClient({ fetchImpl });
    assert.deepEqual(await api.getExamples(), [examples[0]]);
    assert.equal(calls[0].url, '/api/examples');
  });

  test('fetchExample downloads a picture as a named File; a 404 is an ApiError', async () => {
    const { calls, fetchImpl } = fakeFetch((url) => (url.endsWith('cat.jpg')
      ? new Response(new Uint8Array([255, 216, 255]), { headers: { 'Content-Type': 'image/jpeg' } })
      : jsonResponse({ error: { code: 'not_found', message: 'No such example picture.' } }, 404)));
    const api = createApiClient({ fetchImpl });
    const file = await api.fetchExample({ label: 'cat', url: '/api/examples/cat.jpg' });
    assert.equal(file.name, 'example-cat.jpg');
    assert.equal(file.type, 'image/jpeg');
    assert.equal(file.size, 3);
    assert.equal(calls[0].url, '/api/examples/cat.jpg');
    await assert.rejects(api.fetchExample({ label: 'dog', url: '/api/examples/dog.jpg' }),
      (error) => error instanceof ApiError && error.code === 'not_found' && error.status === 404);
  });

  test('getHealth honours baseUrl', async () => {
    const { calls, fetchImpl } = fakeFetch(() => jsonResponse({ status: 'ok', model_loaded: true }));
    const api = createApiClient({ fetchImpl, baseUrl: 'http://example.test' });
    assert.equal((await api.getHealth()).status, 'ok');
    assert.equal(calls[0].url, 'http://example.test/api/health');
  });

  test('predict POSTs multipart with `image` and the top_k asked for', async () => {
    const { calls, fetchImpl } = fakeFetch(() =>
      jsonResponse({ predictions: PREDICTIONS, top_k: 10, model_version: 'v1', elapsed_ms: 3.2 }),
    );
    const api = createApiClient({ fetchImpl });
    const data = await api.predict(png(), { topK: 10 });
    assert.deepEqual(data.predictions, PREDICTIONS);
    assert.equal(calls[0].url, '/api/predict');
    assert.equal(calls[0].init.method, 'POST');
    const body = calls[0].init.body;
    assert.ok(body instanceof FormData);
    assert.equal(body.get('image').name, 'cat.png');
    assert.equal(body.get('top_k'), '10');
    // The browser must set the multipart boundary itself.
    assert.equal(calls[0].init.headers['Content-Type'], undefined);
  });

  test('predict passes a custom top_k', async () => {
    const { calls, fetchImpl } = fakeFetch(() => jsonResponse({ predictions: PREDICTIONS }));
    await createApiClient({ fetchImpl }).predict(png(), { topK: 3 });
    assert.equal(calls[0].init.body.get('top_k'), '3');
  });

  test('predictBatch POSTs every file as `images`', async () => {
    const results = [
      { filename: 'a.png', predictions: PREDICTIONS },
      { filename: 'b.txt', error: { code: 'unsupported_media_type', message: 'not an image' } },
    ];
    const { calls, fetchImpl } = fakeFetch(() => jsonResponse({ results, top_k: 10 }));
    const data = await createApiClient({ fetchImpl }).predictBatch([png('a.png'), png('b.txt')]);
    assert.deepEqual(data.results, results);
    assert.equal(calls[0].url, '/api/predict/batch');
    assert.equal(calls[0].init.method, 'POST');
    assert.deepEqual(
      calls[0].init.body.getAll('images').map((file) => file.name),
      ['a.png', 'b.txt'],
    );
  });

  test('a batch refused with 413 (even a plain-text one) is batch_too_large, not one file too large', async () => {
    const { fetchImpl } = fakeFetch(() =>
      new Response('Request Entity Too Large', { status: 413, headers: { 'Content-Type': 'text/plain' } }),
    );
    const files = [new File([new Uint8Array(1536)], 'a.png'), new File([new Uint8Array(1536)], 'b.png')];
    await assert.rejects(createApiClient({ fetchImpl }).predictBatch(files), (error) => {
      assert.ok(error instanceof ApiError);
      assert.equal(error.code, 'batch_too_large');
      assert.equal(error.status, 413);
      assert.match(error.message, /2 images sent together \(3 KB\)/);
      return true;
    });
    // one picture's 413 keeps its own code
    await assert.rejects(createApiClient({ fetchImpl }).predict(png()), { code: 'payload_too_large' });
    // other batch failures are left as they are
    const busy = fakeFetch(() => jsonResponse({ error: { code: 'too_many_requests', message: 'slow down' } }, 429));
    await assert.rejects(createApiClient({ fetchImpl: busy.fetchImpl }).predictBatch(files), { code: 'too_many_requests' });
  });

  test('API errors reject with ApiError carrying code, message and status', async () => {
    const { fetchImpl } = fakeFetch(() =>
      jsonResponse({ error: { code: 'invalid_image', message: 'cannot identify image file' } }, 422),
    );
    await assert.rejects(createApiClient({ fetchImpl }).predict(png()), (error) => {
      assert.ok(error instanceof ApiError);
      assert.equal(error.code, 'invalid_image');
      assert.equal(error.message, 'cannot identify image file');
      assert.equal(error.status, 422);
      return true;
    });
  });

  test('fetch rejection becomes network_error', async () => {
    const fetchImpl = async () => {
      throw new TypeError('Failed to fetch');
    };
    await assert.rejects(createApiClient({ fetchImpl }).getModel(), (error) => {
      assert.equal(error.code, 'network_error');
      assert.equal(error.status, 0);
      assert.equal(error.cause.message, 'Failed to fetch');
      return true;
    });
  });

  test('slow responses time out with code timeout', async () => {
    // Never resolves on its own; only the client's abort signal ends it.
    const fetchImpl = (url, init) =>
      new Promise((resolve, reject) => {
        init.signal.addEventListener('abort', () => reject(new DOMException('Aborted', 'AbortError')));
      });
    await assert.rejects(createApiClient({ fetchImpl, timeoutMs: 20 }).getModel(), { code: 'timeout' });
  });

  test('an outer AbortSignal cancels with code aborted', async () => {
    const fetchImpl = (url, init) =>
      new Promise((resolve, reject) => {
        init.signal.addEventListener('abort', () => reject(new DOMException('Aborted', 'AbortError')));
      });
    const controller = new AbortController();
    const pending = createApiClient({ fetchImpl }).predict(png(), { signal: controller.signal });
    controller.abort();
    await assert.rejects(pending, { code: 'aborted' });
  });

  test('success without JSON is invalid_response', async () => {
    const { fetchImpl } = fakeFetch(() => new Response('<html>oops</html>', { status: 200 }));
    await assert.rejects(createApiClient({ fetchImpl }).getModel(), { code: 'invalid_response' });
  });

  test('success JSON without predictions/results is invalid_response', async () => {
    const { fetchImpl } = fakeFetch(() => jsonResponse({ hello: 'world' }));
    const api = createApiClient({ fetchImpl });
    await assert.rejects(api.predict(png()), { code: 'invalid_response' });
    await assert.rejects(api.predictBatch([png()]), { code: 'invalid_response' });
  });

  test('sendFeedback POSTs the picture, the right class, the model\'s answer and the consent', async () => {
    const answer = { id: 'a'.repeat(32), delete_token: 'tok' };
    const { calls, fetchImpl } = fakeFetch(() => jsonResponse(answer, 201));
    const api = createApiClient({ fetchImpl });
    assert.deepEqual(await api.sendFeedback(png('crop.png'), { label: 'dog', predicted: 'cat', consent: true }), answer);
    assert.equal(calls[0].url, '/api/feedback');
    assert.equal(calls[0].init.method, 'POST');
    const body = calls[0].init.body;
    assert.equal(body.get('image').name, 'crop.png');
    assert.deepEqual([body.get('label'), body.get('predicted'), body.get('consent')], ['dog', 'cat', 'true']);
    await api.sendFeedback(png(), { label: 'none', consent: true });
    assert.equal(calls[1].init.body.has('predicted'), false, 'optional: left out when unknown');
    await api.sendFeedback(png(), { label: 'none' });
    assert.equal(calls[2].init.body.get('consent'), 'false', 'consent is only ever the user\'s explicit true');
  });

  test('sendFeedback: a refusal is an ApiError, an answer without id and token invalid_response', async () => {
    const refused = fakeFetch(() =>
      jsonResponse({ error: { code: 'consent_required', message: 'Consent is required.' } }, 400));
    await assert.rejects(createApiClient({ fetchImpl: refused.fetchImpl }).sendFeedback(png(), { label: 'dog' }), {
      code: 'consent_required', status: 400,
    });
    const odd = fakeFetch(() => jsonResponse({ id: 'x' }, 201));
    await assert.rejects(createApiClient({ fetchImpl: odd.fetchImpl }).sendFeedback(png(), { label: 'dog', consent: true }), {
      code: 'invalid_response',
    });
  });

  test('deleteFeedback DELETEs /api/feedback/<id> with the sender\'s token; 204 has no body', async () => {
    const { calls, fetchImpl } = fakeFetch(() => new Response(null, { status: 204 }));
    await createApiClient({ fetchImpl }).deleteFeedback('a'.repeat(32), 'tok-en_1');
    assert.equal(calls[0].url, `/api/feedback/${'a'.repeat(32)}`);
    assert.equal(calls[0].init.method, 'DELETE');
    assert.equal(calls[0].init.headers.Authorization, 'Bearer tok-en_1');
    const gone = fakeFetch(() =>
      jsonResponse({ error: { code: 'feedback_not_found', message: 'No such feedback.' } }, 404));
    await assert.rejects(createApiClient({ fetchImpl: gone.fetchImpl }).deleteFeedback('b', 't'), {
      code: 'feedback_not_found',
    });
  });

  test('uses global fetch when none is injected', async (t) => {
    const original = globalThis.fetch;
    t.after(() => {
      globalThis.fetch = original;
    });
    let seen = null;
    globalThis.fetch = async (url) => {
      seen = url;
      return jsonResponse({ status: 'ok' });
    };
    await createApiClient().getHealth();
    assert.equal(seen, '/api/health');
  });
});
