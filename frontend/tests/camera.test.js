import { describe, test } from 'node:test';
import assert from 'node:assert/strict';

import { Camera, CameraError, cameraErrorCode } from '../js/camera.js';

class FakeTrack {
  constructor(deviceId) {
    this.deviceId = deviceId;
    this.stopped = false;
  }
  stop() {
    this.stopped = true;
  }
  getSettings() {
    return { deviceId: this.deviceId };
  }
}

class FakeStream {
  constructor(deviceId) {
    this.track = new FakeTrack(deviceId);
  }
  getTracks() {
    return [this.track];
  }
  getVideoTracks() {
    return [this.track];
  }
}

function fakeVideo() {
  return {
    srcObject: null,
    videoWidth: 640,
    videoHeight: 480,
    paused: true,
    muted: false,
    playsInline: false,
    async play() {
      this.paused = false;
    },
    pause() {
      this.paused = true;
    },
  };
}

function fakeMediaDevices({ devices = ['cam-a'], fail = null } = {}) {
  const requests = [];
  return {
    requests,
    async getUserMedia(constraints) {
      requests.push(constraints);
      if (fail) throw Object.assign(new Error(fail), { name: fail });
      const wanted = constraints.video.deviceId?.exact ?? devices[0];
      return new FakeStream(wanted);
    },
    async enumerateDevices() {
      return [
        { kind: 'audioinput', deviceId: 'mic' },
        ...devices.map((deviceId) => ({ kind: 'videoinput', deviceId, label: deviceId })),
      ];
    },
  };
}

function fakeCanvas() {
  const drawn = [];
  return {
    drawn,
    width: 0,
    height: 0,
    getContext: () => ({ drawImage: (...args) => drawn.push(args) }),
    toBlob(callback, type) {
      callback(new Blob([new Uint8Array(8)], { type }));
    },
  };
}

