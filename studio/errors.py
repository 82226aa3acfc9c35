"""The error policy: what the user did wrong versus what broke inside the app."""

from __future__ import annotations


class UserError(Exception):
    """A problem with the user's input or setup; the message says what to do."""


class ModelUnavailableError(UserError):
    """The model is neither cached nor reachable."""
