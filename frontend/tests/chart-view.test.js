import { describe, test } from 'node:test';
import assert from 'node:assert/strict';

import { clearChart, renderChart } from '../js/chart-view.js';

// Just enough of the DOM for chart-view.js, so the test needs no dependencies.
class FakeNode {
  constructor(tagName, ownerDocument) {
    this.tagName = tagName;
    this.ownerDocument = ownerDocument;
    this.children = [];
    this.attributes = {};
    this.dataset = {};
    this.style = {};
    this.className = '';
    this.ownText = '';
  }
  setAttribute(name, value) {
    this.attributes[name] = String(value);
  }
  getAttribute(name) {
    return this.attributes[name] ?? null;
  }
  append(...nodes) {
    for (const node of nodes) this.children.push(typeof node === 'string' ? new FakeText(node) : node);
  }
  replaceChildren(...nodes) {
    this.children = [];
    this.append(...nodes);
  }
  set textContent(value) {
    this.children = [];
    this.ownText = String(value);
  }
  get textContent() {
    return this.ownText + this.children.map((child) => child.textContent).join('');
  }
  contains(node) {
    return node === this || this.find((child) => child === node).length > 0;
  }
  querySelectorAll(selector) {
    assert.equal(selector, '[data-pick]');
    return this.find((node) => node.dataset.pick !== undefined);
  }
  focus() {
    this.ownerDocument.activeElement = this;
  }
  find(predicate, out = []) {
    for (const child of this.children) {
      if (child instanceof FakeNode) {
        if (predicate(child)) out.push(child);
        child.find(predicate, out);
      }
    }
    return out;
  }
}

class FakeText {
  constructor(text) {
    this.textContent = text;
  }
}

function fakeContainer() {
  const doc = {
    activeElement: null,
    createElement: (tag) => new FakeNode(tag, doc),
    createTextNode: (text) => new FakeText(text),
  };
  return new FakeNode('div', doc);
}

const PREDICTIONS = [
  { label: 'dog', probability: 0.05 },
  { label: 'cat', probability: 0.9123 },
  { label: 'bird', probability: 0.0004 },
  { label: 'ship', probability: 0.0373 },
];

const bars = (container) => container.find((node) => node.dataset.testid === 'bar');

describe('renderChart', () => {
  test('renders exactly k bars sorted by probability, with data attributes', () => {
    const container = fakeContainer();
    renderChart(container, PREDICTIONS, 3);
    const rows = bars(container);
    assert.equal(rows.length, 3);
    assert.deepEqual(rows.map((row) => row.dataset.label), ['cat', 'dog', 'ship']);
    assert.deepEqual(rows.map((row) => row.dataset.probability), ['0.9123', '0.05', '0.0373']);
  });

  test('percentages are visible text, not colour alone', () => {
    const container = fakeContainer();
    renderChart(container, PREDICTIONS, 4);
    const text = bars(container).map((row) => row.textContent);
    assert.match(text[0], /cat/);
    assert.match(text[0], /91\.2%/);
    assert.match(text[0], /top prediction/);
    assert.match(text[3], /bird.*<0\.1%/);
  });

  test('only the top row is highlighted, with a marker and a class', () => {
    const container = fakeContainer();
    renderChart(container, PREDICTIONS, 4);
    const rows = bars(container);
    assert.equal(rows[0].className, 'bar is-top');
    assert.ok(rows[0].find((node) => node.className === 'bar-marker').length === 1);
    for (const row of rows.slice(1)) {
      assert.equal(row.className, 'bar');
      assert.equal(row.find((node) => node.className === 'bar-marker').length, 0);
    }
  });

  test('bar widths follow the probability; the track is hidden from screen readers', () => {
    const container = fakeContainer();
    renderChart(container, PREDICTIONS, 2);
    const fills = container.find((node) => node.className === 'bar-fill');
    assert.deepEqual(fills.map((fill) => fill.style.width), ['91.23%', '5%']);
    const tracks = container.find((node) => node.className === 'bar-track');
    assert.ok(tracks.every((track) => track.getAttribute('aria-hidden') === 'true'));
  });

  test('re-rendering replaces the previous bars; k not known yet (null) shows them all', () => {
    const container = fakeContainer();
    renderChart(container, PREDICTIONS, 4);
    renderChart(container, PREDICTIONS, 1);
    assert.equal(bars(container).length, 1);
    renderChart(container, PREDICTIONS, null);
    assert.equal(bars(container).length, 4);
  });

  test('the list has an accessible name and clearChart empties it', () => {
    const container = fakeContainer();
    renderChart(container, PREDICTIONS, 2);
    assert.equal(container.children[0].getAttribute('aria-label'), 'Top 2 predictions');
    clearChart(container);
    assert.equal(bars(container).length, 0);
  });

  test('pickable: each class name is a button that asks why; the explained one is pressed', () => {
    const container = fakeContainer();
    renderChart(container, PREDICTIONS, 3, { pickable: true, explained: 'dog' });
    const buttons = container.find((node) => node.dataset.pick !== undefined);
    assert.deepEqual(buttons.map((node) => node.tagName), ['button', 'button', 'button']);
    assert.deepEqual(buttons.map((node) => node.dataset.pick), ['cat', 'dog', 'ship']);
    assert.deepEqual(buttons.map((node) => node.getAttribute('aria-pressed')), ['false', 'true', 'false']);
    assert.match(buttons[1].textContent, /dog: show why/);
  });

  test('not pickable: plain text, no buttons', () => {
    const container = fakeContainer();
    renderChart(container, PREDICTIONS, 3);
    assert.equal(container.find((node) => node.dataset.pick !== undefined).length, 0);
    assert.ok(container.find((node) => node.className === 'bar-label').every((node) => node.tagName === 'span'));
  });

  test('re-rendering keeps keyboard focus on the class the user picked', () => {
    const container = fakeContainer();
    renderChart(container, PREDICTIONS, 3, { pickable: true });
    const dog = container.find((node) => node.dataset.pick === 'dog')[0];
    dog.focus();
    renderChart(container, PREDICTIONS, 3, { pickable: true, explained: 'dog' });
    const focused = container.ownerDocument.activeElement;
    assert.notEqual(focused, dog);
    assert.equal(focused.dataset.pick, 'dog');
    assert.equal(focused.getAttribute('aria-pressed'), 'true');
  });
});
