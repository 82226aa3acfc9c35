"""The error policy: what the user did wrong versus what broke inside the app."""

from __future__ import annotations

from typing import Any


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
    """A problem with the user's input or setup; the message says what to do.

    The message is a template of the translation table with its fields (studio/i18n.py): `str(error)` is the
    English, `error.in_language(lang)` what a user of that language reads.
    """

    def __init__(self, message: str, /, **fields: Any):
        self.template, self.fields = message, fields
        # Messages quote what the user sent, which JSON can fill with lone surrogates; the answer that
        # carries the message must be valid UTF-8.
        super().__init__(encodable(message.format(**fields) if fields else message))

    def in_language(self, lang: str) -> str:
        from studio.i18n import translate

        return encodable(translate(self.template, lang, **self.fields))


class DataError(UserError):
    """An uploaded file cannot be used as it is (a table, a zip of pictures, tagged sentences, recordings);
    the message says why and what to do."""


class ModelUnavailableError(UserError):
    """The model is neither cached nor reachable."""
