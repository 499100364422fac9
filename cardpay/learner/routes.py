"""Routes of the learner blueprint."""

from flask import Blueprint

bp = Blueprint("learner", __name__)
