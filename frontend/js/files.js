// The files a user hands the page: which ones are worth sending, what to call the nameless ones,
// and how a batch is split into requests within the server's limits (/api/model's `limits`). Pure
// functions, tested in Node.

import { formatBytes } from './format.js';

// What a file costs a batch request beyond its own bytes: its multipart boundary and headers
// (field name, file name, type), a few hundred bytes; rounded up so a long file name still fits.
export const BATCH_PART_OVERHEAD_BYTES = 1024;

// Browsers report an empty type for files they cannot identify, and some platforms label images
// as octet-stream. The server sniffs the bytes, so these must still be uploaded, not rejected here.
const AMBIGUOUS_MIME_TYPES = new Set(['', 'application/octet-stream', 'binary/octet-stream']);

/** True unless the browser-reported MIME type says clearly "not an image". */
export function isAcceptableImageType(type) {
  const mime = String(type ?? '').trim().toLowerCase();
  return AMBIGUOUS_MIME_TYPES.has(mime) || mime.startsWith('image/');
}

/**
 * Checks run before any upload, so an obviously bad file gets an instant, specific message and no
 * request. `maxBytes` is the server's published limit; without it (not known yet) the server
 * alone judges the size.
 * @param {{name?: string, size?: number, type?: string}} file
 * @returns {{ok: true} | {ok: false, code: string, message: string}}
 */
export function checkFile(file, { maxBytes = null } = {}) {
  if (!file || typeof file !== 'object') {
    return { ok: false, code: 'missing_file', message: 'No file was selected.' };
  }
  const name = displayName(file.name);
  const size = Number(file.size);
  if (!isAcceptableImageType(file.type)) {
    return { ok: false, code: 'unsupported_media_type', message: `${name} is not an image (${file.type}).` };
  }
  if (size === 0) {
    return { ok: false, code: 'empty_file', message: `${name} is empty (0 bytes).` };
  }
  if (maxBytes > 0 && size > maxBytes) {
    return {
      ok: false,
      code: 'payload_too_large',
      message: `${name} is ${formatBytes(size)}; the limit is ${formatBytes(maxBytes)}.`,
    };
  }
  return { ok: true };
}

function displayName(name) {
  const text = typeof name === 'string' ? name.trim() : '';
  return text ? `“${text}”` : 'This file';
}

/**
 * Split a batch into consecutive groups, one request each, in their original order: each group
 * holds at most `maxFiles` items and at most `maxBytes` counting every item's size plus
 * `partOverhead` (its multipart part around it). Groups are filled greedily, so a batch that fits
 * one request is sent as one. An item too big to share a request with any other goes alone (each
 * file's own limit is checked before, by checkFile). A limit not known is no limit here: the
 * server then refuses what it must.
 * @template T
 * @param {T[]} items
 * @param {{maxFiles?: number, maxBytes?: number, partOverhead?: number, sizeOf?: (item: T) => number}} [limits]
 * @returns {T[][]}
 */
export function splitBatch(items, {
  maxFiles = Infinity,
  maxBytes = Infinity,
  partOverhead = BATCH_PART_OVERHEAD_BYTES,
  sizeOf = (item) => item?.size,
} = {}) {
  const groups = [];
  let group = [];
  let bytes = 0;
  for (const item of Array.from(items ?? [])) {
    const size = Number(sizeOf(item));
    const cost = (size > 0 ? size : 0) + partOverhead;
    if (group.length > 0 && (group.length >= maxFiles || bytes + cost > maxBytes)) {
      groups.push(group);
      group = [];
      bytes = 0;
    }
    group.push(item);
    bytes += cost;
  }
  if (group.length > 0) groups.push(group);
  return groups;
}

/**
 * Pick image files out of clipboard / drag items ({kind, type, getAsFile}).
 * Non-image items (text, HTML) are ignored so normal pasting is unaffected.
 */
export function imageFilesFromItems(items) {
  const files = [];
  for (const item of Array.from(items ?? [])) {
    if (item?.kind !== 'file' || !String(item.type ?? '').startsWith('image/')) continue;
    const file = typeof item.getAsFile === 'function' ? item.getAsFile() : null;
    if (file) files.push(file);
  }
  return files;
}

/** File extension for a MIME type, used to name pasted images, camera snaps and crops. */
export function extensionForType(type) {
  const map = { 'image/jpeg': 'jpg', 'image/png': 'png', 'image/webp': 'webp', 'image/gif': 'gif', 'image/bmp': 'bmp' };
  return map[String(type ?? '').toLowerCase()] ?? 'png';
}

/** A file's own name, or `fallback` for the nameless (camera snaps, some pasted pictures). */
export function fileName(file, fallback) {
  return typeof file?.name === 'string' && file.name ? file.name : fallback;
}
