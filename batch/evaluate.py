"""python -m batch.evaluate: run a file through a task's model and, given references, score it.

    python -m batch.evaluate --task text_classification --data news.csv --text-column text \\
        --reference-column label --model runs/news-20261202 --output out/

writes out/results.csv and results.jsonl (the input's columns plus the model's fields), and with references
out/report.json, report.md and confusion_matrix.png. Give --model twice or more to compare models on the same file
(out/results-2.csv ..., and a side-by-side table in the report). Data-parallel over N processes or GPUs:

    accelerate launch --multi_gpu --num_processes 2 -m batch.evaluate --cpu ...

Each process takes its share of the rows (split_between_processes); results are gathered in input order, so the
output is the same file as one process writes.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from batch import runner
from batch.specs import spec_for
from studio.config import load_config
from studio.errors import UserError
from studio.files import media
from studio.files.rows import read_rows
from studio.files.tables import label_set
from studio.i18n import Listed, language, say, speaking, word
from studio.metrics import entity_report, evaluate, multi_label_report, plot_confusion_matrix

_MAPPING_SEPARATOR = re.compile(r"\s*(?:→|->|=>|=|:)\s*")


# ---- label mapping ----------------------------------------------------------------------------------------------


def parse_label_map(text: str | None) -> dict[str, str]:
    """ "POSITIVE→pos, NEGATIVE=neg" (commas or new lines between pairs; →, ->, = or : within one) as a dict."""
    mapping: dict[str, str] = {}
    for pair in re.split(r"[,\n;]", text or ""):
        if not pair.strip():
            continue
        parts = _MAPPING_SEPARATOR.split(pair.strip(), maxsplit=1)
        if len(parts) != 2 or not parts[0].strip() or not parts[1].strip():
            raise UserError(
                "The label mapping '{pair}' is not a pair; write each as MODEL_LABEL=your_label, "
                "such as POSITIVE=pos, NEGATIVE=neg.",
                pair=pair.strip()[:60],
            )
        mapping[parts[0].strip()] = parts[1].strip()
    return mapping


def complete_label_map(mapping: dict[str, str], model_labels: list[str], references: list[str]) -> dict[str, str]:
    """The user's mapping, checked against the model's labels, plus any label that differs from a reference
    label only in case (POSITIVE -> positive)."""
    known = {label.lower(): label for label in model_labels}
    checked = {}
    for source, target in mapping.items():
        label = source if source in model_labels else known.get(source.lower())
        if label is None:
            raise UserError(
                "The label mapping names '{source}', which the model does not have; its labels are {labels}.",
                source=source[:60],
                labels=", ".join(model_labels[:20]),
            )
        checked[label] = target
    by_case = {ref.lower(): ref for ref in set(references) if ref}
    for label in model_labels:
        if label not in checked and label not in by_case.values() and label.lower() in by_case:
            checked[label] = by_case[label.lower()]
    return checked


# ---- reports -----------------------------------------------------------------------------------------------------


def markdown(report: dict) -> str:
    """The report as the tab shows it and report.md holds it, in the request's language."""
    skipped = []  # phrases of the translation table, listed in the first line's language
    if report["unreferenced_rows"]:
        skipped.append(UserError("{count:,} without a reference", count=report["unreferenced_rows"]))
    if report["failed_rows"]:
        skipped.append(UserError("{count:,} that failed", count=report["failed_rows"]))
    scored = {"model": report["model"], "rows": report["scored_rows"], "speed": report["rows_per_second"]}
    if skipped:
        first = say(
            "**{model}** on {rows:,} rows with a reference (skipped: {skipped}); {speed:.1f} rows/s.",
            skipped=Listed(skipped, Listed.COMMA),
            **scored,
        )
    else:
        first = say("**{model}** on {rows:,} rows with a reference; {speed:.1f} rows/s.", **scored)
    lines = [first + "\n"]
    if report.get("label_map"):
        mapping = ", ".join(f"{k} → {v}" for k, v in report["label_map"].items())
        lines.append(say("Label mapping: {mapping}", mapping=mapping) + "\n")
    if report.get("unknown_labels"):
        unknown = ", ".join(f"`{label}`" for label in report["unknown_labels"])
        lines.append(
            say(
                "⚠️ The file has labels the model never answers: {labels}. "
                "Map the model's labels to yours in Label mapping.",
                labels=unknown,
            )
            + "\n"
        )
    scores_header = say("| | precision | recall | F1 | support |")
    macro, weighted = say("macro"), say("weighted")
    if "accuracy" in report:
        lines += [
            say(
                "**Accuracy {accuracy:.1%}** · F1 macro {f1_macro:.3f} · F1 weighted {f1_weighted:.3f}",
                accuracy=report["accuracy"],
                f1_macro=report["f1_macro"],
                f1_weighted=report["f1_weighted"],
            )
            + "\n",
            *_scores_table(
                scores_header, [(macro, report["macro"]), (weighted, report["weighted"])], report["per_class"]
            ),
            *_mistakes_table(say("Most confident mistakes:"), report["mistakes"]),
        ]
    elif report.get("multi_label"):
        lines += [
            say(
                "**Micro F1 {f1_micro:.1%}** · F1 macro {f1_macro:.3f} · every label of a text right: {subset:.1%}",
                f1_micro=report["f1_micro"],
                f1_macro=report["f1_macro"],
                subset=report["subset_accuracy"],
            )
            + "\n",
            *_scores_table(
                scores_header, [(say("micro"), report["micro"]), (macro, report["macro"])], report["per_class"]
            ),
            *_mistakes_table(say("Texts whose labels were not all right:"), report["mistakes"]),
        ]
    elif "per_type" in report:
        lines += [
            say(
                "**Entity F1 {f1:.1%}** (precision {precision:.1%}, recall {recall:.1%}; strict: exact span and type)",
                f1=report["f1"],
                precision=report["precision"],
                recall=report["recall"],
            )
            + "\n",
            *_scores_table(
                say("| type | precision | recall | F1 | support |"), [(macro, report["macro"])], report["per_type"]
            ),
        ]
    elif "chrf" in report:
        lines.append(f"**chrF {report['chrf']:.1f}** · BLEU {report['bleu']:.1f}\n")
        lines.append(f"`{report['chrf_signature']}` · `{report['bleu_signature']}`")
    elif "wer" in report:
        lines.append(
            say(
                "**WER {wer:.1%}** · CER {cer:.1%} (after Whisper's English normaliser)",
                wer=report["wer"],
                cer=report["cer"],
            )
            + "\n"
        )
        if report["mistakes"]:
            lines += [
                say("Recordings with the most errors:"),
                "",
                say("| file | WER | reference | transcript |"),
                "|---|---|---|---|",
            ]
            for m in report["mistakes"]:
                lines.append(
                    f"| {_cell(m['file'])} | {m['wer']:.1%} | {_cell(m['reference'])} | {_cell(m['transcript'])} |"
                )
    if report.get("compare"):
        lines += ["", compare_table(report["compare"])]
    return "\n".join(lines)


