"""tools/check_duplicates.py: the pairs `duplicates` reports are named by the definitions
they stand in, and the allowlist names only definitions that exist."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tools"))

import check_duplicates  # noqa: E402

SOURCE = """import os
from math import (
    pi,
    tau,
)

LIMIT = 3


@decorated
def first(a, b):
    return a + b


class Thing:
    size: int = 2

    def method(self):
        return self.size
"""


def test_a_range_is_named_by_the_definition_it_starts_in() -> None:
    at = check_duplicates.symbol_at
    assert at(SOURCE, 2, 5) == "<imports>"
    assert at(SOURCE, 7, 7) == "LIMIT"
    assert at(SOURCE, 10, 12) == "first"  # from the decorator on
    assert at(SOURCE, 18, 19) == "Thing.method"
    assert at(SOURCE, 15, 19) == "Thing"  # the class body beside its method
    assert at(SOURCE, 8, 12) == "first"  # blank lines before a definition: the next one


def test_a_report_becomes_pairs_of_symbols_and_unlisted_pairs_are_not_allowed(
    tmp_path: Path,
) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "a.py").write_text(SOURCE)
    (tmp_path / "b.py").write_text("def other():\n    return 1\n")
    report = (
        "2 pairs of places (2 files read), ...\n"
        "D1 pkg/a.py:18-19 ~ b.py:1-2 shape\n"
        "D2 b.py:1-2 ~ pkg/a.py:10-12\n"
        "left out: 1 run\n"
    )
    pairs = check_duplicates.parse_report(report, tmp_path)
    assert [p.key for p in pairs] == [
        ("b.py::other", "pkg/a.py::Thing.method"),
        ("b.py::other", "pkg/a.py::first"),
    ]
    allowlist = tmp_path / "allow.txt"
    allowlist.write_text("# twins\npkg/a.py::first ~ b.py::other  # order free\n")
    allowed = check_duplicates.load_allowlist(allowlist)
    assert [p.key in allowed for p in pairs] == [False, True]
    assert check_duplicates.stale_entries(allowed, tmp_path) == []
    allowlist.write_text("pkg/a.py::gone ~ b.py::other\n")
    stale = check_duplicates.stale_entries(check_duplicates.load_allowlist(allowlist), tmp_path)
    assert stale == ["pkg/a.py::gone"]
    allowlist.write_text("pkg/a.py::first b.py::other\n")
    with pytest.raises(ValueError, match=r"allow\.txt:1"):
        check_duplicates.load_allowlist(allowlist)


def test_the_committed_allowlist_names_existing_definitions_only() -> None:
    allowed = check_duplicates.load_allowlist()
    assert allowed
    assert check_duplicates.stale_entries(allowed) == []
