"""Errors a user can act on: one line that says what went wrong and what to do."""


class GeoappError(Exception):
    """An expected failure with a message meant for the person at the keyboard."""