def compare_table(rows: list[dict]) -> str:
    """Models side by side: each metric per model, and rows per second."""
    metrics = [
        m
        for m in (
            *("accuracy", "f1_micro", "f1_macro", "f1_weighted", "subset_accuracy"),
            *("chrf", "bleu", "wer", "cer", "f1", "precision", "recall"),
        )
        if m in rows[0]
    ]
    header = f"| {say('model')} | " + " | ".join(metrics) + f" | {say('rows/s')} |"
    lines = [header, "|---" * (len(metrics) + 2) + "|"]
    for row in rows:
        values = " | ".join(f"{row[m]:.3f}" if isinstance(row.get(m), float) else "" for m in metrics)
        lines.append(f"| {row['model']} | {values} | {row['rows_per_second']:.1f} |")
    return "\n".join(lines)


def _scores_table(header: str, averages: list[tuple[str, dict]], per_label: dict[str, dict]) -> list[str]:
    """Precision, recall and F1: a row for each average (named), then one for each label with its support."""
    lines = [header, "|---|---|---|---|---|"]
    lines += [f"| {name} | {m['precision']:.3f} | {m['recall']:.3f} | {m['f1']:.3f} | |" for name, m in averages]
    for label, m in per_label.items():
        lines.append(f"| {label} | {m['precision']:.3f} | {m['recall']:.3f} | {m['f1']:.3f} | {m['support']} |")
    return lines


