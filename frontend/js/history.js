// Pure session-history bookkeeping (no DOM), kept apart from main.js so the
// ordering and cap rules can be unit-tested.

export const HISTORY_LIMIT = 20;

/**
 * Add entries to the front of the history (most recent first). `entries` is in
 * upload order, so a batch keeps its own order at the top of the strip.
 * @returns {{history: object[], evicted: object[]}} the new list and the entries
 *   that fell off the end (their object URLs can then be released).
 */
export function addToHistory(history, entries, limit = HISTORY_LIMIT) {
  const cap = Math.max(1, Math.trunc(limit) || HISTORY_LIMIT);
  const added = Array.from(entries ?? []);
  const addedIds = new Set(added.map((entry) => entry.id));
  const combined = [...added, ...history.filter((entry) => !addedIds.has(entry.id))];
  return { history: combined.slice(0, cap), evicted: combined.slice(cap) };
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
