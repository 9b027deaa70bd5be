// Entry point: creates the API client, the view, the camera and the controller, and binds the
// view's inputs to the controller's handlers. State and flows live in controller.js, the DOM in
// view.js.

import { createApiClient } from './api.js';
import { Camera } from './camera.js';
import { createController } from './controller.js';
import { createView } from './view.js';

const view = createView(document);
const controller = createController({
  api: createApiClient(),
  view,
  camera: new Camera(document.getElementById('camera-video')),
});

view.bindFiles(controller.handleFiles, { isBusy: controller.isBusy });
view.bindPaste(controller.handlePaste);
view.bindTopK(controller.setTopK);
view.bindSelectEntry(controller.selectEntry);
view.bindClearHistory(controller.clearHistory);
view.bindDismissError();
view.bindExplanationToggle();
view.bindCrop(controller.cropChanged, controller.resetCrop);
view.bindExplainClass(controller.explainClass);
view.bindExamples(controller.tryExample);
view.bindCamera({
  start: controller.startCamera,
  snap: controller.snap,
  retake: controller.retake,
  switchCamera: controller.switchCamera,
  stop: controller.stopCamera,
  live: controller.toggleLive,
  pageHidden: controller.pageHidden,
  camerasChanged: controller.camerasChanged,
});
controller.start();
