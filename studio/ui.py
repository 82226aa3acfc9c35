"""Gradio glue every tab shares: the error policy, the model dropdown, the status line, text limits."""

from __future__ import annotations

import contextlib
import functools
import inspect
import logging
from collections.abc import Callable, Iterator
from pathlib import PurePath
from typing import Any

import gradio as gr

from studio.cache import LoadedModel
from studio.errors import UserError, encodable
from studio.i18n import error, language, say, ui, warn, word
from studio.runtime import Studio

log = logging.getLogger(__name__)

NOT_LOADED = "Not loaded yet: the first request (or **Load**) loads it."
INTERNAL_ERROR = (
    "Something went wrong inside the app while {doing}; the details are in the server log. Please try again."
)


def user_errors(doing: str) -> Callable[[Callable], Callable]:
    """Turn a UserError into its message and any other failure into a short, logged one: no tracebacks leak.
    Both in the request's language; `doing` is a phrase of the translation table."""

    @contextlib.contextmanager
    def policy() -> Iterator[None]:
        try:
            yield
        except gr.Error:
            raise
        except UserError as e:
            raise error(e.in_language(language())) from None
        except Exception:
            log.exception("failed while %s", doing)
            raise error(say(INTERNAL_ERROR, doing=word(doing))) from None

    def decorate(fn: Callable) -> Callable:
        if inspect.isgeneratorfunction(fn):

            @functools.wraps(fn)
            def gen_wrapper(*args: Any, **kwargs: Any) -> Any:
                with policy():
                    yield from fn(*args, **kwargs)

            return gen_wrapper

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with policy():
                return fn(*args, **kwargs)

        return wrapper

    return decorate


def guard_upload(component: Any, message: str) -> Any:
    """Make a file component's own decoding fail with `message` (a text of the translation table, said in the
    request's language) instead of a bare "Error"."""
    preprocess = component.preprocess

    @functools.wraps(preprocess)
    def checked(payload: Any) -> Any:
        try:
            return preprocess(payload)
        except gr.Error:
            raise
        except Exception:
            log.info("upload rejected by %s", type(component).__name__, exc_info=True)
            raise error(say(message)) from None

    component.preprocess = checked
    return component


def model_controls(
    studio: Studio, task_name: str, load: Callable[[str, str], Any], initial: Callable[[], str] | None = None
) -> tuple[gr.Dropdown, gr.Markdown]:
    """The tab's model picker, a Load button and the status line, wired together.

    `initial`, when given, picks the model shown each time the page loads (by default `Studio.answering`: the
    default, or offline what stands in for it); the API's default stays the configured model, so a client that
    names none gets what the config says.
    """
    with gr.Row(equal_height=True):
        model = gr.Dropdown(
            choices=studio.dropdown_choices(task_name),
            value=studio.public_name(task_name, studio.default(task_name)),
            label=ui("Model"),
            interactive=True,
            # Checked by Studio.load against the live choices, which grow when a fine-tune finishes.
            allow_custom_value=True,
            scale=4,
        )
        load_button = gr.Button(ui("Load"), size="md", scale=1, min_width=80)
    status = gr.Markdown(ui(NOT_LOADED), elem_classes="status-line")

    @user_errors("loading the model")
    def load_model(ref: str) -> str:
        loaded, note = studio.load(task_name, ref, load)
        return status_line(loaded, note)

    load_button.click(load_model, model, status, api_visibility="private")
    from gradio.context import Context

    # Each time the page loads: the model that will answer (offline, what stands in for the default), and its status
    # in the visitor's language.
    opening = initial or (lambda: studio.answering(task_name))
    Context.root_block.load(
        lambda: (studio.public_name(task_name, ref := opening()), show_status(studio, task_name, ref)),
        None,
        [model, status],
        api_visibility="private",
    )
    model.change(lambda ref: show_status(studio, task_name, ref), model, status, api_visibility="private")
    return model, status


def refresh_status(event: Any, studio: Studio, task_name: str, model: gr.Dropdown, status: gr.Markdown) -> None:
    """After a prediction, say what served it."""
    event.then(lambda ref: show_status(studio, task_name, ref), model, status, api_visibility="private")


def show_status(studio: Studio, task_name: str, ref: str | None) -> str:
    loaded, note = studio.loaded(task_name, ref)
    return status_line(loaded, note)


def status_line(loaded: LoadedModel | None, note: str = "") -> str:
    """What is loaded, where, and how long it took: one line under each tab's controls."""
    if loaded is None:
        return say(NOT_LOADED)
    # A local model is named by its folder: the full path would push the line onto a second one.
    name = PurePath(loaded.ref).name if PurePath(loaded.ref).is_absolute() else loaded.ref
    line = say(
        "Loaded **{name}** on **{device}** in {seconds:.1f} s.",
        name=name,
        device=loaded.device,
        seconds=loaded.load_seconds,
    )
    return f"{line} *{note}*" if note else line


def clip_text(text: str | None, max_chars: int, what: str = "text") -> str:
    """The user's text, checked: empty is an error, overly long is cut with a visible warning; lone surrogates
    (which JSON carries but tokenizers and UTF-8 refuse) become U+FFFD."""
    text = encodable((text or "").replace("\x00", ""))
    if not text.strip():
        raise UserError("The {what} is empty; type or paste some text first.", what=word(what))
    if len(text) > max_chars:
        warn(
            "The {what} is {length:,} characters long; only the first {limit:,} were used.",
            what=word(what),
            length=len(text),
            limit=max_chars,
        )
        text = text[:max_chars]
    return text
