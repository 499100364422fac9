"""Who this browser is: the learner it signed in as (by an emailed link), kept in the Flask session."""

from flask import session

SESSION_KEY = "learner_id"


def current_learner_id():
    """Return the id of the learner this browser signed in as, or None."""
    value = session.get(SESSION_KEY)
    return value if isinstance(value, int) else None


def sign_in(learner_id):
    """Sign this browser in as a learner (after an emailed link was opened)."""
    session[SESSION_KEY] = int(learner_id)
    session.permanent = False


def sign_out():
    """Forget the learner this browser signed in as (its payment tokens stay: they are its own)."""
    session.pop(SESSION_KEY, None)
