// feedback-view.js: what "Wrong answer?" shows for each state, and which of its inputs reach the
// controller, on just enough of a DOM for it (no dependencies).

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { createFeedbackView } from '../js/feedback-view.js';

class FakeElement {
  constructor(doc, tagName, id = null) {
    Object.assign(this, { doc, tagName, id, children: [], parent: null, dataset: {}, attributes: {}, listeners: {} });
    Object.assign(this, { hidden: false, disabled: false, checked: false, textContent: '', type: '', className: '' });
  }
  setAttribute(name, value) {
    this.attributes[name] = String(value);
  }
  getAttribute(name) {
    return this.attributes[name] ?? null;
  }
  replaceChildren(...nodes) {
    this.children = nodes;
    for (const node of nodes) node.parent = this;
  }
  querySelectorAll(selector) {
    assert.equal(selector, '[data-label]');
    return this.children.filter((child) => child.dataset.label !== undefined);
  }
  closest(selector) {
    assert.equal(selector, '[data-label]');
    for (let node = this; node; node = node.parent) if (node.dataset.label !== undefined) return node;
    return null;
  }
  addEventListener(type, listener) {
    (this.listeners[type] ??= []).push(listener);
  }
  dispatch(type, fields = {}) {
    const event = { type, target: this, defaultPrevented: false, preventDefault() { this.defaultPrevented = true; }, ...fields };
    for (let node = this; node; node = node.parent) for (const listener of node.listeners[type] ?? []) listener(event);
    return event;
  }
  focus() {
    this.doc.activeElement = this;
  }
}

const IDS = ['feedback', 'feedback-open', 'feedback-form', 'feedback-choices', 'feedback-consent', 'feedback-send',
  'feedback-cancel', 'feedback-missing', 'feedback-message', 'feedback-undo', 'privacy-feedback'];

function fakeDocument() {
  const doc = { activeElement: null, createElement: (tag) => new FakeElement(doc, tag) };
  const elements = Object.fromEntries(IDS.map((id) => [id, new FakeElement(doc, 'div', id)]));
  elements['feedback-form'].replaceChildren(elements['feedback-choices'], elements['feedback-consent']);
  doc.getElementById = (id) => elements[id] ?? null;
  return { doc, el: elements };
}

function rendered(state) {
  const { doc, el } = fakeDocument();
  const view = createFeedbackView(doc);
  view.setClasses(['cat', 'dog', 'bird']);
  view.renderFeedback(state);
  const choices = el['feedback-choices'].children;
  return { doc, el, view, choices, pressed: choices.filter((b) => b.getAttribute('aria-pressed') === 'true').map((b) => b.dataset.label) };
}

const CLOSED = { open: false, label: null, consent: false, busy: false, sent: null, note: '' };

