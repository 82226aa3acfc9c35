"""Words users read, in English and 简体中文: the English is the key, studio/words.py holds the Chinese.

Text the page shows from the start (labels, buttons, tabs, Markdown) is marked with `ui()` and translated in the
browser by Gradio's I18n, from the browser's language. Text a handler sends back (errors, warnings, status lines,
table headers, plot titles) is translated here with `say()`, in the language of the request's Accept-Language
header: a browser's is its language; gradio_client and MCP send none and get English. The API's names and
parameters stay English either way.

Messages with values in them are templates with named fields, `say("Loaded {name} in {seconds:.1f} s.", ...)`: the
translation moves the fields where Chinese wants them. A field that is itself a word of the table (a "text" in
"The {what} is empty") is passed as `word("text")` so that it is translated too; so is a UserError quoted in
another message.
"""

from __future__ import annotations

import functools
import logging
import re
import sys
from contextvars import ContextVar
from typing import Any

from studio.words import CHINESE

log = logging.getLogger(__name__)

ENGLISH = "en"
SIMPLIFIED_CHINESE = "zh-CN"
# The browser languages that get the Chinese page: Simplified Chinese and plain "zh". Traditional Chinese (zh-TW,
# zh-HK, zh-Hant) is another script, which this table does not have.
CHINESE_LOCALES = ("zh-CN", "zh-Hans", "zh-Hans-CN", "zh-SG", "zh")


_speaking: ContextVar[str | None] = ContextVar("speaking", default=None)


class Word(str):
    """A field value that is a word of the table, translated with the message it fills."""


def word(english: str) -> Word:
    return Word(english)


def ui(english: str) -> Any:
    """`english` as the page shows it: a key Gradio's I18n translates in the browser (plain text if it has no
    translation, e.g. a model name from a user's own models.toml)."""
    if english not in CHINESE:
        return english
    from gradio.i18n import I18nData

    return I18nData(english)


def say(english: str, /, **fields: Any) -> str:
    """`english` in the current request's language, its fields filled in."""
    return translate(english, language(), **fields)


def translate(english: str, lang: str, /, **fields: Any) -> str:
    template = CHINESE.get(english, english) if lang == SIMPLIFIED_CHINESE else english
    if not fields:
        return template
    return template.format(**{name: _in_language(value, lang) for name, value in fields.items()})


def _in_language(value: Any, lang: str) -> Any:
    if isinstance(value, Word):
        return translate(value, lang)
    if hasattr(value, "in_language"):  # a UserError quoted in another message
        return value.in_language(lang)
    return value


def language(request: Any = None) -> str:
    """The language of the request being served (Gradio's, when none is given; `speaking`'s in a process that
    serves one user's job): SIMPLIFIED_CHINESE or ENGLISH."""
    if request is None and (spoken := _speaking.get()) is not None:
        return spoken
    if request is None:
        if not _serving_a_page():
            return ENGLISH
        from gradio.context import LocalContext

        request = LocalContext.request.get(None)
    headers = getattr(request, "headers", None)
    accepted = headers.get("accept-language", "") if headers is not None else ""
    return language_of(accepted)


def speaking(lang: str) -> None:
    """Say everything in `lang` from here on in this context: a job's own process, started for one user, has no
    request to read the language from."""
    _speaking.set(lang if lang in {ENGLISH, SIMPLIFIED_CHINESE} else ENGLISH)


def speak_each_requests_language(demo: Any) -> None:
    """Let what Gradio does before a handler runs (decoding an upload, fetching a URL given as a file) speak the
    request's language too: Gradio sets its request context only around the handler itself."""
    process_api = demo.process_api

    @functools.wraps(process_api)
    async def in_its_language(*args: Any, request: Any = None, **kwargs: Any) -> Any:
        first = request[0] if isinstance(request, list) and request else request
        lang = language(first) if first is not None else None
        token = _speaking.set(lang)
        try:
            return await process_api(*args, request=request, **kwargs)
        except Exception as error:
            if lang not in {None, ENGLISH} and isinstance(getattr(error, "message", None), str):
                error.message = gradios_message_in(error.message, lang)
            raise
        finally:
            _speaking.reset(token)

    demo.process_api = in_its_language


