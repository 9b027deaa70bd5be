// "About the model": /api/model's figures (accuracy, calibration, version, input size, weights
// hash, classes, training parameters) and its report figures, or a notice when they could not be
// loaded.

import { byId } from './dom.js';
import { FINE_TUNING_PARAMS, calibrationSummary, fineTuningSummary, formatPercent } from './format.js';

export function createAboutView(doc) {
  const el = {
    notice: byId(doc, 'model-notice'),
    accuracy: byId(doc, 'model-accuracy'),
    calibration: byId(doc, 'model-calibration'),
    version: byId(doc, 'model-version'),
    sha: byId(doc, 'model-sha'),
    input: byId(doc, 'model-input'),
    architecture: byId(doc, 'model-architecture'),
    classes: byId(doc, 'model-classes'),
    params: byId(doc, 'model-params'),
    paramsWrap: byId(doc, 'model-params-wrap'),
    confusion: byId(doc, 'report-confusion'),
    reliability: byId(doc, 'report-reliability'),
    grid: byId(doc, 'report-grid'),
  };

  for (const image of [el.confusion, el.reliability, el.grid]) {
    image.addEventListener('error', () => {
      const fallback = image.closest('figure')?.querySelector('.report-missing');
      image.hidden = true;
      if (fallback) fallback.hidden = false;
    });
  }

  function setReport(image, url) {
    const figure = image.closest('figure');
    if (typeof url !== 'string' || !url) {
      if (figure) figure.hidden = true;
      return;
    }
    if (figure) figure.hidden = false;
    image.hidden = false;
    image.src = url;
  }

  /** The training parameters, with a fine-tuning step shown as that step, not as the recipe's. */
  function paramRows(model) {
    const fineTuning = fineTuningSummary(model?.fine_tuning);
    const params = (model?.params && typeof model.params === 'object' ? Object.entries(model.params) : [])
      .filter(([key]) => !(fineTuning && FINE_TUNING_PARAMS.includes(key)));
    if (fineTuning) params.push(['fine-tuned with', fineTuning]);
    return params;
  }

  return {
    showModelNotice(text) {
      el.notice.textContent = text;
      el.notice.hidden = !text;
    },

    renderModelInfo(model) {
      el.calibration.textContent = calibrationSummary(model?.calibration);
      el.accuracy.textContent = Number.isFinite(model?.accuracy) ? formatPercent(model.accuracy) : '—';
      el.version.textContent = model?.version ? String(model.version) : '—';
      const sha = typeof model?.sha256 === 'string' ? model.sha256 : '';
      el.sha.textContent = sha ? `${sha.slice(0, 12)}…` : '—';
      el.sha.title = sha;
      el.input.textContent = Array.isArray(model?.input_size) ? model.input_size.join(' × ') : '—';
      const architecture = typeof model?.architecture === 'string' ? model.architecture : '';
      el.architecture.textContent = architecture ? `Network: ${architecture}.` : '';
      el.architecture.hidden = !architecture;

      const classes = Array.isArray(model?.classes) ? model.classes : [];
      el.classes.replaceChildren(
        ...classes.map((name) => {
          const li = doc.createElement('li');
          li.textContent = name;
          return li;
        }),
      );

      const params = paramRows(model);
      el.params.replaceChildren(
        ...params.flatMap(([key, value]) => {
          const dt = doc.createElement('dt');
          dt.textContent = key;
          const dd = doc.createElement('dd');
          dd.textContent = value !== null && typeof value === 'object' ? JSON.stringify(value) : String(value);
          return [dt, dd];
        }),
      );
      el.paramsWrap.hidden = params.length === 0;

      const reports = model?.reports ?? {};
      setReport(el.confusion, reports.confusion_matrix);
      setReport(el.grid, reports.grid_search);
      setReport(el.reliability, reports.reliability);
    },
  };
}
