// camera-controller.js: the webcam and live mode, driven through the controller with the fakes of
// fakes.js.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { ApiError } from '../js/api.js';
import { predictions, setup } from './fakes.js';

describe('webcam', () => {
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
    // each frame, then the last once more as a still answer
    assert.deepEqual(view.called('showPrediction').map(([entry]) => entry.id), ['live-1', 'live-2', 'live-3', 'live-3']);
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
});
