"""The evaluation's numbers against cases worked out by hand, and the label mapping's rules."""

from __future__ import annotations

import pytest

from batch.evaluate import complete_label_map, parse_label_map
from studio.errors import UserError
from studio.metrics import classification_report, translation_report


def test_classification_scores_a_confusion_matrix_worked_out_by_hand():
    # true a a b b c, predicted a b b b a: a is right once and taken for b once, both b are right, c is taken for a.
    report = classification_report(
        ["a", "a", "b", "b", "c"], ["a", "b", "b", "b", "a"], ["t1", "t2", "t3", "t4", "t5"], [0.9, 0.6, 0.8, 0.7, 0.95]
    )
    assert report["labels"] == ["a", "b", "c"]
    assert report["confusion_matrix"] == [[1, 1, 0], [0, 2, 0], [1, 0, 0]]
    assert report["accuracy"] == 0.6
    # precision a 1/2, b 2/3, c 0; recall a 1/2, b 1, c 0; F1 a 1/2, b 4/5, c 0.
    assert report["per_class"]["b"] == {"precision": 0.66667, "recall": 1.0, "f1": 0.8, "support": 2}
    assert report["precision_macro"] == pytest.approx((1 / 2 + 2 / 3) / 3, abs=1e-5)
    assert report["recall_macro"] == pytest.approx(0.5)
    assert report["f1_macro"] == pytest.approx((0.5 + 0.8) / 3, abs=1e-5)
    assert report["f1_weighted"] == pytest.approx((2 * 0.5 + 2 * 0.8 + 0) / 5, abs=1e-5)
    # The worst mistakes first: the most confident wrong answer (t5 at 0.95), then t2.
    assert [(m["text"], m["true"], m["predicted"], m["score"]) for m in report["mistakes"]] == [
        ("t5", "c", "a", 0.95),
        ("t2", "a", "b", 0.6),
    ]


def test_a_reference_label_the_model_never_answers_is_reported():
    report = classification_report(
        ["pos", "neg", "maybe"], ["pos", "neg", "neg"], ["x", "y", "z"], None, ["pos", "neg"]
    )
    assert report["unknown_labels"] == ["maybe"]
    assert report["per_class"]["maybe"]["support"] == 1


def test_chrf_and_bleu_match_cases_worked_out_by_hand():
    # chrF: character 1- to 6-grams of "abcdefx" against "abcdefg" match 6/7, 5/6, 4/5, 3/4, 2/3, 1/2 both ways.
    chrf = translation_report(["abcdefg"], ["abcdefx"])["chrf"]
    assert chrf == pytest.approx(100 * (6 / 7 + 5 / 6 + 4 / 5 + 3 / 4 + 2 / 3 + 1 / 2) / 6, abs=1e-3)
    # BLEU: word 1- to 4-grams match 5/6, 3/5, 2/4, 1/3 at equal length (no brevity penalty).
    report = translation_report(["the cat sat on the mat"], ["the cat sat on a mat"])
    assert report["bleu"] == pytest.approx(100 * (5 / 6 * 3 / 5 * 2 / 4 * 1 / 3) ** 0.25, abs=1e-3)
    assert translation_report(["Hello there."], ["Hello there."])["chrf"] == pytest.approx(100)


def test_label_mappings_are_parsed_checked_and_completed_by_case():
    assert parse_label_map("POSITIVE→pos, NEGATIVE -> neg\nNEUTRAL=meh; OTHER: x") == {
        "POSITIVE": "pos",
        "NEGATIVE": "neg",
        "NEUTRAL": "meh",
        "OTHER": "x",
    }
    assert parse_label_map("  ") == {}
    with pytest.raises(UserError, match="is not a pair"):
        parse_label_map("POSITIVE")
    # A user's mapping may spell the model's label in another case; a label equal but for case maps by itself.
    assert complete_label_map({"positive": "good"}, ["POSITIVE", "NEGATIVE"], ["good", "negative"]) == {
        "POSITIVE": "good",
        "NEGATIVE": "negative",
    }
    with pytest.raises(UserError, match="'HAPPY', which the model does not have; its labels are POSITIVE, NEGATIVE"):
        complete_label_map({"HAPPY": "pos"}, ["POSITIVE", "NEGATIVE"], ["pos"])


def test_entity_f1_matches_a_case_worked_out_by_hand():
    from studio.metrics import entity_report, word_tags

    words = [["Ada", "Lovelace", "lived", "in", "London"], ["Paris", "is", "big"]]
    true = [["B-PER", "I-PER", "O", "O", "B-LOC"], ["B-LOC", "O", "O"]]
    # Offsets into the words joined by spaces: "Ada Lovelace" right; "lived in" is no place; London missed;
    # Paris found, as the model's own type name that the mapping turns into the file's.
    predicted = [
        [{"entity_group": "PER", "start": 0, "end": 12}, {"entity_group": "LOC", "start": 13, "end": 21}],
        [{"entity_group": "GPE", "start": 0, "end": 5}],
    ]
    assert word_tags(words[0], predicted[0]) == ["B-PER", "I-PER", "B-LOC", "I-LOC", "O"]
    report = entity_report(words, true, predicted, {"GPE": "LOC"}, ["PER", "LOC"])
    # 3 true entities, 3 predicted, 2 exactly right: precision = recall = F1 = 2/3.
    assert (report["precision"], report["recall"], report["f1"]) == (0.66667, 0.66667, 0.66667)
    assert report["per_type"]["PER"]["f1"] == 1.0
    # LOC: 1 of 2 predicted right, 1 of 2 true found.
    assert report["per_type"]["LOC"] == {"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2}
    assert report["unknown_labels"] == []
    assert entity_report(words, true, predicted, {}, ["PER", "GPE"])["unknown_labels"] == ["LOC"]


def test_wer_and_cer_are_computed_after_whispers_normaliser():
    from studio.metrics import speech_report

    # One word of six left out: WER 1/6; "the " is 4 of the reference's 22 characters: CER 4/22.
    report = speech_report(["The cat sat on the mat."], ["the cat sat on mat"], ["cat.wav"])
    assert report["wer"] == pytest.approx(1 / 6, abs=1e-4) and report["cer"] == pytest.approx(4 / 22, abs=1e-4)
    assert report["mistakes"] == [
        {"file": "cat.wav", "wer": pytest.approx(1 / 6, abs=1e-4), "reference": "the cat sat on the mat",
         "transcript": "the cat sat on mat"}
    ]  # fmt: skip
    # Spelling, numbers and punctuation are not errors once both sides are normalised.
    assert speech_report(["Mr. Smith has 10 dollars."], ["mister smith has ten dollars"], ["a.wav"])["wer"] == 0.0
    with pytest.raises(UserError, match="Every reference transcript is empty"):
        speech_report(["?!"], ["words"], ["a.wav"])


def test_a_confusion_matrix_draws_chinese_labels_in_a_font_that_has_them(tmp_path):
    """matplotlib's own font has no Chinese characters: the labels "正面" and "负面" would come out as empty boxes
    (make test and the Space's packages.txt install fonts-wqy-microhei)."""
    import warnings

    from PIL import Image

    from studio.metrics import plot_confusion_matrix

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        path = plot_confusion_matrix([[5, 1], [2, 4]], ["正面", "负面"], str(tmp_path / "matrix.png"))
    missing = [str(w.message) for w in caught if "missing from font" in str(w.message)]
    assert not missing, missing
    assert Image.open(path).size[0] > 100