describe('feedback view', () => {
  test('the classes as toggle buttons, then "None of these"', () => {
    const { choices } = rendered(CLOSED);
    assert.deepEqual(choices.map((b) => [b.tagName, b.type, b.dataset.label, b.textContent, b.getAttribute('aria-pressed')]), [
      ['button', 'button', 'cat', 'cat', 'false'],
      ['button', 'button', 'dog', 'dog', 'false'],
      ['button', 'button', 'bird', 'bird', 'false'],
      ['button', 'button', 'none', 'None of these', 'false'],
    ]);
  });

  test('nothing at all where there is no answer to correct', () => {
    const { el } = rendered(null);
    assert.equal(el.feedback.hidden, true);
  });

  test('closed: only "Wrong answer?", collapsed', () => {
    const { el } = rendered(CLOSED);
    assert.equal(el.feedback.hidden, false);
    assert.equal(el['feedback-open'].hidden, false);
    assert.equal(el['feedback-open'].getAttribute('aria-expanded'), 'false');
    assert.equal(el['feedback-form'].hidden, true);
    assert.equal(el['feedback-undo'].hidden, true);
  });

  test('open: unticked, and Send disabled with what it waits for', () => {
    const { el, pressed } = rendered({ ...CLOSED, open: true });
    assert.equal(el['feedback-open'].hidden, true);
    assert.equal(el['feedback-open'].getAttribute('aria-expanded'), 'true');
    assert.equal(el['feedback-form'].hidden, false);
    assert.equal(el['feedback-consent'].checked, false);
    assert.deepEqual(pressed, []);
    assert.equal(el['feedback-send'].disabled, true);
    assert.equal(el['feedback-missing'].textContent, 'Pick the right class above.');

    const picked = rendered({ ...CLOSED, open: true, label: 'dog' });
    assert.deepEqual(picked.pressed, ['dog']);
    assert.equal(picked.el['feedback-send'].disabled, true);
    assert.equal(picked.el['feedback-missing'].textContent, 'Tick the box to send the picture.');

    const ready = rendered({ ...CLOSED, open: true, label: 'dog', consent: true });
    assert.equal(ready.el['feedback-consent'].checked, true);
    assert.equal(ready.el['feedback-send'].disabled, false);
    assert.equal(ready.el['feedback-missing'].textContent, '');
  });

  test('sending: nothing can be changed or sent twice', () => {
    const { el, choices } = rendered({ ...CLOSED, open: true, label: 'dog', consent: true, busy: true });
    assert.ok(choices.every((b) => b.disabled));
    assert.equal(el['feedback-consent'].disabled, true);
    assert.equal(el['feedback-send'].disabled, true);
    assert.equal(el['feedback-send'].textContent, 'Sending…');
  });

  test('sent: the confirmation and its Undo, in place of the form', () => {
    const { el } = rendered({ ...CLOSED, sent: 'none' });
    assert.equal(el['feedback-form'].hidden, true);
    assert.equal(el['feedback-open'].hidden, true);
    assert.equal(el['feedback-message'].textContent, 'Thank you: sent as “none of these”.');
    assert.equal(el['feedback-undo'].hidden, false);
    const withdrawn = rendered({ ...CLOSED, note: 'Withdrawn.' });
    assert.equal(withdrawn.el['feedback-message'].textContent, 'Withdrawn.');
    assert.equal(withdrawn.el['feedback-undo'].hidden, true);
    assert.equal(withdrawn.el['feedback-open'].hidden, false);
  });

  test('the footer says what is kept only where feedback is kept', () => {
    const { el, view } = rendered(CLOSED);
    view.setAvailable(false);
    assert.equal(el['privacy-feedback'].hidden, true);
    view.setAvailable(true);
    assert.equal(el['privacy-feedback'].hidden, false);
  });

  test('its inputs reach the controller; focus goes where the flow goes on', () => {
    const { doc, el, view, choices } = rendered({ ...CLOSED, open: true });
    const calls = [];
    const record = (name) => (...args) => calls.push([name, ...args.filter((arg) => typeof arg !== 'object')]);
    view.bindFeedback({ open: record('open'), pick: record('pick'), consent: record('consent'), send: record('send'),
      cancel: record('cancel'), undo: record('undo') });
    el['feedback-open'].dispatch('click');
    choices[1].dispatch('click');
    el['feedback-consent'].checked = true;
    el['feedback-consent'].dispatch('change');
    const submit = el['feedback-form'].dispatch('submit');
    choices[0].dispatch('keydown', { key: 'Escape' });
    choices[0].dispatch('keydown', { key: 'Enter' });
    el['feedback-undo'].dispatch('click');
    assert.deepEqual(calls, [['open'], ['pick', 'dog'], ['consent', true], ['send'], ['cancel'], ['undo']]);
    assert.equal(submit.defaultPrevented, true, 'sent by the controller, not by the browser');
    view.focusFeedback('choices');
    assert.equal(doc.activeElement, choices[0]);
    view.focusFeedback('open');
    assert.equal(doc.activeElement, choices[0], 'a hidden button takes no focus');
  });

});
