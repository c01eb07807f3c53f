"""Rounds: QR-label field rounds for property-management teams."""
import os

from flask import Flask

from . import config
from .extensions import babel, csrf, db, htmx, login, migrate


def create_app(overrides: dict | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=True)
    app.config.from_object(config.Defaults)
    app.config.from_prefixed_env()
    app.config.setdefault("SQLALCHEMY_DATABASE_URI", config.database_url(app.instance_path))
    app.config.setdefault("PHOTO_DIR", os.path.join(app.instance_path, "photos"))
    if overrides:
        app.config.update(overrides)
    if app.config["PRODUCTION"]:
        config.production(app.config)
    if app.config["PROXY_FIX_X_FOR"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = int(app.config["PROXY_FIX_X_FOR"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    os.makedirs(app.instance_path, exist_ok=True)

    db.init_app(app)
    migrate.init_app(app, db, directory=os.path.join(app.root_path, "..", "migrations"))
    csrf.init_app(app)
    login.init_app(app)
    htmx.init_app(app)

    from .i18n import install_template_gettext, select_locale

    babel.init_app(app, locale_selector=select_locale)
    install_template_gettext(app)

    from . import web

    web.init_app(app)

    from .auth import bp as auth_bp
    from .field import bp as field_bp
    from .reports import bp as reports_bp
    from .review import bp as review_bp
    from .setup import bp as setup_bp
    from .defects import bp as defects_bp
    from .offline import bp as offline_bp

    app.register_blueprint(auth_bp)
    app.register_blueprint(field_bp)
    app.register_blueprint(review_bp)
    app.register_blueprint(reports_bp)
    app.register_blueprint(setup_bp)
    app.register_blueprint(defects_bp)
    app.register_blueprint(offline_bp)

    from . import backup, cli

    cli.init_app(app)
    backup.init_app(app)
    from . import sweep

    sweep.init_app(app)
    return app
