"""Unbound Flask extensions, bound to an app by the factory."""

from flask_login import LoginManager
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData

# Named constraints so that Alembic can drop them on SQLite and PostgreSQL alike.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

db = SQLAlchemy(metadata=MetaData(naming_convention=NAMING_CONVENTION))
login_manager = LoginManager()
csrf = CSRFProtect()


def init_migrations(app, directory):
    """Bind Flask-Migrate for `flask db` and the tests; imported here because alembic costs a web worker's
    start-up a tenth of a second and a web worker never migrates."""
    from flask_migrate import Migrate

    Migrate(compare_type=True, render_as_batch=True).init_app(app, db, directory=directory)
