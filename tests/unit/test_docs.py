"""The documentation: generated tables up to date, relative links that resolve, a short README, one home per figure."""

from __future__ import annotations

import re
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

PAGES = sorted(
    [
        REPO_ROOT / "README.md",
        REPO_ROOT / "CONTRIBUTING.md",
        REPO_ROOT / "tests" / "README.md",
        REPO_ROOT / "models" / "MODEL_CARD.md",
        *(REPO_ROOT / "docs").glob("*.md"),
    ]
)
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
#: A measured figure: a number with decimals followed by a unit (counts and settings are not figures).
FIGURE = re.compile(r"(?<![\w.])\d[\d,]*\.\d+ ?(?:%|ms|s|MB|points|years|x)(?!\w)")
#: Equal numbers that are different figures: (figure, pages, what each is).
COINCIDENCES = {
    (
        "92.93%",
        ("MODEL_CARD.md", "benchmarks.md"),
    ): "a reliability bin's mean confidence; large faces' detect+crop gender",
    (
        "92.2%",
        ("benchmarks.md", "model-history.md"),
    ): "the small model on UTKFace test camera frames; an early model through detect+crop",
}


def _slug(heading: str) -> str:
    """GitHub's anchor for a Markdown heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def _anchors(page: Path) -> set[str]:
    text = re.sub(r"```.*?```", "", page.read_text(), flags=re.S)
    return {_slug(line.lstrip("#")) for line in text.splitlines() if line.startswith("#")}


def _prose(page: Path) -> str:
    """The page without code blocks, where example output may repeat a figure on purpose."""
    return re.sub(r"```.*?```", "", page.read_text(), flags=re.S)


def test_generated_tables_are_current():
    result = subprocess.run(
        [sys.executable, str(REPO_ROOT / "scripts" / "docs_tables.py"), "--check"],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
    )
    assert result.returncode == 0, f"run `make docs`: {result.stdout}{result.stderr}"


def test_a_stale_table_is_caught(tmp_path, monkeypatch):
    sys.path.insert(0, str(REPO_ROOT / "scripts"))
    try:
        import docs_tables
    finally:
        sys.path.remove(str(REPO_ROOT / "scripts"))
    page = tmp_path / "page.md"
    page.write_text("x\n<!-- generated: audience-environment -->\n| old |\n<!-- end: audience-environment -->\n")
    monkeypatch.setattr(docs_tables, "DOCS", tmp_path)
    monkeypatch.setattr(docs_tables, "REPO_ROOT", tmp_path)
    assert docs_tables.main(["--check"]) == 1
    assert docs_tables.main([]) == 0
    assert "REORDER_WINDOW_S" in page.read_text()
    assert "| old |" not in page.read_text()
    assert docs_tables.main(["--check"]) == 0


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_relative_links_resolve(page):
    broken = []
    for target in LINK.findall(_prose(page)):
        if re.match(r"[a-z]+:", target):
            continue
        path, _, anchor = target.partition("#")
        resolved = (page.parent / path).resolve() if path else page
        if not resolved.exists() or (anchor and resolved.suffix == ".md" and anchor not in _anchors(resolved)):
            broken.append(target)
    assert not broken, f"{page.name}: {broken}"


def test_readme_is_short():
    assert len((REPO_ROOT / "README.md").read_text().splitlines()) <= 220


def test_each_figure_has_one_home():
    homes: dict[str, set[str]] = defaultdict(set)
    for page in PAGES:
        for figure in FIGURE.findall(_prose(page)):
            homes[figure.replace(" ", "")].add(page.name)
    repeated = {
        figure: sorted(pages)
        for figure, pages in homes.items()
        if len(pages) > 1 and (figure, tuple(sorted(pages))) not in COINCIDENCES
    }
    assert not repeated, f"figures on more than one page (link to one home instead): {repeated}"
