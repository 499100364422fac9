"""Receivers for performance (filled in by its issue)."""


def connect():
    """Connect this module's receivers."""
