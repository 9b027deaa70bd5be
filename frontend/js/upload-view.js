// Adding pictures: the drop zone (click, Enter/Space, drag and drop), the file and phone-camera
// pickers, pasting, the example pictures, and the line that states the server's limits.

import { byId, thumbnail } from './dom.js';
import { imageFilesFromItems } from './files.js';
import { formatBytes } from './format.js';

export function createUploadView(doc) {
  const win = doc.defaultView;
  const el = {
    dropzone: byId(doc, 'dropzone'),
    fileInput: byId(doc, 'file-input'),
    captureInput: byId(doc, 'capture-input'),
    chooseButton: byId(doc, 'choose-button'),
    captureButton: byId(doc, 'capture-button'),
    limits: byId(doc, 'limits'),
    examples: byId(doc, 'examples'),
    examplesList: byId(doc, 'examples-list'),
  };

  function setDragOver(active) {
    el.dropzone.classList.toggle('is-dragover', active);
  }

  return {
    /** The server's limits (/api/model's `limits`); none known, no line. */
    setLimits(limits) {
      el.limits.textContent = limits
        ? `Images up to ${formatBytes(limits.max_upload_bytes)} each · up to ${limits.max_batch_files} at once.`
        : '';
    },

    /** One button per example picture (its thumbnail and class); none hides the row. */
    renderExamples(examples) {
      el.examplesList.replaceChildren(
        ...examples.map((example, index) => {
          const li = doc.createElement('li');
          const button = doc.createElement('button');
          button.type = 'button';
          button.className = 'example';
          button.dataset.testid = 'example';
          button.dataset.index = String(index);
          button.title = example.source ? `${example.label}: ${example.source}` : example.label;
          const image = thumbnail(doc, example.url);
          image.classList.add('is-pixelated');
          const label = doc.createElement('span');
          label.textContent = example.label;
          button.append(image, label);
          li.append(button);
          return li;
        }),
      );
      el.examples.hidden = examples.length === 0;
    },

    /** An example clicked (or chosen with Enter/Space): ``handler(index)``. */
    bindExamples(handler) {
      el.examplesList.addEventListener('click', (event) => {
        const button = event.target.closest('[data-index]');
        if (button) handler(Number(button.dataset.index));
      });
    },

    /**
     * Pictures from the file picker, the phone-camera input and the drop zone reach
     * ``handler(files)``; ``isBusy()`` says whether to refuse a drop.
     */
    bindFiles(handler, isBusy) {
      const openPicker = (input) => {
        if (!isBusy()) input.click();
      };
      for (const input of [el.fileInput, el.captureInput]) {
        input.addEventListener('change', () => {
          const files = Array.from(input.files ?? []);
          input.value = ''; // so choosing the same file again still fires "change"
          handler(files);
        });
      }
      el.chooseButton.addEventListener('click', () => openPicker(el.fileInput));
      el.captureButton.addEventListener('click', () => openPicker(el.captureInput));
      el.dropzone.addEventListener('click', () => openPicker(el.fileInput));
      el.dropzone.addEventListener('keydown', (event) => {
        if (event.key === 'Enter' || event.key === ' ' || event.key === 'Spacebar') {
          event.preventDefault(); // Space would otherwise scroll the page
          openPicker(el.fileInput);
        }
      });
      const carriesFiles = (event) => Array.from(event.dataTransfer?.types ?? []).includes('Files');
      for (const type of ['dragenter', 'dragover']) {
        el.dropzone.addEventListener(type, (event) => {
          if (!carriesFiles(event)) return;
          event.preventDefault();
          event.dataTransfer.dropEffect = isBusy() ? 'none' : 'copy';
          setDragOver(true);
        });
      }
      el.dropzone.addEventListener('dragleave', (event) => {
        // dragleave also fires when moving onto a child element; ignore those.
        if (event.relatedTarget && el.dropzone.contains(event.relatedTarget)) return;
        setDragOver(false);
      });
      el.dropzone.addEventListener('drop', (event) => {
        event.preventDefault();
        setDragOver(false);
        handler(Array.from(event.dataTransfer?.files ?? []));
      });
      // A file dropped just outside the zone would otherwise replace the whole page.
      for (const type of ['dragover', 'drop']) {
        win.addEventListener(type, (event) => {
          if (carriesFiles(event) && !el.dropzone.contains(event.target)) event.preventDefault();
        });
      }
    },

    /** Pasted pictures reach ``handler(files)``; any other paste behaves as usual. */
    bindPaste(handler) {
      doc.addEventListener('paste', (event) => {
        const data = event.clipboardData;
        let files = imageFilesFromItems(data?.items);
        if (files.length === 0) {
          files = Array.from(data?.files ?? []).filter((file) => String(file.type).startsWith('image/'));
        }
        if (files.length === 0) return; // not an image: leave normal paste behaviour alone
        event.preventDefault();
        handler(files);
      });
    },
  };
}
