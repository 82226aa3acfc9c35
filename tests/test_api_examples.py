"""The README's API examples, run as written against the live test app, so that they stay true.

Only what must differ here is changed: the app's URL, the models (each becomes its task's tiny test model) and
example files that the repository does not have (each becomes an asset of the same kind).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
import tomllib

from tests.conftest import ROOT

README = ROOT / "README.md"
AUDIO = {".wav", ".mp3", ".m4a", ".flac", ".ogg", ".webm", ".mp4"}
IMAGES = {".png", ".jpg", ".jpeg", ".webp", ".gif", ".bmp"}
TABLES = {".csv", ".tsv", ".json", ".jsonl", ".parquet"}


def readme_section(title: str) -> str:
    text = README.read_text(encoding="utf-8")
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", text, re.MULTILINE | re.DOTALL)
    assert match, f"README.md has a '## {title}' section"
    return match.group(1)


def api_example() -> str:
    blocks = re.findall(r"```python\n(.*?)```", readme_section("API"), re.DOTALL)
    assert len(blocks) == 1, "the API section has one python block"
    return blocks[0]


def documented_api_names() -> set[str]:
    return set(re.findall(r"^\| `(/\w+)` \|", readme_section("API"), re.MULTILINE))


def production_models() -> dict[str, str]:
    """Every model reference and dropdown label in models.toml -> the task it belongs to."""
    config = tomllib.loads((ROOT / "models.toml").read_text(encoding="utf-8"))
    names = {}
    for task, section in config.items():
        if task in {"app", "finetune"}:
            continue
        for label, ref in [("", section["default"]), *section.get("choices", {}).items()]:
            names[ref] = task
            if label:
                names[label] = task
    return names


class ForTheTestApp(ast.NodeTransformer):
    """Rewrites the example's string literals: URL, model names and missing example files."""

    def __init__(self, url: str, models: dict[str, str], assets: Path):
        self.url, self.models, self.assets = url, models, assets
        self.production = production_models()
        self.replaced: list[tuple[str, str]] = []

    def visit_Constant(self, node: ast.Constant) -> ast.Constant:  # noqa: N802 -- ast's name
        if not isinstance(node.value, str):
            return node
        new = self.replacement(node.value)
        if new is None:
            return node
        self.replaced.append((node.value, new))
        return ast.copy_location(ast.Constant(new), node)

    def replacement(self, value: str) -> str | None:
        if re.fullmatch(r"https?://(127\.0\.0\.1|localhost):\d+/?", value):
            return self.url
        if value in self.production:
            return self.models[self.production[value]]
        suffix = Path(value).suffix.lower()
        if suffix not in AUDIO | IMAGES | TABLES or "://" in value:
            return None
        if (ROOT / value).is_file():
            return str(ROOT / value)
        # An example file of the reader's own ("talk.mp3"): one of ours, of the same kind.
        kind = "speech_jfk.wav" if suffix in AUDIO else "traffic_light.png" if suffix in IMAGES else None
        return str(self.assets / (kind or "support_tickets.csv"))


def test_the_readme_documents_every_api_name(client):
    endpoints = set(client.view_api(return_format="dict", print_info=False)["named_endpoints"])
    assert documented_api_names() == endpoints, "the README's API table lists exactly the app's endpoints"
    example = api_example()
    missing = {name for name in endpoints if f'api_name="{name}"' not in example}
    assert not missing, f"no runnable example for {missing}"


def test_the_readme_api_examples_run_against_the_app(live_app, assets, monkeypatch):
    url, studio = live_app
    models = {task: studio.task(task).default for task in studio.config.tasks}
    rewrite = ForTheTestApp(url, models, assets)
    tree = ast.fix_missing_locations(rewrite.visit(ast.parse(api_example())))
    assert any(new == url for _, new in rewrite.replaced), "the example names the app's URL"
    monkeypatch.setenv("STUDIO_URL", url)  # for an example that reads the URL from the environment
    monkeypatch.chdir(ROOT)
    namespace: dict = {}
    try:
        exec(compile(tree, "README.md (API example)", "exec"), namespace)  # noqa: S102 -- our own README
    except Exception as e:
        pytest.fail(f"the README's API example failed: {type(e).__name__}: {e}\nafter rewriting {rewrite.replaced}")

    # What the example's comments promise.
    entities = namespace["entities"]
    assert entities and all(set(e) == {"entity_group", "word", "start", "end", "score"} for e in entities)
    assert isinstance(namespace["text"], str) and namespace["language"].strip()
    assert namespace["model_name"] in studio.choices("text_classification")
    assert "is ready in the Text classification tab" in namespace["status"]
    assert "accuracy" in Path(namespace["pictures_report"]).read_text(encoding="utf-8")
    assert Path(namespace["transcripts_csv"]).read_text(encoding="utf-8").count("speech_") == 2
    assert Path(namespace["subtitles_zip"]).suffix == ".zip"
