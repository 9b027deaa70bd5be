"""Flask application factory: ``create_app(config)``; settings come from the environment.

Imports happen inside the factory (as in Flask's tutorial): importing ``backend`` in the gunicorn
master (its worker class, backend/waitress_worker.py) then costs nothing, and only workers load
Flask and the model.
"""

from __future__ import annotations


def create_app(config: dict | None = None):
    from flask import Flask

    from backend import api, errors, feedback, limits, observability, openapi, security, uploads, web
    from backend.config import settings
    from backend.model import ModelService

    app = Flask(__name__, static_folder=None)
    # "//" in a path is not redirected (Werkzeug's 308 takes its Location from the Host header).
    app.url_map.merge_slashes = False
    app.config.from_mapping(settings(config))
    app.json.sort_keys = False

    # Loaded once per worker, verified and unpickled here: a missing or altered model stops
    # start-up at once, with a clear message.
    service = ModelService(app.config["MODEL_PATH"], app.config["MODEL_SHA256"])
    if app.config["WARM_UP"] == "background":
        service.warm_up_in_background()  # /api/health answers meanwhile; /api/ready once warm
    else:
        service.warm_up()
    app.extensions["classifier"] = service

    observability.init_app(app, service.model.version, service.model.sha256)
    errors.init_app(app)
    security.init_app(app)
    limits.init_app(app)
    uploads.init_app(app)
    feedback.init_app(app)  # its blueprint, when FEEDBACK is on
    for blueprint in (*api.BLUEPRINTS, openapi.bp, web.bp):
        app.register_blueprint(blueprint)
    app.logger.info("model %s loaded from %s (%d classes)", service.model.version,
                    app.config["MODEL_PATH"], len(service.model.classes))
    return app
