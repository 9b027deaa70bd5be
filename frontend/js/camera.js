// Webcam control: start/stop a getUserMedia stream in a <video>, list and
// switch video inputs, and snap the current frame to a Blob. Browser objects
// are injected (with browser defaults) so the logic can be exercised with fakes.

/** Camera failure with one of the camera_* codes (messages.js has their sentences). */
export class CameraError extends Error {
  constructor(code, message, { cause } = {}) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'CameraError';
    this.code = code;
  }
}

/** Map a getUserMedia / camera failure (DOMException name) to one of the camera_* codes. */
export function cameraErrorCode(error) {
  const name = typeof error === 'string' ? error : error?.name;
  switch (name) {
    case 'NotAllowedError':
    case 'PermissionDeniedError':
    case 'SecurityError':
      return 'camera_permission_denied';
    case 'NotFoundError':
    case 'DevicesNotFoundError':
    case 'OverconstrainedError':
    case 'ConstraintNotSatisfiedError':
    case 'NoMediaDevices':
      return 'camera_not_found';
    case 'NotReadableError':
    case 'TrackStartError':
    case 'AbortError':
      return 'camera_busy';
    case 'NotReadyError':
      return 'camera_not_ready';
    default:
      return 'camera_error';
  }
}

function toCameraError(error) {
  if (error instanceof CameraError) return error;
  const name = error?.name ?? 'Error';
  return new CameraError(cameraErrorCode(name), `${name}: ${error?.message ?? 'camera error'}`, { cause: error });
}

export class Camera {
  /**
   * @param {HTMLVideoElement} video element that shows the live preview
   * @param {{mediaDevices?: MediaDevices, createCanvas?: () => HTMLCanvasElement}} [deps]
   */
  constructor(video, { mediaDevices, createCanvas } = {}) {
    this.video = video;
    this.mediaDevices = mediaDevices ?? globalThis.navigator?.mediaDevices ?? null;
    this.createCanvas = createCanvas ?? (() => video.ownerDocument.createElement('canvas'));
    this.stream = null;
    this.deviceId = null;
    this.frozen = false;
    // Bumped by stop(); lets a start() that was still waiting for permission
    // notice it has been cancelled (e.g. the page was hidden meanwhile).
    this.generation = 0;
  }

  get isActive() {
    return this.stream !== null;
  }

  /** getUserMedia is missing on insecure origins (plain http, not localhost) and old browsers. */
  get isSupported() {
    return typeof this.mediaDevices?.getUserMedia === 'function';
  }

  /** Video inputs; labels are only filled in after permission has been granted. */
  async listVideoInputs() {
    if (typeof this.mediaDevices?.enumerateDevices !== 'function') return [];
    try {
      const devices = await this.mediaDevices.enumerateDevices();
      return devices.filter((device) => device.kind === 'videoinput');
    } catch {
      return [];
    }
  }

  /** Start (or restart on another device) the live preview. */
  async start(deviceId = null) {
    if (!this.isSupported) {
      throw new CameraError('camera_not_found', 'navigator.mediaDevices.getUserMedia is unavailable.');
    }
    // Prefer the rear camera on phones; `ideal` keeps laptops (no facing mode) working.
    const video = deviceId
      ? { deviceId: { exact: deviceId }, width: { ideal: 1280 }, height: { ideal: 720 } }
      : { facingMode: { ideal: 'environment' }, width: { ideal: 1280 }, height: { ideal: 720 } };
    // Release the current device first: many phones cannot open a second
    // camera while one is still streaming (NotReadableError).
    this.stop();
    const ticket = this.generation;
    let stream;
    try {
      stream = await this.mediaDevices.getUserMedia({ video, audio: false });
    } catch (error) {
      throw toCameraError(error);
    }
    if (ticket !== this.generation) {
      for (const track of stream.getTracks()) track.stop();
      throw new CameraError('camera_cancelled', 'The camera was stopped while it was starting.');
    }
    this.stream = stream;
    const [track] = stream.getVideoTracks();
    this.deviceId = track?.getSettings?.().deviceId ?? deviceId ?? null;
    this.frozen = false;

    this.video.muted = true; // autoplay policies require muted inline playback
    this.video.playsInline = true;
    this.video.srcObject = stream;
    try {
      await this.video.play();
    } catch (error) {
      // play() is interrupted (AbortError) when the stream is replaced mid-start;
      // the newer start() owns the element then, so only real failures surface.
      if (error?.name !== 'AbortError') {
        this.stop();
        throw toCameraError(error);
      }
    }
    return stream;
  }

  /** Move to the next video input, wrapping around. Returns the new deviceId. */
  async switchCamera() {
    const inputs = await this.listVideoInputs();
    if (inputs.length < 2) return this.deviceId;
    const currentIndex = inputs.findIndex((device) => device.deviceId === this.deviceId);
    const next = inputs[(currentIndex + 1) % inputs.length];
    const previous = this.deviceId;
    try {
      await this.start(next.deviceId);
    } catch (error) {
      // Fall back to the camera that worked so the user is not left with nothing.
      if (previous) await this.start(previous).catch(() => {});
      throw error;
    }
    return this.deviceId;
  }

  /** Capture the current frame, freeze the preview on it, and resolve to a Blob. */
  async snap({ type = 'image/jpeg', quality = 0.92 } = {}) {
    const { width, height } = this.frameSize();
    const blob = await this.encode([0, 0, width, height], width, height, type, quality);
    this.video.pause(); // frozen frame shows what was sent; retake() resumes
    this.frozen = true;
    return blob;
  }

  /**
   * The centre square of the current frame, shrunk to at most `maxSide` pixels, without freezing
   * the preview: the live mode's frames (the network sees 32 × 32, so a small square is plenty
   * and keeps each upload far under a megabyte).
   */
  async grab({ maxSide = 256, type = 'image/jpeg', quality = 0.9 } = {}) {
    const { width, height } = this.frameSize();
    const square = Math.min(width, height);
    const side = Math.min(square, maxSide);
    return this.encode([(width - square) / 2, (height - square) / 2, square, square], side, side, type, quality);
  }

  /** The current frame's size; camera_not_ready before the camera runs or has a frame. */
  frameSize() {
    if (!this.isActive) throw new CameraError('camera_not_ready', 'The camera is not running.');
    const width = this.video.videoWidth;
    const height = this.video.videoHeight;
    if (!width || !height) throw new CameraError('camera_not_ready', 'No video frame is available yet.');
    return { width, height };
  }

  /** The frame's region [sx, sy, sw, sh] drawn at width × height and encoded as `type`. */
  async encode([sx, sy, sw, sh], width, height, type, quality) {
    const canvas = this.createCanvas();
    canvas.width = width;
    canvas.height = height;
    canvas.getContext('2d').drawImage(this.video, sx, sy, sw, sh, 0, 0, width, height);
    const blob = await new Promise((resolve) => canvas.toBlob(resolve, type, quality));
    if (!blob) throw new CameraError('camera_error', 'The frame could not be encoded.');
    return blob;
  }

  /** Resume the live preview after a snap. */
  async retake() {
    if (!this.isActive) return;
    this.frozen = false;
    try {
      await this.video.play();
    } catch (error) {
      if (error?.name !== 'AbortError') throw toCameraError(error);
    }
  }

  /** Stop every track (turns the camera light off) and detach the stream. */
  stop() {
    this.generation += 1;
    if (this.stream) {
      for (const track of this.stream.getTracks()) track.stop();
    }
    this.stream = null;
    this.frozen = false;
    if (this.video && this.video.srcObject) {
      this.video.pause();
      this.video.srcObject = null;
    }
  }
}
