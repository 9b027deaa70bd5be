// Entry point: the API client, the store, one view per part of the page, the camera and the
// browser's memory of the corrections sent, handed to the controller, which binds them together
// and starts the page.

import { createAboutView } from './about-view.js';
import { createApiClient } from './api.js';
import { createBatchView } from './batch-view.js';
import { Camera } from './camera.js';
import { createCameraView } from './camera-view.js';
import { createController } from './controller.js';
import { createCropView } from './crop-view.js';
import { createExplainView } from './explain-view.js';
import { createFeedbackView } from './feedback-view.js';
import { createHistoryView } from './history-view.js';
import { createPageView } from './page-view.js';
import { createResultView } from './result-view.js';
import { createSentFeedback } from './sent-feedback.js';
import { createSentFeedbackView } from './sent-feedback-view.js';
import { Store } from './store.js';
import { createUploadView } from './upload-view.js';

const crop = createCropView(document);
const views = {
  page: createPageView(document),
  upload: createUploadView(document),
  result: createResultView(document, crop),
  crop,
  explain: createExplainView(document, crop),
  batch: createBatchView(document),
  history: createHistoryView(document),
  about: createAboutView(document),
  camera: createCameraView(document),
  feedback: createFeedbackView(document),
  sent: createSentFeedbackView(document),
};
const store = new Store({ create: (file) => URL.createObjectURL(file), revoke: (url) => URL.revokeObjectURL(url) });
const camera = new Camera(document.getElementById('camera-video'));

// What this browser sent, to withdraw it later: in localStorage where the browser allows it.
const sentFeedback = createSentFeedback(() => window.localStorage);

createController({ api: createApiClient(), store, views, camera, sentFeedback }).start();
