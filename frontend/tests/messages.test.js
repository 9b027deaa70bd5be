import { describe, test } from 'node:test';
import assert from 'node:assert/strict';

import {
  PAGE_ERROR_MESSAGES,
  SERVER_ERROR_HINTS,
  UNKNOWN_ERROR_MESSAGE,
  codeForStatus,
  describeError,
  shortErrorMessage,
} from '../js/messages.js';

// That every server code has a hint, and the page no code the server lacks, is checked against
// backend/errors.py itself: tests/test_frontend_errors.py.

describe('describeError', () => {
  test('a server error shows the server\'s message, with the page\'s hint for its code', () => {
    const described = describeError({ code: 'invalid_image', message: 'The image is corrupt or truncated.' });
    assert.deepEqual(described, {
      code: 'invalid_image',
      title: 'The image is corrupt or truncated.',
      detail: SERVER_ERROR_HINTS.invalid_image,
    });
  });

  test('a server code without a message shows the hint alone', () => {
    assert.deepEqual(describeError({ code: 'server_busy', message: '  ' }), {
      code: 'server_busy', title: SERVER_ERROR_HINTS.server_busy, detail: '',
    });
    assert.equal(describeError('too_many_requests').title, SERVER_ERROR_HINTS.too_many_requests);
  });

  test('a file check\'s result reads like the server\'s (its message, the hint)', () => {
    const check = { ok: false, code: 'payload_too_large', message: '“huge.jpg” is 50 MB; the limit is 10 MB.' };
    assert.deepEqual(describeError(check), {
      code: 'payload_too_large', title: check.message, detail: SERVER_ERROR_HINTS.payload_too_large,
    });
  });

  test('the page\'s own codes show its sentence, and the error\'s text where it adds to it', () => {
    const offline = describeError({ code: 'network_error', message: 'No response was received from the server.' });
    assert.match(offline.title, /reach the server/);
    assert.equal(offline.detail, 'No response was received from the server.');
    assert.equal(describeError({ code: 'camera_permission_denied' }).title, PAGE_ERROR_MESSAGES.camera_permission_denied);
    assert.equal(describeError({ code: 'camera_permission_denied' }).detail, '');
    const same = describeError({ code: 'aborted', message: PAGE_ERROR_MESSAGES.aborted });
    assert.equal(same.detail, '', 'no detail that repeats the title');
  });

  test('a batch refused for its total size does not blame a single file', () => {
    const { title } = describeError({ code: 'batch_too_large', message: '' });
    assert.match(title, /together/i);
    assert.doesNotMatch(title, /that file/i);
  });

  test('unknown codes, Errors and nothing get the generic sentence', () => {
    assert.deepEqual(describeError({ code: 'weird', message: 'Teapot' }), {
      code: 'weird', title: UNKNOWN_ERROR_MESSAGE, detail: 'Teapot',
    });
    const plain = describeError(new TypeError('Failed to fetch'));
    assert.equal(plain.code, 'unknown');
    assert.equal(plain.detail, 'Failed to fetch');
    assert.deepEqual(describeError(null), { code: 'unknown', title: UNKNOWN_ERROR_MESSAGE, detail: '' });
    for (const code of ['toString', '__proto__', 'constructor']) {
      assert.equal(describeError({ code }).title, UNKNOWN_ERROR_MESSAGE, 'no prototype leakage');
    }
  });
});

describe('shortErrorMessage (a batch card)', () => {
  test('the error\'s own message, else its title', () => {
    assert.equal(shortErrorMessage({ code: 'invalid_image', message: 'cannot identify image file' }), 'cannot identify image file');
    assert.equal(shortErrorMessage({ code: 'batch_failed', message: '' }), PAGE_ERROR_MESSAGES.batch_failed);
  });
});

describe('codeForStatus (an error answer that is not the API\'s JSON)', () => {
  test('a gateway\'s time-out is the page\'s timeout', () => {
    assert.equal(codeForStatus(504), 'timeout');
  });

  test('other statuses without a code of their own: bad_request below 500, internal_error from 500', () => {
    assert.equal(codeForStatus(418), 'bad_request');
    assert.equal(codeForStatus(500), 'internal_error');
    assert.equal(codeForStatus(502), 'internal_error');
  });
});
