// The webcam's controls: which buttons show (Start; Snap, Live, Switch, Stop while on; Retake on a
// frozen frame), the Live/Snapshot badge, keyboard focus after a step, and the page events that
// must stop the camera (hidden, closed) or change its choices (cameras plugged in or out).

import { byId } from './dom.js';

export function createCameraView(doc) {
  const win = doc.defaultView;
  const el = {
    stage: byId(doc, 'camera-stage'),
    badge: byId(doc, 'camera-badge'),
    start: byId(doc, 'camera-start'),
    snap: byId(doc, 'camera-snap'),
    retake: byId(doc, 'camera-retake'),
    switchCamera: byId(doc, 'camera-switch'),
    stop: byId(doc, 'camera-stop'),
    live: byId(doc, 'camera-live'),
  };

  return {
    setCameraState({ active, frozen = false, canSwitch = false, starting = false, live = false }) {
      el.stage.hidden = !active;
      el.start.hidden = active;
      el.start.disabled = starting;
      el.start.textContent = starting ? 'Starting camera…' : 'Start camera';
      el.snap.hidden = !active || frozen;
      el.retake.hidden = !active || !frozen;
      el.switchCamera.hidden = !active || !canSwitch;
      el.stop.hidden = !active;
      el.live.hidden = !active || frozen;
      el.live.setAttribute('aria-pressed', String(live));
      el.stage.classList.toggle('is-frozen', frozen);
      el.stage.classList.toggle('is-live', live);
      el.badge.textContent = live ? 'Live' : 'Snapshot';
    },

    /** Keep keyboard focus on the camera control that replaced the one just used. */
    focusCameraControl(which) {
      const control = { start: el.start, snap: el.snap, retake: el.retake }[which];
      if (control && !control.hidden) control.focus({ preventScroll: true });
    },

    bindCamera({ start, snap, retake, switchCamera, stop, live, pageHidden, camerasChanged }) {
      el.start.addEventListener('click', start);
      el.live.addEventListener('click', live);
      el.snap.addEventListener('click', snap);
      el.retake.addEventListener('click', retake);
      el.switchCamera.addEventListener('click', switchCamera);
      el.stop.addEventListener('click', stop);
      doc.addEventListener('visibilitychange', () => {
        if (doc.hidden) pageHidden();
      });
      win.addEventListener('pagehide', pageHidden);
      win.navigator.mediaDevices?.addEventListener?.('devicechange', camerasChanged);
    },
  };
}
