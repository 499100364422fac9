"""GET /openapi.json: the OpenAPI document of the JSON API and the callback (filled in by the admin issue)."""

from flask import Blueprint

bp = Blueprint("openapi", __name__)
