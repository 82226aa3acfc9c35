"""CSV files for users to open in a spreadsheet, with no cell that runs as a formula.

A cell that starts with =, +, -, @, a tab or a carriage return is a formula to Excel and LibreOffice ("CSV
injection", OWASP): =HYPERLINK(...) in a user's text would become a live link in whoever opens the results. Such a
cell is written with a leading apostrophe, which spreadsheets read as "this is text" and do not show. Plain numbers
(-0.5) are left as they are: they are never formulas. JSON and JSONL files keep every value exactly.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from pathlib import Path

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def spreadsheet_safe(cell: str) -> str:
    """The cell as a spreadsheet shows it but never evaluates it."""
    first = cell.lstrip(" ")[:1]
    if first and first in FORMULA_STARTS and not _NUMBER.fullmatch(cell.strip()):
        return "'" + cell
    return cell


def write_csv(path: str | Path, header: list[str], rows: Iterable[list[str]]) -> None:
    """A UTF-8 CSV of the header and rows, every cell spreadsheet-safe."""
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow([spreadsheet_safe(name) for name in header])
        writer.writerows([spreadsheet_safe(cell) for cell in row] for row in rows)
