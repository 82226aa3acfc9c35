"""Tiny random models in the real on-disk formats, so tests load them through the real code paths."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

ENGLISH_SENTENCES = [
    "This movie was great and I loved every minute of it.",
    "What a terrible movie, the plot made no sense.",
    "The acting was great but the ending was terrible.",
    "I would watch this film again with my friends.",
    "A boring story with bad actors and a worse script.",
    "Angela Merkel visited Berlin on Monday.",
    "Google opened a new office in Berlin last year.",
    "Angela Merkel met the head of Google in Paris.",
    "The weather in London is cold and rainy today.",
    "My sister works for Microsoft in Seattle.",
    "The food at this restaurant is wonderful.",
    "The service was slow and the waiter was rude.",
    "Hello world, this is a small test sentence.",
    "Barack Obama gave a speech at the United Nations.",
    "Apple and Amazon are large companies.",
    "I really enjoyed the music and the songs.",
    "The book is better than the movie.",
    "Nobody liked the new phone from Samsung.",
    "We had a lovely time at the beach in Spain.",
    "The train to Munich was late again.",
    "Students at Oxford University protested against higher fees.",
    "Cristiano Ronaldo scored twice for Portugal yesterday evening.",
    "The European Commission fined Facebook for breaking privacy rules.",
    "Heavy snow closed several roads near Vienna this morning.",
    "An honest, funny and moving picture that deserves every award.",
    "Dull characters, clumsy dialogue, and far too many explosions.",
    "Marie Curie discovered radium while working in France.",
    "Netflix released the second season of its popular drama.",
    "Tickets were expensive, yet the concert felt short and disappointing.",
    "Our hotel room overlooked the river and the old cathedral.",
    "Doctors recommend drinking water and sleeping eight hours.",
    "Tesla shares fell after the company missed quarterly targets.",
    "Children played football in the park until sunset.",
    "The museum in Amsterdam displays paintings by Rembrandt.",
    "Please send me the report before Friday afternoon.",
    "Terrible customer support, nobody answered my emails for weeks.",
    "A brilliant soundtrack lifts an otherwise forgettable sequel.",
    "Scientists at NASA found water ice on the moon.",
    "The chef prepared fresh pasta with tomatoes and basil.",
    "Parliament voted to reform pensions despite strong opposition.",
]

GERMAN_SENTENCES = [
    "Hallo Welt, das ist ein kleiner Testsatz.",
    "Der Film war großartig und ich habe jede Minute geliebt.",
    "Was für ein schrecklicher Film, die Handlung ergab keinen Sinn.",
    "Angela Merkel besuchte am Montag Berlin.",
    "Google hat letztes Jahr ein neues Büro in Berlin eröffnet.",
    "Das Wetter in London ist heute kalt und regnerisch.",
    "Meine Schwester arbeitet für Microsoft in Seattle.",
    "Das Essen in diesem Restaurant ist wunderbar.",
    "Der Zug nach München hatte wieder Verspätung.",
    "Das Buch ist besser als der Film.",
]

NER_LABELS = ["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-MISC", "I-MISC"]

BERT_SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]

TINY_BERT = {
    "hidden_size": 32,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "intermediate_size": 64,
    "max_position_embeddings": 128,
}


def _train_wordpiece_vocab(lowercase: bool, vocab_size: int = 300) -> dict[str, int]:
    """Train a WordPiece vocabulary on the built-in sentences and return its reproducible part."""
    from collections import Counter

    from tokenizers import BertWordPieceTokenizer

    wordpiece = BertWordPieceTokenizer(lowercase=lowercase, strip_accents=lowercase)
    wordpiece.train_from_iterator(
        ENGLISH_SENTENCES,
        vocab_size=10_000,
        min_frequency=1,
        special_tokens=BERT_SPECIAL_TOKENS,
        show_progress=False,
    )
    trained = wordpiece.get_vocab()
    # The trainer breaks ties between equally frequent merges in Rust hash order, so its subwords
    # and ids change from run to run. Trained to the end, its characters and whole words do not.
    words = Counter(
        word
        for sentence in ENGLISH_SENTENCES
        for word, _ in wordpiece.pre_tokenizer.pre_tokenize_str(wordpiece.normalizer.normalize_str(sentence))
    )
    characters = sorted(token for token in trained if len(token.removeprefix("##")) == 1)
    whole_words = sorted(
        (word for word in words if word in trained and word not in characters),
        key=lambda word: (-words[word], word),
    )
    tokens = [*BERT_SPECIAL_TOKENS, *characters, *whole_words][:vocab_size]
    return {token: i for i, token in enumerate(tokens)}


def _build_bert(folder: Path, model_class: Any, lowercase: bool, labels: list[str]) -> Path:
    """Save a tiny random BERT head of model_class with a trained WordPiece tokenizer."""
    import torch
    from transformers import BertConfig, BertTokenizerFast

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    vocab = _train_wordpiece_vocab(lowercase)
    # transformers 5's BertTokenizerFast (an alias of BertTokenizer) takes the vocab dict itself.
    tokenizer = BertTokenizerFast(vocab=vocab, do_lower_case=lowercase, model_max_length=128)
    config = BertConfig(
        vocab_size=len(vocab),
        pad_token_id=vocab["[PAD]"],
        id2label=dict(enumerate(labels)),
        label2id={label: i for i, label in enumerate(labels)},
        **TINY_BERT,
    )
    torch.manual_seed(0)
    model_class(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def build_text_classifier(folder: Path) -> Path:
    """Build a tiny random BERT sentiment classifier (NEGATIVE/POSITIVE) in folder."""
    from transformers import BertForSequenceClassification

    return _build_bert(folder, BertForSequenceClassification, True, ["NEGATIVE", "POSITIVE"])


def build_token_classifier(folder: Path) -> Path:
    """Build a tiny random cased BERT named-entity tagger with CoNLL-2003 labels in folder."""
    from transformers import BertForTokenClassification

    return _build_bert(folder, BertForTokenClassification, False, NER_LABELS)


def build_chinese_token_classifier(folder: Path, characters: str) -> Path:
    """A tiny random Chinese BERT tagger (as bert-base-chinese: one token a character, no lowercasing) whose
    vocabulary is `characters`, with People's Daily's person, place and organisation tags."""
    import torch
    from transformers import BertConfig, BertForTokenClassification, BertTokenizerFast

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tokens = [*BERT_SPECIAL_TOKENS, *sorted(set(characters) - set(BERT_SPECIAL_TOKENS) - {" ", "\n"})]
    vocab = {token: i for i, token in enumerate(tokens)}
    tokenizer = BertTokenizerFast(vocab=vocab, do_lower_case=False, tokenize_chinese_chars=True, model_max_length=128)
    labels = ["O", *(f"{prefix}-{kind}" for kind in ("PER", "LOC", "ORG") for prefix in "BI")]
    config = BertConfig(
        vocab_size=len(vocab),
        pad_token_id=vocab["[PAD]"],
        id2label=dict(enumerate(labels)),
        label2id={label: i for i, label in enumerate(labels)},
        **TINY_BERT,
    )
    torch.manual_seed(0)
    BertForTokenClassification(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def _train_sentencepiece(sentences: list[str], vocab_size: int) -> bytes:
    """Train a unigram SentencePiece model and return its serialized proto."""
    import sentencepiece

    model = io.BytesIO()
    sentencepiece.SentencePieceTrainer.train(
        sentence_iterator=iter(sentences),
        model_writer=model,
        vocab_size=vocab_size,
        model_type="unigram",
        character_coverage=1.0,
        # Too few sentences for an exact size; let the trainer stop where it can.
        hard_vocab_limit=False,
        # Marian's vocab.json, not the spm ids, decides the model ids; keep only <unk> in the spm.
        unk_id=0,
        bos_id=-1,
        eos_id=-1,
        pad_id=-1,
        minloglevel=2,
    )
    return model.getvalue()


def build_translator(folder: Path) -> Path:
    """Build a tiny random Marian English-to-German translator with trained SentencePiece models."""
    spm_bytes = _train_sentencepiece(ENGLISH_SENTENCES + GERMAN_SENTENCES, vocab_size=200)
    # A random model rarely emits </s>; a small max_length keeps generation short.
    return write_marian(
        folder,
        spm_bytes,
        d_model=32,
        layers=1,
        heads=2,
        ffn_dim=64,
        max_length=64,
        generation={"max_length": 32, "num_beams": 1},
    )


def write_marian(
    folder: Path,
    spm_bytes: bytes,
    *,
    d_model: int,
    layers: int,
    heads: int,
    ffn_dim: int,
    max_length: int,
    generation: dict,
    vocab_size: int | None = None,
) -> Path:
    """A random Marian translator in opus-mt's on-disk layout around one SentencePiece model (opus-mt shares
    one between source and target). `vocab_size` pads the vocabulary with pieces no text produces, so that the
    embeddings and the output projection are as large as a real model's."""
    import sentencepiece
    import torch
    from transformers import GenerationConfig, MarianConfig, MarianMTModel, MarianTokenizer

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "source.spm").write_bytes(spm_bytes)
    (folder / "target.spm").write_bytes(spm_bytes)
    processor = sentencepiece.SentencePieceProcessor(model_proto=spm_bytes)
    pieces = [
        processor.id_to_piece(i)
        for i in range(processor.get_piece_size())
        if not (processor.is_unknown(i) or processor.is_control(i))
    ]
    # Same layout as Helsinki-NLP/opus-mt-*: </s> first, <unk> second, <pad> last.
    tokens = ["</s>", "<unk>", *pieces]
    if vocab_size is not None:
        tokens += [f"▁unused{i}" for i in range(vocab_size - 1 - len(tokens))]
    vocab = {token: i for i, token in enumerate([*tokens, "<pad>"])}
    (folder / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False, indent=2), encoding="utf-8")
    pad_id, eos_id = vocab["<pad>"], vocab["</s>"]
    config = MarianConfig(
        vocab_size=len(vocab),
        d_model=d_model,
        encoder_layers=layers,
        decoder_layers=layers,
        encoder_attention_heads=heads,
        decoder_attention_heads=heads,
        encoder_ffn_dim=ffn_dim,
        decoder_ffn_dim=ffn_dim,
        max_position_embeddings=max_length,
        pad_token_id=pad_id,
        eos_token_id=eos_id,
        decoder_start_token_id=pad_id,
        forced_eos_token_id=eos_id,
        scale_embedding=True,
        share_encoder_decoder_embeddings=True,
    )
    torch.manual_seed(0)
    model = MarianMTModel(config)
    model.generation_config = GenerationConfig(
        **generation,
        pad_token_id=pad_id,
        eos_token_id=eos_id,
        decoder_start_token_id=pad_id,
        forced_eos_token_id=eos_id,
        bad_words_ids=[[pad_id]],
    )
    model.save_pretrained(folder)
    tokenizer = MarianTokenizer(
        source_spm=str(folder / "source.spm"),
        target_spm=str(folder / "target.spm"),
        vocab=str(folder / "vocab.json"),
        source_lang="en",
        target_lang="de",
        model_max_length=max_length,
    )
    tokenizer.save_pretrained(folder)
    return folder


