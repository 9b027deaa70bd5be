"""The JSON API under /api, one blueprint per concern:

- ``health``: is the process alive, is the model warm (/api/health, /api/ready);
- ``model_info``: what the model is, its limits and report figures (/api/model);
- ``examples``: example pictures to try (/api/examples);
- ``predict``: classify one picture or a batch (/api/predict, /api/predict/batch);
- ``explain``: why this answer, an occlusion map (/api/explain).

``forms`` reads the upload endpoints' requests; ``classifier`` is the served model as the views use
it. The OpenAPI document and its docs page are ``backend.openapi``.
"""

from backend.api import examples, explain, health, model_info, predict

BLUEPRINTS = (health.bp, model_info.bp, examples.bp, predict.bp, explain.bp)