def _mistakes_table(title: str, mistakes: list[dict]) -> list[str]:
    """The texts the model got wrong, with the true and predicted answers; nothing when there are none."""
    if not mistakes:
        return []
    lines = ["", title, "", say("| text | true | predicted |"), "|---|---|---|"]
    return lines + [f"| {_cell(m['text'])} | {m['true']} | {m['predicted']} |" for m in mistakes]


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


# ---- the command line -------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m batch.evaluate", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "--task",
        default="text_classification",
        help="the tab whose model runs: text_classification, ner, translation, speech or image_classification",
    )
    p.add_argument(
        "--data",
        action="append",
        required=True,
        help="CSV, TSV, JSON, JSONL, Parquet, or TXT (one text a line); image_classification: a zip of pictures; "
        "speech: recordings or a zip of them, repeat it for several files",
    )
    p.add_argument("--text-column", default="", help="the column of texts (default: guessed)")
    p.add_argument("--reference-column", default="", help="the column of true labels; empty: no evaluation")
    p.add_argument("--model", action="append", default=[], help="a model reference or label (repeat to compare)")
    p.add_argument("--label-map", default="", help="the model's labels to yours: POSITIVE=pos,NEGATIVE=neg")
    p.add_argument("--output", required=True, help="the folder to write results and reports into")
    p.add_argument("--config", default=None, help="a models.toml (default: $STUDIO_CONFIG, else ./models.toml)")
    p.add_argument("--max-rows", type=int, default=0, help="refuse files with more rows (default: the config's)")
    p.add_argument("--cpu", action="store_true", help="run on the CPU even when a GPU is present")
    p.add_argument("--progress", choices=["human", "jsonl"], default="human", help="jsonl: what the app reads")
    p.add_argument(
        "--language",
        default="",
        help="the language of messages, notes and reports: zh-CN for Simplified Chinese (default: English)",
    )
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.language:
        speaking(args.language)
    emit = _jsonl if args.progress == "jsonl" else _human
    try:
        run_and_score(args, emit)
    except UserError as e:
        emit({"event": "error", "message": e.in_language(language())})
        return 2
    return 0


def run_and_score(args: argparse.Namespace, emit: Any) -> dict | None:
    """The batch run of every model, then (on the main process) the results files and the reports."""
    from accelerate import Accelerator

    accelerator = Accelerator(cpu=args.cpu)
    config = load_config(args.config)
    limits = config.limits
    spec = spec_for(args.task)
    with tempfile.TemporaryDirectory(prefix="model-studio-batch-files-") as unpacked:
        rows = read_input(args, spec, limits, Path(unpacked))
        return run_models(args, emit, accelerator, spec, rows, config)


def read_input(args: argparse.Namespace, spec: Any, limits: Any, folder: Path) -> Any:
    """The rows of the file(s) given: a table of texts, a zip of pictures, or recordings (unpacked into folder)."""
    max_rows = args.max_rows or limits.max_batch_rows
    if spec.reads == "recordings":
        return media.read_recordings(args.data, folder, max_rows)
    if len(args.data) > 1:
        raise UserError("Give one file for {task}; only speech takes several.", task=spec.task)
    if spec.reads == "pictures":
        return media.read_pictures(args.data[0], folder, max_rows)
    return read_rows(
        args.data[0],
        args.text_column,
        args.reference_column,
        max_rows=max_rows,
        max_bytes=limits.max_upload_mb * 2**20,
        tagged=spec.family == "entities",
    )