def _wire_whisper_decoder(model: Any, text: str) -> None:
    """Make the decoder ignore the audio and always emit "<|0.00|>text<|1.00|><|endoftext|>"."""
    import torch
    from whisper.tokenizer import get_tokenizer

    tokenizer = get_tokenizer(multilingual=True, num_languages=model.num_languages)
    language = tokenizer.to_language_token("en")
    start, end = tokenizer.timestamp_begin, tokenizer.timestamp_begin + 50
    words = tokenizer.encode(text)
    # Each token predicts the next from itself alone, so prompts and offsets do not matter.
    chain = {
        tokenizer.sot: language,
        language: tokenizer.transcribe,
        tokenizer.transcribe: start,
        tokenizer.translate: start,
        tokenizer.no_timestamps: words[0],
        start: words[0],
        **dict(zip(words, [*words[1:], end], strict=True)),
        end: tokenizer.eot,
        tokenizer.eot: tokenizer.eot,
    }
    axis = {token: i for i, token in enumerate(chain)}
    decoder = model.decoder
    if len(axis) > model.dims.n_text_state:
        raise ValueError(f"{text!r} needs more than {model.dims.n_text_state} tokens in its chain")
    with torch.no_grad():
        decoder.positional_embedding.zero_()
        for token, i in axis.items():
            decoder.token_embedding.weight[token] = 0.0
            decoder.token_embedding.weight[token, i] = 10.0
        block = decoder.blocks[0]
        for attention in (block.attn, block.cross_attn):
            attention.out.weight.zero_()
            attention.out.bias.zero_()
        # Hidden unit i fires only for chain token i and writes the next token's axis.
        hidden, project = block.mlp[0], block.mlp[2]
        hidden.weight.zero_()
        hidden.bias.fill_(-2.0)
        project.weight.zero_()
        project.bias.zero_()
        for token, i in axis.items():
            hidden.weight[i, i] = 1.0
            project.weight[axis[chain[token]], i] = 30.0


