// The corrections this browser sent, remembered so that they can be withdrawn later (after a
// reload too): for each, only what withdrawing needs and what the list shows, {id, deleteToken,
// label, sentAt}, as one JSON array under one localStorage key. Never a picture or a thumbnail.
// Storage may be missing (blocked, private mode), full, or hold anything (another version of the
// page, a hand edit): every read and write is guarded, and then the list lives in page memory only,
// so the page keeps working, just without persistence. No DOM: the storage object is handed in.

export const STORAGE_KEY = 'cifar10.sentFeedback';

/** One stored item as the page uses it, or null when it is not one (junk is dropped, not shown). */
export function readItem(item) {
  if (!item || typeof item !== 'object') return null;
  const { id, deleteToken, label, sentAt } = item;
  if (typeof id !== 'string' || !id || typeof deleteToken !== 'string' || !deleteToken) return null;
  return {
    id,
    deleteToken,
    label: typeof label === 'string' ? label : '',
    sentAt: typeof sentAt === 'string' ? sentAt : '',
  };
}

/** The stored text as a list of items (oldest first, one per id); anything unreadable gives []. */
export function parseSent(text) {
  let data;
  try {
    data = JSON.parse(text ?? '[]');
  } catch {
    return [];
  }
  if (!Array.isArray(data)) return [];
  const items = new Map();
  for (const raw of data) {
    const item = readItem(raw);
    if (item) items.set(item.id, item);
  }
  return [...items.values()];
}

/**
 * @param {() => ?Storage} getStorage  window.localStorage, asked for lazily: merely reading it
 *   throws where the browser blocks storage. A getter that returns null (or throws) keeps the
 *   list in memory only.
 */
export function createSentFeedback(getStorage = () => null) {
  let memory = [];
  let broken = false; // a write failed: memory, not the storage, holds the truth from now on

  function storage() {
    if (broken) return null;
    try {
      return getStorage() ?? null;
    } catch {
      return null;
    }
  }

  /** The items, from the storage when it can be read (another tab may have changed it). */
  function load() {
    const place = storage();
    if (place) {
      try {
        memory = parseSent(place.getItem(STORAGE_KEY));
      } catch {
        // unreadable now: keep what this page knows
      }
    }
    return memory.map((item) => ({ ...item }));
  }

  /** Keep `items` (in memory at least); false when the storage could not take them. */
  function save(items) {
    memory = items.map(readItem).filter(Boolean);
    const place = storage();
    if (!place) return false;
    try {
      if (memory.length) place.setItem(STORAGE_KEY, JSON.stringify(memory));
      else place.removeItem(STORAGE_KEY);
      return true;
    } catch {
      broken = true; // full (QuotaExceededError) or refused: go on without persistence
      return false;
    }
  }

  return {
    load,
    save,

    /** Remember one sent correction; the items after. */
    add(item) {
      const added = readItem(item);
      if (!added) return load();
      save([...load().filter((kept) => kept.id !== added.id), added]);
      return load();
    },

    /** Forget one (withdrawn, or gone from the server); the items after. */
    remove(id) {
      const items = load();
      if (items.some((item) => item.id === id)) save(items.filter((item) => item.id !== id));
      return load();
    },
  };
}
