"""What every tab shares at run time: the config, the device, the model cache, and choosing a model."""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import tempfile
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import Any

from studio import pack
from studio.cache import LoadedModel, ModelCache
from studio.config import Config, TaskConfig
from studio.errors import ModelUnavailableError, UserError
from studio.hub import FOR_A_WHILE, Remembered
from studio.i18n import Word, say, ui
from studio.runs import SERVED_IN, chosen_defaults, list_runs, run_label, run_task, save_chosen_defaults

log = logging.getLogger(__name__)

# The offline pack's models that stand in for any model of a task that cannot be had ("pack tasks" of pack.py).
# Translation has none for the whole task: its stand-ins are per language pair, in [translation.offline].
PACK_TASK = {
    "speech": "speech",
    "image_classification": "image_classification",
    "ner": "ner",
    "text_classification": "text_base",
    "zero_shot": "text_base",
}
# What the status line and the toast say when a pack model stands in; {title} is the pack model's. Texts of the
# translation table: each request gets them in its language (Note).
FALLBACK_NOTES = {
    "text_classification": "offline: zero-shot with MiniLM-L6 from the offline pack; fine-tune for better results",
    "zero_shot": "offline: zero-shot with MiniLM-L6 from the offline pack (an approximation; fine-tune for better "
    "results)",
}
DEFAULT_FALLBACK_NOTE = "offline: using {title} from the offline pack"
# Notes for one pack model standing in for a task, where the task's note would name the wrong one.
PACK_FALLBACK_NOTES = {
    ("text_classification", "multilingual-e5-small"): "offline: Chinese sentiment with multilingual-e5-small from "
    "the offline pack",
    ("zero_shot", "multilingual-e5-small"): "offline: zero-shot with multilingual-e5-small from the offline pack (an "
    "approximation; fine-tune for better results)",
}


class Note(str):
    """A note on what stands in for a model: the English (its str), and its template and fields, to be said in the
    language of whichever request it is shown to."""

    template: str
    fields: dict[str, Any]

    def __new__(cls, template: str, /, **fields: Any) -> Note:
        note = super().__new__(cls, template.format(**fields) if fields else template)
        note.template, note.fields = template, fields
        return note

    def said(self) -> str:
        """The note in the current request's language."""
        return say(self.template, **self.fields)


def said(note: str) -> str:
    """A note (a Note, a text of the table, or "") in the current request's language."""
    if isinstance(note, Note):
        return note.said()
    return say(note) if note else note