def build_whisper_checkpoint(path: Path, text: str = " Hello world") -> Path:
    """Write a tiny multilingual openai-whisper checkpoint (.pt) that transcribes any audio as text."""
    import dataclasses

    import torch
    from whisper.model import ModelDimensions, Whisper

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    dims = ModelDimensions(
        n_mels=80,
        n_audio_ctx=1500,
        n_audio_state=32,
        n_audio_head=2,
        n_audio_layer=1,
        n_vocab=51865,
        n_text_ctx=448,
        n_text_state=32,
        n_text_head=2,
        n_text_layer=1,
    )
    torch.manual_seed(0)
    model = Whisper(dims)
    # Fully random decoders emit NaN (the positional embedding comes from torch.empty) or
    # babble 224 tokens at every fallback temperature, 5-40 s per clip on a laptop CPU.
    _wire_whisper_decoder(model, text)
    state = {"dims": dataclasses.asdict(dims), "model_state_dict": model.state_dict()}
    torch.save(state, path)
    return path


def build_image_classifier(folder: Path) -> Path:
    """Build a tiny random timm ViT (224 px, 16 px patches, 1000 classes) as a local-dir folder."""
    import timm
    import torch

    folder = Path(folder)
    model_args = {"depth": 1, "embed_dim": 32, "num_heads": 2}
    torch.manual_seed(0)
    model = timm.create_model("vit_tiny_patch16_224", pretrained=False, num_classes=1000, **model_args)
    timm.models.save_for_hf(model, folder, model_args=model_args, safe_serialization=True)
    return folder


def build_all(root: Path) -> dict[str, Path]:
    """Build every tiny model under root, keyed by task name."""
    root = Path(root)
    return {
        "text_classification": build_text_classifier(root / "text_classification"),
        "ner": build_token_classifier(root / "ner"),
        "translation": build_translator(root / "translation"),
        "speech": build_whisper_checkpoint(root / "speech" / "tiny-whisper.pt"),
        "image_classification": build_image_classifier(root / "image_classification"),
    }
