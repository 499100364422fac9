"""Courses as operators manage them (SPEC §13): the course service, import/export, access destinations.

The admin pages for courses live in cardpay.admin (which may import this package); nothing here
imports cardpay.admin or cardpay.jobs.
"""


def init_app(app):
    """Add the `flask cardpay courses ...` commands."""
    from cardpay.catalogue import commands  # noqa: F401  (commands registers itself)