@dataclass
class Studio:
    """The app's state: one per process."""

    config: Config
    device_override: str | None = None
    models: ModelCache = field(init=False)
    extra_choices: dict[str, dict[str, str]] = field(default_factory=dict)
    fallbacks: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)
    unavailable: Remembered = field(default_factory=Remembered)  # model reference -> why it could not be had
    # Local models a job is using now (a batch run, a faster copy being made): they are not deleted under it.
    holds: Counter = field(default_factory=Counter)
    # The runs a user made the default of their tab (Fine-tune → Your runs), tab -> path; kept in runs_dir.
    chosen_defaults: dict[str, str] = field(default_factory=dict)
    _holds_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        self.models = ModelCache(self.config.limits.max_loaded_models)

    @functools.cached_property
    def device(self) -> str:
        """Chosen on first use, so that starting the app does not wait for torch to import."""
        from studio.device import best_device, configure_threads

        configure_threads()
        return self.device_override or best_device()

    def task(self, name: str) -> TaskConfig:
        return self.config.tasks[name]

    def default(self, task_name: str) -> str:
        """The model a request that names none asks for: a run made the default in the page, else models.toml's."""
        return self.chosen_defaults.get(task_name) or self.task(task_name).default

    def make_default(self, task_name: str, ref: str | None) -> None:
        """Serve `ref` (a run's folder) by default in its tab from now on, across restarts; None: models.toml's
        default again."""
        if ref:
            self.chosen_defaults[task_name] = ref
        else:
            self.chosen_defaults.pop(task_name, None)
        chosen = {tab: PurePath(path).name for tab, path in self.chosen_defaults.items()}
        save_chosen_defaults(self.config.runs_dir, chosen)

    def choices(self, task_name: str) -> dict[str, str]:
        """Label -> model reference for a task's dropdown: those added at run time (fine-tuned runs), newest first,
        then the configured ones."""
        added = dict(reversed(self.extra_choices.get(task_name, {}).items()))
        return {**added, **{label: ref for label, ref in self.task(task_name).choices.items() if label not in added}}

    def add_choice(self, task_name: str, label: str, ref: str) -> None:
        self.extra_choices.setdefault(task_name, {})[label] = ref

    def add_runs(self) -> None:
        """Offer every finished run in runs_dir (and each faster copy) in the tab that serves its kind."""
        for path in reversed(list_runs(self.config.runs_dir).values()):  # oldest first, so the newest leads
            self.add_choice(SERVED_IN[run_task(path)], run_label(path), str(path))
        runs = list_runs(self.config.runs_dir)
        self.chosen_defaults = {tab: str(runs[name]) for tab, name in chosen_defaults(self.config.runs_dir).items()}

    def forget(self, ref: str) -> None:
        """Take a model out of every dropdown and out of memory (a run that is deleted)."""
        for task_name, added in self.extra_choices.items():
            for label in [label for label, choice in added.items() if choice == ref]:
                del added[label]
            self.models.drop(task_name, ref)
        self.fallbacks = {key: value for key, value in self.fallbacks.items() if ref not in (key[1], value[0])}
        for task_name in [task for task, chosen in self.chosen_defaults.items() if chosen == ref]:
            self.make_default(task_name, None)

    def dropdown_choices(self, task_name: str) -> list[tuple[Any, str]]:
        """(label, value) for each of a task's choices, as the page and the API carry them: the label as the page
        shows it (translated in the browser where the table has it, ui()), the value English, as the API takes it."""
        return [(ui(label), value) for label, value in public_choices(self.choices(task_name))]

    def public_name(self, task_name: str, ref: str) -> str:
        """What the page and the API call a model: a local folder (a fine-tuned run, a configured path) by its
        label, since its path would show anyone with the link the server's folders; anything else by its ref."""
        if not is_local(ref):
            return ref
        return next((label for label, choice in self.choices(task_name).items() if choice == ref), PurePath(ref).name)

    def named_in_config(self, names: Iterable[str]) -> str | None:
        """The models.toml entry that names one of `names` (a model's path, a run's name or label), such as
        "[ner] default"; None when none does."""
        names = set(names)
        for section in [*self.config.tasks.values(), *(self.config.finetune_bases(k) for k in SERVED_IN)]:
            offline = section.options.get("offline") or {}
            entries = {
                "default": [section.default],
                "choices": section.choices.values(),
                "offline": offline.values() if isinstance(offline, dict) else [offline],
            }
            for key, refs in entries.items():
                if names & set(refs):
                    return f"[{section.name}] {key}"
        return None

    @contextlib.contextmanager
    def holding(self, refs: Iterable[str]) -> Iterator[None]:
        """Mark models as in use by a job while it runs."""
        refs = list(refs)
        with self._holds_lock:
            self.holds.update(refs)
        try:
            yield
        finally:
            with self._holds_lock:
                self.holds.subtract(refs)
                self.holds = +self.holds

    def held(self, ref: str) -> bool:
        with self._holds_lock:
            return self.holds[ref] > 0

    def load(self, task_name: str, ref: str | None, load: Callable[[str, str], Any]) -> tuple[LoadedModel, str]:
        """The model for `ref` (the task's default when empty), and a note when a fallback stood in for it (in the
        request's language).

        A model that could not be had is not tried again for a while (UNREACHABLE_FOR_S): its stand-in serves at once.
        """
        ref = self.resolve(task_name, ref)
        try:
            loaded, note = self._load(task_name, ref, load)
        except UserError as e:
            if is_local(ref):  # the message names the model as the dropdown does, not by its path on the server
                _hide_path(e, ref, self.public_name(task_name, ref))
            raise
        return loaded, said(note)

    def _load(self, task_name: str, ref: str, load: Callable[[str, str], Any]) -> tuple[LoadedModel, str]:
        try:
            return self.models.get(task_name, ref, lambda: self._load_unless_unavailable(ref, load)), ""
        except ModelUnavailableError as e:
            first_time = self.unavailable.add(ref, e)
            stand_in = self.fallback_for(task_name, ref)
            if stand_in is None:
                raise
            fallback, note = stand_in
            if first_time:
                log.info("%s cannot be had; %s stands in for it for %s", ref, fallback, FOR_A_WHILE)
            loaded = self.models.get(task_name, fallback, lambda: (load(fallback, self.device), self.device))
            self.fallbacks[(task_name, ref)] = (fallback, note)
            return loaded, note

    def _load_unless_unavailable(self, ref: str, load: Callable[[str, str], Any]) -> tuple[Any, str]:
        # Asked under the model's own lock in the cache, so requests that queued behind a failed load skip it too.
        if (why := self.unavailable.why(ref)) is not None:
            raise ModelUnavailableError(why.template, **why.fields)
        return load(ref, self.device), self.device

    def resolve(self, task_name: str, ref: str | None) -> str:
        """The model reference that `ref` (a reference or a label the dropdown lists; empty: the default) names."""
        # Only the listed choices load, so no path or Hub name a client makes up is ever opened.
        ref = ("" if ref is None else str(ref)).strip() or self.default(task_name)
        choices = self.choices(task_name)
        if ref not in choices.values():
            if ref in choices:  # a label, as the dropdown shows it
                return choices[ref]
            raise UserError(
                "Unknown model '{model}'; choose one of the models the dropdown lists.", model=_shorten(ref)
            )
        return ref

    def fallback_for(self, task_name: str, ref: str) -> tuple[str, Note] | None:
        """What stands in for `ref` when it cannot be had, and the note that says so (English; `said()` in the
        request's language); None when nothing does.

        In order: the model `[task.offline]` names for `ref`, the task's `offline` model (a fine-tuned run's
        name, a local folder), then the offline pack's model for the task.
        """
        offline = self.task(task_name).options.get("offline")
        candidates = []
        if isinstance(offline, dict) and ref in offline:
            candidates.append(str(offline[ref]))
        elif isinstance(offline, str) and offline:
            candidates.append(self.choices(task_name).get(offline, offline))
        if task_name in PACK_TASK and (packed := pack.fallback_for(PACK_TASK[task_name])):
            candidates.append(packed)
        for candidate in candidates:
            if candidate == ref:
                continue
            if not pack.is_pack_ref(candidate):
                if not Path(candidate).exists():
                    log.warning("the offline model %s for %s is not there; skipped", candidate, task_name)
                    continue
                return candidate, Note("offline: using {name}", name=Path(candidate).name)
            if not pack.is_installed(pack.pack_name(candidate)):
                continue
            name = pack.pack_name(candidate)
            note = PACK_FALLBACK_NOTES.get((task_name, name)) or FALLBACK_NOTES.get(task_name, DEFAULT_FALLBACK_NOTE)
            return candidate, Note(note, title=pack.PACK_MODELS[name].title)
        return None

    def route(self, task_name: str, ref: str | None, chinese: bool) -> str:
        """The model that answers: the task's `chinese` model for Chinese input when none or the default was chosen
        (or, offline, what the page opens on in the default's place: `answering`); a model picked on purpose is
        kept; else the one named."""
        resolved = self.resolve(task_name, ref)
        if task_name in self.chosen_defaults:  # the user's own default reads what it was trained on
            return resolved
        chinese_model = str(self.task(task_name).options.get("chinese") or "")
        default = self.task(task_name).default
        # answering() asks whether the default is at hand: only for Chinese text, and only when it is not the default.
        if chinese and chinese_model and (resolved == default or resolved == self.answering(task_name)):
            return chinese_model
        return resolved

    def answering(self, task_name: str) -> str:
        """The model a request that names none gets now, as the tab's picker shows it: the default, or, when it
        cannot be had (offline, not cached), the listed choice that stands in for it."""
        from studio.hf import at_hand

        default = self.default(task_name)
        if task_name in self.chosen_defaults or at_hand(default):
            return default
        stand_in = self.fallback_for(task_name, default)
        if stand_in is not None and stand_in[0] in self.choices(task_name).values():
            return stand_in[0]
        return default

    def english_only(self, task_name: str, ref: str) -> bool:
        """True for a configured model known to read only English: a listed choice that is neither a multilingual
        pack model nor one of the task's `reads_chinese` models. A fine-tuned run or local folder may read anything."""
        if pack.is_pack_ref(ref):
            return not pack.PACK_MODELS[pack.pack_name(ref)].multilingual
        options = self.task(task_name).options
        readers = {str(options.get("chinese") or ""), *map(str, options.get("reads_chinese", []))}
        return ref in self.task(task_name).choices.values() and ref not in readers

    def loaded(self, task_name: str, ref: str | None) -> tuple[LoadedModel | None, str]:
        """What serves `ref` (a reference or a label) right now, if anything, without loading it; and the note on a
        stand-in, in the request's language."""
        ref = ref or self.default(task_name)
        choices = self.choices(task_name)
        if ref not in choices.values():
            ref = choices.get(ref, ref)
        if (task_name, ref) in self.fallbacks and self.models.peek(task_name, ref) is None:
            fallback, note = self.fallbacks[(task_name, ref)]
            return self.models.peek(task_name, fallback), said(note)
        return self.models.peek(task_name, ref), ""


