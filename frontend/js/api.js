// API client for the Flask JSON API. `fetch` is injected so the request
// building and error parsing can be unit-tested in Node with a fake fetch.

import { extensionForType, fileName } from './files.js';
import { formatBytes } from './format.js';
import { codeForStatus } from './messages.js';

export const DEFAULT_TIMEOUT_MS = 30_000;

/**
 * Error carrying the API's machine-readable code alongside the HTTP status, and the seconds the
 * server asked to wait before trying again (its Retry-After header, on a 429 or 503), or null.
 */
export class ApiError extends Error {
  constructor(code, message, { status = 0, details = null, retryAfter = null, cause } = {}) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'ApiError';
    this.code = code;
    this.status = status;
    this.details = details;
    this.retryAfter = retryAfter;
  }
}

/** A Retry-After header (seconds, or an HTTP date) → seconds from `now`; null when absent or unreadable. */
export function retryAfterSeconds(value, now = Date.now()) {
  const text = String(value ?? '').trim();
  if (!text) return null;
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text);
  const date = /GMT$/i.test(text) ? Date.parse(text) : Number.NaN; // e.g. "Wed, 21 Oct 2015 07:28:00 GMT"
  return Number.isFinite(date) ? Math.max(0, (date - now) / 1000) : null;
}

/**
 * Build an ApiError from a non-2xx Response. Prefers the API's
 * {"error":{"code","message","details"}} body; falls back to the status.
 */
export async function parseErrorResponse(response) {
  const status = response.status;
  let body = null;
  try {
    body = JSON.parse(await response.text());
  } catch {
    body = null; // not JSON (empty body, HTML error page): use the status instead
  }
  const payload = body && typeof body === 'object' ? body.error : null;
  const code = typeof payload?.code === 'string' && payload.code ? payload.code : codeForStatus(status);
  const message =
    typeof payload?.message === 'string' && payload.message
      ? payload.message
      : `Request failed with status ${status}${response.statusText ? ` (${response.statusText})` : ''}.`;
  const details = payload && typeof payload.details === 'object' ? payload.details : null;
  const retryAfter = retryAfterSeconds(response.headers?.get?.('Retry-After'));
  return new ApiError(code, message, { status, details, retryAfter });
}

/**
 * multipart body for POST /api/predict: field `image`, plus `top_k` when given (the page asks for
 * every class, /api/model's limits.top_k.max, so that changing k needs no new request).
 */
export function buildPredictForm(file, topK = null) {
  const form = new FormData();
  form.append('image', file, fileName(file, 'image'));
  if (topK) form.append('top_k', String(topK));
  return form;
}

/** multipart body for POST /api/predict/batch: field `images` repeated per file, `top_k` as above. */
export function buildBatchForm(files, topK = null) {
  const form = new FormData();
  Array.from(files).forEach((file, index) => {
    form.append('images', file, fileName(file, `image-${index + 1}`));
  });
  if (topK) form.append('top_k', String(topK));
  return form;
}

/**
 * multipart body for POST /api/feedback: the picture as it was classified (`image`), the right
 * class (`label`: a class of the model, or `none`), the model's answer (`predicted`, when known)
 * and the sender's consent, which the server requires to be the string `true`.
 */
export function buildFeedbackForm(file, { label, predicted = null, consent }) {
  const form = new FormData();
  form.append('image', file, fileName(file, 'image'));
  form.append('label', label);
  if (predicted) form.append('predicted', predicted);
  form.append('consent', consent === true ? 'true' : 'false');
  return form;
}

/**
 * @param {{fetchImpl?: typeof fetch, baseUrl?: string, timeoutMs?: number}} [options]
 */