def run_models(args: argparse.Namespace, emit: Any, accelerator: Any, spec: Any, rows: Any, config: Any) -> dict | None:
    """Each model over the rows, this process its share; the main process writes the files and the report."""
    from accelerate.utils import gather_object

    from studio.runtime import Studio

    main_process = accelerator.is_main_process
    report = emit if main_process else (lambda event: None)
    limits = config.limits
    label_map = parse_label_map(args.label_map)
    many = accelerator.num_processes > 1
    device = str(accelerator.device) if many else ("cpu" if args.cpu else None)
    studio = Studio(config=config, device_override=device)
    studio.add_runs()  # so that a fine-tuned run can be named as the app lists it
    refs = list(dict.fromkeys(args.model or [""]))
    output = Path(args.output)
    if main_process:
        output.mkdir(parents=True, exist_ok=True)
    n = len(rows.inputs)
    reports, extras = [], {}
    for k, ref in enumerate(refs):
        ref = ref.strip() or studio.default(args.task)
        choices = studio.choices(args.task)
        if ref not in choices and ref not in choices.values():
            studio.add_choice(args.task, ref, ref)  # the command line may name any model
        name = studio.public_name(args.task, ref)
        started = time.perf_counter()
        loaded, note = studio.load(args.task, ref, spec.load)
        load_seconds = time.perf_counter() - started
        report(
            {
                "event": "start",
                "model": name,
                "served_by": studio.public_name(args.task, loaded.ref),
                "note": note,
                "rows": n,
                "load_seconds": round(load_seconds, 2),
                "index": k,
                "models": len(refs),
            }
        )
        started = time.perf_counter()
        with accelerator.split_between_processes(list(range(n))) as mine:
            share = runner.run(
                spec,
                loaded.model,
                [rows.inputs[i] for i in mine],
                report,
                limits,
                progress_offset=k * n,
                progress_total=len(refs) * n,
            )
        results = gather_object(share) if many else share
        seconds = time.perf_counter() - started
        if not main_process:
            continue
        suffix = "" if k == 0 else f"-{k + 1}"
        runner.write_results(rows, spec, results, output / f"results{suffix}.csv", output / f"results{suffix}.jsonl")
        if spec.write_extras and k == 0:
            extras = spec.write_extras(rows, results, output)
        summary = {
            "model": name,
            "served_by": studio.public_name(args.task, loaded.ref),
            "note": note,
            "rows": n,
            "failed_rows": sum(1 for r in results if r["error"]),
            "seconds": round(seconds, 3),
            "rows_per_second": round(n / max(seconds, 1e-9), 2),
        }
        if rows.references is not None:
            summary.update(score(spec, rows, results, label_map, loaded.model))
        reports.append(summary)
        report({"event": "model_done", **{k2: v for k2, v in summary.items() if not isinstance(v, (list, dict))}})
    if not main_process:
        return None
    files = {"csv": str(output / "results.csv"), "jsonl": str(output / "results.jsonl"), **extras}
    first = dict(reports[0])
    if len(reports) > 1:
        first["compare"] = [
            {k: v for k, v in r.items() if isinstance(v, (int, float, str)) and k not in ("note",)} for r in reports
        ]
    if rows.references is not None or len(reports) > 1:
        (output / "report.json").write_text(json.dumps(first, indent=2, ensure_ascii=False), encoding="utf-8")
        (output / "report.md").write_text(markdown({**_defaults(first), **first}) + "\n", encoding="utf-8")
        files.update(report_json=str(output / "report.json"), report_md=str(output / "report.md"))
        if "confusion_matrix" in first:
            title = "Confusion matrix (true vs predicted)"
            if first.get("multi_label"):
                title = "Labels predicted for each true label"
            files["confusion"] = plot_confusion_matrix(
                first["confusion_matrix"], first["labels"], str(output / "confusion_matrix.png"), title=title
            )
    emit({"event": "done", "files": files, "report": first})
    return first