# Gradio's own messages for what it refuses before a handler runs, as templates of the table.
GRADIO_MESSAGES = {
    re.compile(r"Value: (?P<value>.*) \(type: (?P<kind>.*)\) is not in the list of choices: (?P<choices>.*)", re.S): (
        "Value: {value} (type: {kind}) is not in the list of choices: {choices}"
    ),
    re.compile(r"Invalid file type\. Please upload a file that is one of these formats: (?P<formats>.*)", re.S): (
        "Invalid file type. Please upload a file that is one of these formats: {formats}"
    ),
}


def gradios_message_in(message: str, lang: str) -> str:
    """One of Gradio's own error messages in `lang` (as it is when the table does not know it)."""
    for pattern, template in GRADIO_MESSAGES.items():
        if found := pattern.fullmatch(message):
            return translate(template, lang, **found.groupdict())
    return message


def language_of(accept_language: str) -> str:
    """The page's language for an Accept-Language header: its most preferred tag decides."""
    preferred = max(_tags(accept_language), key=lambda tag: tag[1], default=("", 0.0))[0]
    chinese = {locale.lower() for locale in CHINESE_LOCALES}
    return SIMPLIFIED_CHINESE if preferred.lower() in chinese else ENGLISH


def _tags(accept_language: str) -> list[tuple[str, float]]:
    tags = []
    for position, part in enumerate(accept_language.split(",")):
        tag, _, rest = part.strip().partition(";")
        try:
            quality = float(rest.strip().removeprefix("q=")) if rest.strip().startswith("q=") else 1.0
        except ValueError:
            quality = 0.0
        if tag and tag != "*":
            tags.append((tag, quality - position * 1e-6))  # ties go to the earlier tag
    return tags


def gradio_i18n() -> Any:
    """The table as Gradio's I18n, for `launch(i18n=...)`: English keys to themselves, Chinese for every Chinese
    locale."""
    import gradio as gr

    return gr.I18n(en={key: key for key in CHINESE}, **{locale: dict(CHINESE) for locale in CHINESE_LOCALES})


def warn(english: str, /, **fields: Any) -> None:
    """A warning toast in the request's language (the log's, in a process that serves no page)."""
    if not _serving_a_page():
        log.warning(say(english, **fields))
        return
    import gradio as gr

    gr.Warning(say(english, **fields))


def inform(english: str, /, **fields: Any) -> None:
    """An information toast in the request's language (the log's, in a process that serves no page)."""
    if not _serving_a_page():
        log.info(say(english, **fields))
        return
    import gradio as gr

    gr.Info(say(english, **fields))


def _serving_a_page() -> bool:
    """Whether this process runs Gradio. A job's child process (a batch run, a training) does not, and importing
    Gradio to find no request there cost each job 3.6 s."""
    return "gradio" in sys.modules


def error(message: str) -> Exception:
    """The error a handler raises to show `message` (already in the request's language). Gradio 6 titles every
    toast with its kind in English ("Error", "Info") whatever title it is given."""
    import gradio as gr

    return gr.Error(message, print_exception=False)


class Listed:
    """Items listed as each language lists them: "a, b and c" in English (`last` joins the last item, `between` the
    others). A field of a message, said in the message's language; its str is the English. An item is text as it
    is, or a word or phrase of the translation table (a Word, a UserError), said in that language too."""

    AND = "{items} and {last}"
    OR = "{items} or {last}"
    COMMA = "{items}, {last}"

    def __init__(self, items: list[Any], last: str = AND, between: str = COMMA):
        self.items, self.last, self.between = list(items), last, between

    def in_language(self, lang: str) -> str:
        said = [_item_in(item, lang) for item in self.items]
        if len(said) < 2:
            return "".join(said)
        listed = said[0]
        for item in said[1:-1]:
            listed = translate(self.between, lang, items=listed, last=item)
        return translate(self.last, lang, items=listed, last=said[-1])

    def __str__(self) -> str:
        return self.in_language(ENGLISH)


def _item_in(item: Any, lang: str) -> str:
    if hasattr(item, "in_language"):
        return item.in_language(lang)
    if isinstance(item, Word):
        return translate(item, lang)
    return str(item)