describe('Camera', () => {
  test('start attaches a stream, prefers the rear camera and no audio', async () => {
    const video = fakeVideo();
    const mediaDevices = fakeMediaDevices();
    const camera = new Camera(video, { mediaDevices });
    await camera.start();
    assert.equal(camera.isActive, true);
    assert.equal(video.srcObject, camera.stream);
    assert.equal(video.muted, true);
    assert.equal(video.playsInline, true);
    assert.equal(video.paused, false);
    assert.equal(mediaDevices.requests[0].audio, false);
    assert.deepEqual(mediaDevices.requests[0].video.facingMode, { ideal: 'environment' });
    assert.equal(camera.deviceId, 'cam-a');
  });

  test('stop stops every track and detaches the video', async () => {
    const video = fakeVideo();
    const camera = new Camera(video, { mediaDevices: fakeMediaDevices() });
    const stream = await camera.start();
    camera.stop();
    assert.equal(stream.track.stopped, true);
    assert.equal(camera.isActive, false);
    assert.equal(video.srcObject, null);
  });

  test('lists only video inputs; switching cycles and stops the old track', async () => {
    const camera = new Camera(fakeVideo(), { mediaDevices: fakeMediaDevices({ devices: ['front', 'back'] }) });
    assert.equal((await camera.listVideoInputs()).length, 2);
    const first = await camera.start();
    assert.equal(camera.deviceId, 'front');
    assert.equal(await camera.switchCamera(), 'back');
    assert.equal(first.track.stopped, true);
    assert.equal(await camera.switchCamera(), 'front');
  });

  test('switching with a single camera keeps the current one', async () => {
    const camera = new Camera(fakeVideo(), { mediaDevices: fakeMediaDevices() });
    const stream = await camera.start();
    assert.equal(await camera.switchCamera(), 'cam-a');
    assert.equal(stream.track.stopped, false);
  });

  test('snap draws the frame, freezes the preview and resolves to a Blob; retake resumes', async () => {
    const video = fakeVideo();
    const canvas = fakeCanvas();
    const camera = new Camera(video, { mediaDevices: fakeMediaDevices(), createCanvas: () => canvas });
    await camera.start();
    const blob = await camera.snap({ type: 'image/jpeg' });
    assert.ok(blob instanceof Blob);
    assert.equal(blob.type, 'image/jpeg');
    assert.equal(canvas.width, 640);
    assert.equal(canvas.height, 480);
    assert.equal(canvas.drawn.length, 1);
    assert.equal(video.paused, true);
    assert.equal(camera.frozen, true);
    assert.equal(camera.isActive, true, 'the stream stays live after a snap');
    await camera.retake();
    assert.equal(video.paused, false);
    assert.equal(camera.frozen, false);
  });

  test('grab sends the centre square of the frame, shrunk, and leaves the preview live', async () => {
    const video = fakeVideo();
    const canvas = fakeCanvas();
    const camera = new Camera(video, { mediaDevices: fakeMediaDevices(), createCanvas: () => canvas });
    await assert.rejects(camera.grab(), { code: 'camera_not_ready' });
    await camera.start();
    const blob = await camera.grab();
    assert.equal(blob.type, 'image/jpeg');
    assert.deepEqual([canvas.width, canvas.height], [256, 256]);
    // source: the 480 × 480 square in the middle of the 640 × 480 frame
    assert.deepEqual(canvas.drawn[0].slice(1), [80, 0, 480, 480, 0, 0, 256, 256]);
    assert.equal(video.paused, false);
    assert.equal(camera.frozen, false);
  });

  test('snap before start or before the first frame is camera_not_ready', async () => {
    const video = fakeVideo();
    const camera = new Camera(video, { mediaDevices: fakeMediaDevices(), createCanvas: fakeCanvas });
    await assert.rejects(camera.snap(), { code: 'camera_not_ready' });
    await camera.start();
    video.videoWidth = 0;
    await assert.rejects(camera.snap(), { code: 'camera_not_ready' });
  });

  test('permission, missing and busy cameras map to clear codes', async () => {
    const cases = {
      NotAllowedError: 'camera_permission_denied',
      NotFoundError: 'camera_not_found',
      NotReadableError: 'camera_busy',
    };
    for (const [name, code] of Object.entries(cases)) {
      const camera = new Camera(fakeVideo(), { mediaDevices: fakeMediaDevices({ fail: name }) });
      await assert.rejects(camera.start(), (error) => {
        assert.ok(error instanceof CameraError);
        assert.equal(error.code, code);
        return true;
      });
      assert.equal(camera.isActive, false);
    }
  });

  test('no mediaDevices (insecure origin / old browser) is camera_not_found', async () => {
    const camera = new Camera(fakeVideo(), { mediaDevices: null });
    camera.mediaDevices = null; // Node 21+ has navigator; make the case explicit
    assert.equal(camera.isSupported, false);
    await assert.rejects(camera.start(), { code: 'camera_not_found' });
    assert.deepEqual(await camera.listVideoInputs(), []);
  });

  test('stop() while permission is pending releases the late stream', async () => {
    let grant;
    const stream = new FakeStream('cam-a');
    const mediaDevices = {
      getUserMedia: () => new Promise((resolve) => {
        grant = () => resolve(stream);
      }),
      enumerateDevices: async () => [],
    };
    const camera = new Camera(fakeVideo(), { mediaDevices });
    const pending = camera.start();
    camera.stop();
    grant();
    await assert.rejects(pending, { code: 'camera_cancelled' });
    assert.equal(stream.track.stopped, true);
    assert.equal(camera.isActive, false);
  });
});

describe('camera error codes', () => {
  test('maps DOMException names', () => {
    assert.equal(cameraErrorCode({ name: 'NotAllowedError' }), 'camera_permission_denied');
    assert.equal(cameraErrorCode({ name: 'SecurityError' }), 'camera_permission_denied');
    assert.equal(cameraErrorCode({ name: 'NotFoundError' }), 'camera_not_found');
    assert.equal(cameraErrorCode({ name: 'OverconstrainedError' }), 'camera_not_found');
    assert.equal(cameraErrorCode({ name: 'NotReadableError' }), 'camera_busy');
    assert.equal(cameraErrorCode('TrackStartError'), 'camera_busy');
    assert.equal(cameraErrorCode({ name: 'SomethingElse' }), 'camera_error');
    assert.equal(cameraErrorCode(undefined), 'camera_error');
  });
});
