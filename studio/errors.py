"""The error policy: what the user did wrong versus what broke inside the app."""

from __future__ import annotations


def encodable(text: str) -> str:
    """The text with lone surrogates (which JSON can carry but UTF-8 cannot) replaced by U+FFFD, one for one.

    Tokenizers refuse such a string outright; replacing each one keeps every other character's offset.
    """
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return "".join("\ufffd" if "\ud800" <= c <= "\udfff" else c for c in text)


class UserError(Exception):
    """A problem with the user's input or setup; the message says what to do."""

    def __init__(self, message: str):
        # Messages quote what the user sent, which JSON can fill with lone surrogates; the answer that
        # carries the message must be valid UTF-8.
        super().__init__(encodable(message))


class DataError(UserError):
    """An uploaded file cannot be used as it is (a table, a zip of pictures, tagged sentences, recordings);
    the message says why and what to do."""


class ModelUnavailableError(UserError):
    """The model is neither cached nor reachable."""