def public_choices(choices: dict[str, str]) -> list[tuple[str, str]]:
    """(label, value) pairs for a dropdown of label -> model reference: a local folder's value is its label."""
    return [(label, label if is_local(ref) else ref) for label, ref in choices.items()]


def _hide_path(error: UserError, path: str, name: str) -> None:
    """Put `name` for `path` in the error's message, in English and in every translation (its template and fields,
    and those of an error it quotes)."""
    error.args = (str(error).replace(path, name),)
    error.template = error.template.replace(path, name)
    for key, value in error.fields.items():
        if isinstance(value, UserError):
            _hide_path(value, path, name)
        elif isinstance(value, str) and path in value:
            error.fields[key] = (Word if isinstance(value, Word) else str)(value.replace(path, name))


def is_local(ref: str) -> bool:
    """Whether a model reference is a path on this server (config paths and runs are made absolute)."""
    return PurePath(ref).is_absolute()


def use_own_file_cache() -> Path:
    """Give this process its own folder for Gradio's uploads and outputs, unless GRADIO_TEMP_DIR names one.

    Gradio files everything under one folder per machine, named by content, and an app with `delete_cache`
    deletes every file it created when it stops: two apps on one machine would delete each other's files.
    """
    own = Path(tempfile.gettempdir()) / "gradio" / f"model-studio-{os.getpid()}"
    return Path(os.environ.setdefault("GRADIO_TEMP_DIR", str(own)))


def _shorten(text: str, limit: int = 80) -> str:
    """The start of `text` for a message."""
    return text if len(text) <= limit else text[: limit - 1] + "…"
