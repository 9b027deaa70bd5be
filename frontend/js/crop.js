// The crop square's geometry, in the picture's own pixels: where it starts (the centre square the
// server would take), how dragging, resizing and the keyboard move it, and where it lands on a
// picture shown with `object-fit: contain`. Pure functions: the view turns pointer and key events
// into these calls, and the tests check them without a browser.

/** The smallest square a user can choose: a tenth of the short side, at least 8 pixels. */
export function minimumSide(width, height) {
  const short = Math.min(width, height);
  return Math.min(short, Math.max(8, Math.round(short / 10)));
}

/** The largest centred square, as the server crops it (ml/inference/preprocessing.py `center_square`). */
export function centreSquare(width, height) {
  const side = Math.min(width, height);
  return { x: Math.floor((width - side) / 2), y: Math.floor((height - side) / 2), side };
}

/** `square` made valid for a width × height picture: whole pixels, inside it, not too small. */
export function clampSquare(square, width, height) {
  const side = Math.round(Math.min(Math.min(width, height), Math.max(minimumSide(width, height), square.side)));
  return {
    x: Math.round(Math.min(width - side, Math.max(0, square.x))),
    y: Math.round(Math.min(height - side, Math.max(0, square.y))),
    side,
  };
}

export function sameSquare(a, b) {
  return Boolean(a && b) && a.x === b.x && a.y === b.y && a.side === b.side;
}

/** Dragged by (dx, dy) picture pixels; it stops at the picture's edges. */
export function moveSquare(square, dx, dy, width, height) {
  return clampSquare({ ...square, x: square.x + dx, y: square.y + dy }, width, height);
}

/**
 * Resized from its bottom-right corner by a drag of (dx, dy): the top-left corner stays put and
 * the side follows the larger movement, so a diagonal drag feels natural and the shape stays square.
 */
export function resizeFromCorner(square, dx, dy, width, height) {
  const grow = Math.abs(dx) >= Math.abs(dy) ? dx : dy;
  const fits = Math.min(width - square.x, height - square.y);
  const side = Math.min(fits, Math.max(minimumSide(width, height), square.side + grow));
  return clampSquare({ ...square, side }, width, height);
}

/** Resized by `delta` pixels about its centre (the keyboard's + and −). */
export function resizeAboutCentre(square, delta, width, height) {
  const side = Math.min(Math.min(width, height), Math.max(minimumSide(width, height), square.side + delta));
  const centreX = square.x + square.side / 2;
  const centreY = square.y + square.side / 2;
  return clampSquare({ x: centreX - side / 2, y: centreY - side / 2, side }, width, height);
}

const MOVES = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };

/**
 * The square after a key press, or null for keys that do not move it. Arrows move it by 2 % of
 * the picture's short side (Shift: 10 %); + and − resize it by as much; Home returns to the centre.
 */
export function squareAfterKey(square, key, { shiftKey = false } = {}, width, height) {
  const step = Math.max(1, Math.round(Math.min(width, height) * (shiftKey ? 0.1 : 0.02)));
  if (key in MOVES) {
    const [dx, dy] = MOVES[key];
    return moveSquare(square, dx * step, dy * step, width, height);
  }
  if (key === '+' || key === '=') return resizeAboutCentre(square, 2 * step, width, height);
  if (key === '-' || key === '_') return resizeAboutCentre(square, -2 * step, width, height);
  if (key === 'Home') return centreSquare(width, height);
  return null;
}

/**
 * Where a width × height picture is drawn inside a box of boxWidth × boxHeight with
 * `object-fit: contain`: its top-left corner in the box and its scale (box pixels per picture pixel).
 */
export function containedRect(width, height, boxWidth, boxHeight) {
  const scale = Math.min(boxWidth / width, boxHeight / height);
  return { left: (boxWidth - width * scale) / 2, top: (boxHeight - height * scale) / 2, scale };
}

/** The square in box pixels (for CSS), given containedRect's answer. */
export function squareInBox(square, rect) {
  return {
    left: rect.left + square.x * rect.scale,
    top: rect.top + square.y * rect.scale,
    size: square.side * rect.scale,
  };
}

/** Words for screen readers: where the square is, in percent of the picture. */
export function describeSquare(square, width, height) {
  const percent = (value, total) => Math.round((100 * value) / total);
  const centre = sameSquare(square, centreSquare(width, height));
  return centre
    ? 'Crop: the centre square of the picture.'
    : `Crop: ${percent(square.side, Math.min(width, height))} % of the short side, ` +
      `${percent(square.x, width)} % from the left, ${percent(square.y, height)} % from the top.`;
}

/**
 * The size to send a crop at: the crop's own pixels, shrunk to at most `maxSide` (the network
 * sees 32 × 32, so more only costs upload time).
 */
export function outputSide(square, maxSide = 512) {
  return Math.max(1, Math.min(square.side, maxSide));
}
