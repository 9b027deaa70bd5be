import { describe, test } from 'node:test';
import assert from 'node:assert/strict';

import { describeHeatmap, overlayColour } from '../js/heatmap.js';

describe('occlusion overlay', () => {
  test('red where covering lowered the class, blue where it helped, clear where nothing changed', () => {
    assert.deepEqual(overlayColour(0.5, 0.5), [220, 38, 38, 200]);
    assert.deepEqual(overlayColour(-0.25, 0.5), [37, 99, 235, 100]);
    assert.deepEqual(overlayColour(0, 0.5)[3], 0);
    assert.deepEqual(overlayColour(0.3, 0), [0, 0, 0, 0]);
    assert.deepEqual(overlayColour(Number.NaN, 1), [0, 0, 0, 0]);
  });

  test('the text alternative names where the decisive parts are', () => {
    const heatmap = Array.from({ length: 6 }, (_, r) => Array.from({ length: 6 }, (_, c) => (r < 2 && c < 2 ? 0.4 : 0)));
    assert.match(describeHeatmap(heatmap, 'cat'), /top left/);
    assert.match(describeHeatmap(heatmap, 'cat'), /“cat”/);
    assert.match(describeHeatmap([[0, 0], [0, 0]], 'dog'), /No single part/);
    assert.equal(describeHeatmap([], 'dog'), '');
  });
});

