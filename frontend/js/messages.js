// The page's words for errors, in one place. The server says what went wrong (its JSON error body:
// {"error": {"code", "message", "details"}}, codes from backend/errors.py's ERRORS) and the page
// shows that message; here the page only adds what it knows itself: a hint per server code (what
// the user can do about it) and the sentences for failures no server answer describes (offline,
// timed out, the camera, a crop the browser could not cut). tests/test_frontend_errors.py checks
// these tables against the server's.

/** What the user can do, per server error code: shown under the server's message. */
export const SERVER_ERROR_HINTS = Object.freeze({
  bad_request: 'Please reload the page and try again.',
  validation_error: 'Please reload the page and try again.',
  invalid_top_k: 'Please reload the page and try again.',
  missing_file: 'Please choose an image and try again.',
  too_many_files: 'Please choose fewer images at a time.',
  empty_file: 'Please choose another image.',
  consent_required: 'Tick the box to send this picture, or leave it unsent.',
  invalid_label: 'Please reload the page and pick one of the classes shown.',
  unauthorized: 'Ask whoever runs this classifier for access.',
  cross_site_request: 'Please open the classifier’s own page directly and try again.',
  not_found: 'Please reload the page.',
  feedback_not_found: 'It is no longer stored: there is nothing left to withdraw.',
  method_not_allowed: 'Please reload the page.',
  request_timeout: 'Please check your connection and try again.',
  payload_too_large: 'Please choose a smaller image.',
  batch_decode_budget: 'Please classify this picture again on its own.',
  unsupported_media_type: 'Please choose another image.',
  range_not_satisfiable: 'Please reload the page.',
  invalid_image: 'It may be damaged or in a format the server cannot read. Please choose another image.',
  image_too_large: 'Please try a smaller image.',
  image_aspect_ratio: 'Please crop it closer to a square and try again.',
  too_many_requests: 'Please wait a few seconds and try again.',
  internal_error: 'Please try again in a moment.',
  model_not_loaded: 'Please try again in a moment.',
  server_busy: 'Please try again in a few seconds.',
  feedback_storage_full: 'Thank you all the same: no more pictures are being kept for now.',
});

/** The page's own codes: failures the page notices itself, with no server message to show. */
export const PAGE_ERROR_MESSAGES = Object.freeze({
  network_error: 'Could not reach the server. Check your connection and try again.',
  timeout: 'The server took too long to respond. Please try again.',
  aborted: 'The request was cancelled.',
  invalid_response: 'The server sent an unexpected response. Please try again.',
  // The server refused a batch request for its total size (each file fitted on its own).
  batch_too_large:
    'Together, these images are more than the server accepts in one upload. Please choose fewer images at a time.',
  batch_failed: 'None of the images could be classified. See the details for each file below.',
  camera_permission_denied:
    'Camera permission was denied. Allow camera access in your browser’s site settings, or choose an image instead.',
  camera_not_found: 'No camera was found. Connect a camera, or choose an image instead.',
  camera_busy: 'The camera is busy or could not be started. Close other apps that use it and try again.',
  camera_not_ready: 'The camera is still starting. Please try again in a moment.',
  camera_error: 'The camera could not be started. Please try again or choose an image instead.',
  crop_failed: 'That part of the picture could not be cut out in this browser. Please try another picture.',
  example_unavailable: 'That example could not be loaded. Please try another one or choose an image.',
});

export const UNKNOWN_ERROR_MESSAGE = 'Something went wrong. Please try again.';

// The code an HTTP status stands for when the answer is not the API's JSON (a proxy's HTML page):
// the server's own choice for a status it raises without a code (backend/errors.py's
// CODE_FOR_STATUS), and a gateway's time-out, which only something in between sends.
const CODE_FOR_STATUS = Object.freeze({
  400: 'bad_request',
  401: 'unauthorized',
  404: 'not_found',
  405: 'method_not_allowed',
  408: 'request_timeout',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  416: 'range_not_satisfiable',
  429: 'too_many_requests',
  503: 'server_busy',
  504: 'timeout',
});

/** The error code for an HTTP status, as the server picks it for an answer without its own code. */
export function codeForStatus(status) {
  if (Object.hasOwn(CODE_FOR_STATUS, status)) return CODE_FOR_STATUS[status];
  return status >= 500 ? 'internal_error' : 'bad_request';
}

/**
 * Any error (an ApiError, a file check's result, a CameraError, an Error, a code) as what the
 * alert shows: `title`, the server's (or the check's) message, or the page's sentence for its own
 * codes; `detail`, the hint for a server code, or the error's own text where it adds to the page's
 * sentence.
 * @returns {{code: string, title: string, detail: string}}
 */
export function describeError(error) {
  const code = typeof error === 'string' ? error : (typeof error?.code === 'string' && error.code) || 'unknown';
  const message = typeof error?.message === 'string' ? error.message.trim() : '';
  if (Object.hasOwn(SERVER_ERROR_HINTS, code)) {
    const hint = SERVER_ERROR_HINTS[code];
    return message ? { code, title: message, detail: hint } : { code, title: hint, detail: '' };
  }
  const title = Object.hasOwn(PAGE_ERROR_MESSAGES, code) ? PAGE_ERROR_MESSAGES[code] : UNKNOWN_ERROR_MESSAGE;
  return { code, title, detail: message && message !== title ? message : '' };
}

/** One line for a batch card: the error's own message (which file, which limit), else its title. */
export function shortErrorMessage(error) {
  const message = typeof error?.message === 'string' ? error.message.trim() : '';
  return message || describeError(error).title;
}
