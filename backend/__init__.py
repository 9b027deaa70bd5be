"""Flask application factory: ``create_app(config)``; settings come from the environment.

Imports happen inside the factory (as in Flask's tutorial): importing ``backend.workers`` in the
gunicorn master then costs nothing, and only workers load Flask and the model.
"""

from __future__ import annotations


def create_app(config: dict | None = None):
    from flask import Flask

    from backend import api, openapi, web
    from backend.config import settings
    from backend.errors import register_error_handlers
    from backend.limits import init_limits
    from backend.model import ModelService
    from backend.observability import init_observability
    from backend.security import init_security
    from backend.uploads import DecodeMemory

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
    app.extensions["decode_memory"] = DecodeMemory(app.config["DECODE_MEMORY_BYTES"],
                                                   app.config["DECODE_WAIT_SECONDS"])

    init_observability(app, service.model.version, service.model.sha256)
    register_error_handlers(app)
    init_security(app)
    app.register_blueprint(api.bp)
    app.register_blueprint(openapi.bp)
    app.register_blueprint(web.bp)
    app.extensions["rate_limiter"] = init_limits(app)  # after the views it wraps are registered
    app.logger.info("model %s loaded from %s (%d classes)", service.model.version,
                    app.config["MODEL_PATH"], len(service.model.classes))
    return app