def score(spec: Any, rows: Any, results: list[dict], label_map: dict[str, str], model: Any) -> dict:
    """The spec's metric family over the rows that have a reference and no error, with what was left out."""
    assert rows.references is not None
    keep = [i for i, (ref, r) in enumerate(zip(rows.references, results)) if ref and not r["error"]]
    unreferenced = sum(1 for ref in rows.references if not ref)
    if not keep:
        raise UserError(
            "No row has both a {what} and a reference in '{column}'; "
            "pick the column that holds the true answers, or leave Reference column empty.",
            what=word(spec.what[:-1]),
            column=rows.reference_column,
        )
    if spec.family == "classification" and spec.is_multi_label and spec.is_multi_label(model):
        model_labels = spec.model_labels(model)
        references = [label_set(rows.references[i]) for i in keep]
        mapping = complete_label_map(label_map, model_labels, [label for row in references for label in row])
        metrics = multi_label_report(
            references,
            [[mapping.get(label, label) for label in label_set(results[i]["prediction"])] for i in keep],
            [rows.records[i][rows.text_column] for i in keep],
            [mapping.get(label, label) for label in model_labels],
        )
        return {"scored_rows": len(keep), "unreferenced_rows": unreferenced, "label_map": mapping, **metrics}
    if spec.family == "classification":
        model_labels = spec.model_labels(model) if spec.model_labels else []
        mapping = complete_label_map(label_map, model_labels, [rows.references[i] for i in keep])
        predictions = [mapping.get(results[i]["prediction"], results[i]["prediction"]) for i in keep]
        answerable = [mapping.get(label, label) for label in model_labels] or None
        scores = [float(results[i]["score"]) for i in keep]
    elif spec.family == "entities":
        model_types = spec.model_labels(model) if spec.model_labels else []
        types = sorted({tag[2:] for i in keep for tag in rows.references[i] if tag != "O"})
        mapping = complete_label_map(label_map, model_types, types)
        metrics = entity_report(
            [rows.words[i] for i in keep],
            [rows.references[i] for i in keep],
            [results[i]["entities"] for i in keep],
            mapping,
            [mapping.get(kind, kind) for kind in model_types] or None,
        )
        return {"scored_rows": len(keep), "unreferenced_rows": unreferenced, "label_map": mapping, **metrics}
    else:
        mapping, answerable, scores = {}, None, None
        predictions = [results[i][spec.fields[0]] for i in keep]
    metrics = evaluate(
        spec.family,
        [rows.references[i] for i in keep],
        predictions,
        [rows.records[i][rows.text_column] for i in keep],  # the texts, or the pictures' and recordings' names
        scores,
        answerable,
    )
    return {"scored_rows": len(keep), "unreferenced_rows": unreferenced, "label_map": mapping, **metrics}


def _defaults(report: dict) -> dict:
    return {"scored_rows": report.get("rows", 0), "unreferenced_rows": 0}


def _jsonl(event: dict) -> None:
    print(json.dumps(event, ensure_ascii=False), flush=True)


def _human(event: dict) -> None:
    kind = event["event"]
    if kind == "start":
        note = f" ({event['note']})" if event["note"] else ""
        print(
            f"{event['model']}: loaded in {event['load_seconds']:.1f} s{note}; {event['rows']:,} rows", file=sys.stderr
        )
    elif kind == "progress":
        print(f"\r{event['done']:,}/{event['total']:,} rows, about {event['eta']:.0f} s left", end="", file=sys.stderr)
    elif kind == "model_done":
        print(
            f"\n{event['model']}: {event['rows_per_second']:.1f} rows/s, {event['failed_rows']} failed rows",
            file=sys.stderr,
        )
    elif kind == "error":
        print(f"error: {event['message']}", file=sys.stderr)
    elif kind == "done":
        for name, path in event["files"].items():
            print(f"{name}: {path}")
        if {"accuracy", "f1_micro", "chrf"} & set(event["report"]):
            print(markdown(event["report"]))


if __name__ == "__main__":
    sys.exit(main())
