// The crop square's geometry: start, drag, resize, keyboard, and its place on a contained picture.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import {
  centreSquare,
  clampSquare,
  containedRect,
  describeSquare,
  minimumSide,
  moveSquare,
  outputSide,
  resizeAboutCentre,
  resizeFromCorner,
  sameSquare,
  squareAfterKey,
  squareInBox,
} from '../js/crop.js';

describe('centreSquare', () => {
  test('is the largest centred square, floored as the server crops it', () => {
    assert.deepEqual(centreSquare(640, 480), { x: 80, y: 0, side: 480 });
    assert.deepEqual(centreSquare(375, 500), { x: 0, y: 62, side: 375 });
    assert.deepEqual(centreSquare(101, 100), { x: 0, y: 0, side: 100 });
    assert.deepEqual(centreSquare(32, 32), { x: 0, y: 0, side: 32 });
  });
});

describe('clampSquare', () => {
  test('keeps the square inside the picture, whole pixels', () => {
    assert.deepEqual(clampSquare({ x: -20, y: 500.4, side: 100.6 }, 640, 480), { x: 0, y: 379, side: 101 });
  });

  test('never larger than the short side nor smaller than the minimum', () => {
    assert.deepEqual(clampSquare({ x: 0, y: 0, side: 9999 }, 640, 480), { x: 0, y: 0, side: 480 });
    assert.equal(clampSquare({ x: 0, y: 0, side: 1 }, 640, 480).side, minimumSide(640, 480));
  });

  test('the minimum is a tenth of the short side, at least 8 pixels, at most the picture', () => {
    assert.equal(minimumSide(640, 480), 48);
    assert.equal(minimumSide(32, 32), 8);
    assert.equal(minimumSide(5, 40), 5);
  });
});

describe('moving and resizing', () => {
  const start = { x: 100, y: 100, side: 200 };

  test('a drag moves the square and stops at the edges', () => {
    assert.deepEqual(moveSquare(start, 30, -40, 640, 480), { x: 130, y: 60, side: 200 });
    assert.deepEqual(moveSquare(start, 10_000, 10_000, 640, 480), { x: 440, y: 280, side: 200 });
    assert.deepEqual(moveSquare(start, -10_000, 0, 640, 480), { x: 0, y: 100, side: 200 });
  });

  test('the corner handle keeps the top-left corner and follows the larger movement', () => {
    assert.deepEqual(resizeFromCorner(start, 50, 10, 640, 480), { x: 100, y: 100, side: 250 });
    assert.deepEqual(resizeFromCorner(start, 10, -120, 640, 480), { x: 100, y: 100, side: 80 });
  });

  test('the corner handle cannot push the square out of the picture', () => {
    assert.deepEqual(resizeFromCorner(start, 1000, 1000, 640, 480), { x: 100, y: 100, side: 380 });
    assert.equal(resizeFromCorner(start, -1000, 0, 640, 480).side, minimumSide(640, 480));
  });

  test('resizing about the centre keeps the centre where it fits', () => {
    assert.deepEqual(resizeAboutCentre(start, -100, 640, 480), { x: 150, y: 150, side: 100 });
    assert.deepEqual(resizeAboutCentre({ x: 0, y: 0, side: 100 }, 100, 640, 480), { x: 0, y: 0, side: 200 });
  });

  test('sameSquare compares all three numbers', () => {
    assert.ok(sameSquare(start, { ...start }));
    assert.ok(!sameSquare(start, { ...start, side: 201 }));
    assert.ok(!sameSquare(start, null));
  });
});

describe('keyboard', () => {
  const square = { x: 100, y: 100, side: 200 };

  test('arrows move by 2 % of the short side, 10 % with Shift', () => {
    assert.deepEqual(squareAfterKey(square, 'ArrowRight', {}, 640, 480), { x: 110, y: 100, side: 200 });
    assert.deepEqual(squareAfterKey(square, 'ArrowUp', { shiftKey: true }, 640, 480), { x: 100, y: 52, side: 200 });
  });

  test('+ and − resize about the centre; Home goes back to the centre square', () => {
    assert.deepEqual(squareAfterKey(square, '+', {}, 640, 480), { x: 90, y: 90, side: 220 });
    assert.deepEqual(squareAfterKey(square, '-', {}, 640, 480), { x: 110, y: 110, side: 180 });
    assert.deepEqual(squareAfterKey(square, 'Home', {}, 640, 480), centreSquare(640, 480));
  });

  test('other keys are not the crop’s business', () => {
    assert.equal(squareAfterKey(square, 'Tab', {}, 640, 480), null);
    assert.equal(squareAfterKey(square, 'a', {}, 640, 480), null);
  });

  test('a step is at least one pixel on a tiny picture', () => {
    assert.deepEqual(squareAfterKey({ x: 0, y: 0, side: 16 }, 'ArrowRight', {}, 32, 32), { x: 1, y: 0, side: 16 });
  });
});

describe('on screen', () => {
  test('a wide picture in a square box is letterboxed top and bottom', () => {
    assert.deepEqual(containedRect(640, 480, 320, 320), { left: 0, top: 40, scale: 0.5 });
    assert.deepEqual(containedRect(480, 640, 320, 320), { left: 40, top: 0, scale: 0.5 });
  });

  test('the square lands where the picture is drawn', () => {
    const rect = containedRect(640, 480, 320, 320);
    assert.deepEqual(squareInBox(centreSquare(640, 480), rect), { left: 40, top: 40, size: 240 });
  });

  test('a tiny picture is scaled up', () => {
    assert.deepEqual(squareInBox({ x: 16, y: 0, side: 16 }, containedRect(32, 32, 256, 256)),
      { left: 128, top: 0, size: 128 });
  });
});

describe('describeSquare and outputSide', () => {
  test('says where the crop is in words', () => {
    assert.equal(describeSquare(centreSquare(640, 480), 640, 480), 'Crop: the centre square of the picture.');
    assert.equal(describeSquare({ x: 0, y: 240, side: 240 }, 640, 480),
      'Crop: 50 % of the short side, 0 % from the left, 50 % from the top.');
  });

  test('sends the crop at its own size, at most 512 pixels', () => {
    assert.equal(outputSide({ x: 0, y: 0, side: 2000 }), 512);
    assert.equal(outputSide({ x: 0, y: 0, side: 40 }), 40);
  });
});