export function createApiClient({ fetchImpl, baseUrl = '', timeoutMs = DEFAULT_TIMEOUT_MS } = {}) {
  // Resolve fetch lazily and call it unbound-safe: window.fetch throws
  // "Illegal invocation" when called as a method of another object.
  const doFetch = (...args) => (fetchImpl ?? globalThis.fetch)(...args);

  /** One request with the timeout, cancellation and error envelope handled: the 2xx Response. */
  async function send(path, init = {}) {
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, timeoutMs);
    const outerSignal = init.signal;
    const onOuterAbort = () => controller.abort();
    outerSignal?.addEventListener('abort', onOuterAbort, { once: true });

    let response;
    try {
      response = await doFetch(`${baseUrl}${path}`, {
        ...init,
        signal: controller.signal,
        headers: { Accept: 'application/json', ...(init.headers ?? {}) },
        credentials: 'same-origin',
      });
    } catch (error) {
      if (timedOut) throw new ApiError('timeout', 'The request timed out.', { cause: error });
      if (error?.name === 'AbortError') throw new ApiError('aborted', 'The request was cancelled.', { cause: error });
      // fetch rejects (TypeError) only when no HTTP response arrived at all.
      throw new ApiError('network_error', 'No response was received from the server.', { cause: error });
    } finally {
      clearTimeout(timer);
      outerSignal?.removeEventListener('abort', onOuterAbort);
    }

    if (!response.ok) throw await parseErrorResponse(response);
    return response;
  }

  /** send(), then the JSON body. */
  async function request(path, init = {}) {
    const response = await send(path, init);
    try {
      return await response.json();
    } catch (error) {
      throw new ApiError('invalid_response', 'The server response was not valid JSON.', {
        status: response.status,
        cause: error,
      });
    }
  }

  function requirePredictions(data) {
    if (!data || !Array.isArray(data.predictions)) {
      throw new ApiError('invalid_response', 'The server response did not include predictions.');
    }
    return data;
  }

  return {
    getHealth: (options = {}) => request('/api/health', { signal: options.signal }),

    getModel: (options = {}) => request('/api/model', { signal: options.signal }),

    /** Example pictures ({label, url, ...}), one per class; [] where the server has none. */
    async getExamples(options = {}) {
      const data = await request('/api/examples', { signal: options.signal });
      return Array.isArray(data?.examples) ? data.examples.filter((e) => e && typeof e.url === 'string') : [];
    },

    /** An example picture's bytes, to send like any upload. */
    async fetchExample(example, { signal } = {}) {
      const response = await send(example.url, { signal, headers: { Accept: 'image/*' } });
      const blob = await response.blob();
      const type = blob.type || 'image/jpeg';
      return new File([blob], `example-${example.label}.${extensionForType(type)}`, { type });
    },

    /** Why this answer: {label, probability, heatmap (32x32), input_png, ...} for one image. */
    async explain(file, { label, signal } = {}) {
      const form = new FormData();
      form.append('image', file, fileName(file, 'image'));
      if (label) form.append('label', label);
      const data = await request('/api/explain', { method: 'POST', body: form, signal });
      if (!data || !Array.isArray(data.heatmap) || typeof data.input_png !== 'string') {
        throw new ApiError('invalid_response', 'The server response did not include an explanation.');
      }
      return data;
    },

    /** Classify one image; resolves to {predictions, not_sure, top_k, model_version, elapsed_ms}. */
    async predict(file, { topK = null, signal } = {}) {
      const body = buildPredictForm(file, topK);
      const data = await request('/api/predict', { method: 'POST', body, signal });
      return requirePredictions(data);
    },

    /**
     * Keep a picture with its right class (the user's correction) to improve the model; resolves
     * to {id, delete_token}, the token that lets the sender withdraw it (deleteFeedback).
     */
    async sendFeedback(file, { label, predicted = null, consent, signal } = {}) {
      const body = buildFeedbackForm(file, { label, predicted, consent });
      const data = await request('/api/feedback', { method: 'POST', body, signal });
      if (typeof data?.id !== 'string' || typeof data?.delete_token !== 'string') {
        throw new ApiError('invalid_response', 'The server response did not include the feedback\'s id.');
      }
      return data;
    },

    /** Withdraw a sent feedback (DELETE /api/feedback/<id>, 204) with the token its sending returned. */
    async deleteFeedback(id, deleteToken, { signal } = {}) {
      await send(`/api/feedback/${encodeURIComponent(id)}`, {
        method: 'DELETE',
        headers: { Authorization: `Bearer ${deleteToken}` },
        signal,
      });
    },

    /**
     * Classify several images; resolves to {results:[{filename, predictions}|{filename, error}], ...}.
     * A 413 here is about the request as a whole (a file over its own limit is answered in its
     * result, or refused before by the page): it rejects with `batch_too_large`.
     */
    async predictBatch(files, { topK = null, signal } = {}) {
      let data;
      try {
        data = await request('/api/predict/batch', {
          method: 'POST',
          body: buildBatchForm(files, topK),
          signal,
        });
      } catch (error) {
        if (!(error instanceof ApiError) || error.status !== 413) throw error;
        const sent = Array.from(files);
        const total = sent.reduce((sum, file) => sum + (Number(file?.size) || 0), 0);
        throw new ApiError(
          'batch_too_large',
          `The ${sent.length} images sent together (${formatBytes(total)}) are more than the server accepts in one request.`,
          { status: 413, details: error.details, cause: error },
        );
      }
      if (!data || !Array.isArray(data.results)) {
        throw new ApiError('invalid_response', 'The server response did not include results.');
      }
      return data;
    },
  };
}
