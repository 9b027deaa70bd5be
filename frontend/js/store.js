// The page's state, in one place: the server's published limits and classes, the chosen k, what is
// shown, the history and the batch cards, the "Wrong answer?" panel, and the object URLs that pin
// their files. No DOM and no network: the controllers change it, the views are told what to show
// from it.

export const HISTORY_LIMIT = 20;

/**
 * Add entries to the front of the history (most recent first). `entries` is in upload order, so a
 * batch keeps its own order at the top of the strip; the oldest beyond `limit` fall off.
 */
export function addToHistory(history, entries, limit = HISTORY_LIMIT) {
  const added = Array.from(entries ?? []);
  const addedIds = new Set(added.map((entry) => entry.id));
  return [...added, ...history.filter((entry) => !addedIds.has(entry.id))].slice(0, limit);
}

/** Object URLs still needed by anything on screen; everything else can be revoked. */
export function urlsInUse(...groups) {
  const urls = new Set();
  for (const group of groups) {
    for (const item of Array.from(group ?? [])) {
      if (item?.url) urls.add(item.url);
    }
  }
  return urls;
}

/**
 * Anything (a <select>'s string, a number, junk) as a whole k within `range` ({min, max}, from
 * /api/model's limits.top_k); junk gives `fallback`.
 */
export function clampTopK(value, { min, max }, fallback) {
  const parsed = typeof value === 'number' ? value : Number.parseInt(String(value ?? ''), 10);
  if (!Number.isFinite(parsed)) return fallback;
  return Math.min(max, Math.max(min, Math.trunc(parsed)));
}

export class Store {
  /** @param {{create(file: Blob): string, revoke(url: string): void}} urls  object URLs (URL.createObjectURL) */
  constructor(urls) {
    this.urls = urls;
    // /api/model's `limits` as the server publishes them; null until it has answered. Until then
    // the page checks nothing the server checks anyway.
    this.limits = null;
    this.classes = []; // the model's classes (/api/model), in its order
    // Whether the server keeps feedback (/api/model's `feedback`; FEEDBACK=off says false). Off
    // until it has said so: the page offers nothing the server may not take.
    this.feedbackEnabled = false;
    this.topK = null; // bars shown; null: all that came back (until the server's default is known)
    this.topKChosenByUser = false;
    this.busy = false;
    this.history = [];
    this.batchCards = [];
    this.current = null; // the entry on screen (its chart, crop and explanation)
    this.previewUrl = null;
    this.live = null; // the live webcam run in progress ({frames, label}), or null
    // The "Wrong answer?" panel of the entry on screen: {entry, open, label, consent, busy, note}.
    // A sent feedback is kept on its entry (entry.feedback: {id, deleteToken, label}), so that the
    // history shows it again with its Undo.
    this.feedback = null;
    // The corrections this browser sent and may still withdraw (sent-feedback.js keeps them across
    // reloads: {id, deleteToken, label, sentAt}, oldest first), whether a withdrawal from the
    // footer's line is running, and what the last one did.
    this.sent = { entries: [], busy: false, note: '' };
    this.canSwitchCamera = false;
    this.examples = [];
    this.nextId = 1;
    this.liveUrls = new Set();
  }

  /** The server's limits, classes and feedback switch (/api/model), and k within them. */
  setModel(model) {
    this.limits = model.limits ?? null;
    this.classes = Array.isArray(model.classes) ? model.classes.filter((name) => typeof name === 'string') : [];
    this.feedbackEnabled = model.feedback === true;
    const range = this.limits?.top_k;
    if (!range) return;
    const wanted = this.topKChosenByUser ? this.topK : range.default;
    this.topK = clampTopK(wanted, range, range.default);
  }

  /** k from the user's selector, within the published range. */
  chooseTopK(value) {
    const range = this.limits?.top_k;
    if (!range) return;
    this.topK = clampTopK(value, range, this.topK);
    this.topKChosenByUser = true;
  }

  /** The model's number of classes, or null until /api/model has answered. */
  get classCount() {
    return this.classes.length || null;
  }

  /** The "Wrong answer?" panel's state for the entry on screen; a fresh, closed one for a new entry. */
  feedbackPanel() {
    const entry = this.current;
    if (this.feedback?.entry !== entry) {
      this.feedback = { entry, open: false, label: null, consent: false, busy: false, note: '' };
    }
    return this.feedback;
  }

  /** How many classes to ask the server for: every class, so that changing k needs no request. */
  get requestedTopK() {
    return this.limits?.top_k?.max ?? null;
  }

  newId() {
    return this.nextId++;
  }

  remember(entries) {
    this.history = addToHistory(this.history, entries);
  }

  clearHistory() {
    this.history = [];
  }

  /** A history entry or batch card that has an answer, by id. */
  findEntry(id) {
    return [...this.history, ...this.batchCards].find((entry) => entry.id === id && !entry.error) ?? null;
  }

  // Every preview and thumbnail is an object URL that pins its file in memory, so URLs are
  // revoked as soon as nothing on screen (preview, history, batch) uses them.

  createObjectUrl(file) {
    const url = this.urls.create(file);
    this.liveUrls.add(url);
    return url;
  }

  releaseUnusedUrls() {
    const keep = urlsInUse(this.history, this.batchCards, [this.current, { url: this.previewUrl }]);
    for (const url of this.liveUrls) {
      if (!keep.has(url)) {
        this.urls.revoke(url);
        this.liveUrls.delete(url);
      }
    }
  }
}
