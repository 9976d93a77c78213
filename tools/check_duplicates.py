"""Copied code in ``triggerml/``: every pair the ``duplicates`` command reports must be a
deliberate twin listed in ``tools/duplicates_allowlist.txt``.

``duplicates`` (the tool library's command; not installed in CI) reports pairs of line
ranges; each side is named here by the top-level definition it starts in
(``path::Name`` or ``path::Class.method``), so the allowlist survives edits that move lines.
Run ``make duplicates``: it prints the pairs that are not allowed and exits 1 when there are
any, 0 when there are none, and 0 with a notice when the command is not installed.
"""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "triggerml"
ALLOWLIST = ROOT / "tools" / "duplicates_allowlist.txt"
ROW = re.compile(r"^D\d+ (\S+):(\d+)-(\d+) ~ (\S+):(\d+)-(\d+)")


@dataclass(frozen=True)
class Pair:
    a: str  # path::symbol, the smaller of the two first
    b: str
    row: str  # the duplicates line it came from

    @property
    def key(self) -> tuple[str, str]:
        return (self.a, self.b)


def _name(node: ast.stmt) -> str:
    """A top-level statement's name: the defined function, class or assigned targets;
    ``<imports>`` for an import, ``<line N>`` for anything else."""
    if isinstance(node, ast.Import | ast.ImportFrom):
        return "<imports>"
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return node.name
    if isinstance(node, ast.Assign | ast.AnnAssign):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        return ",".join(ast.unparse(t) for t in targets)
    return f"<line {node.lineno}>"


def _methods(node: ast.stmt) -> list[ast.FunctionDef]:
    return (
        [item for item in node.body if isinstance(item, ast.FunctionDef)]
        if isinstance(node, ast.ClassDef)
        else []
    )


def symbol_at(source: str, start: int, end: int) -> str:
    """The top-level definition (a class's method when the range is inside one) that lines
    ``start``–``end`` begin in; ``<imports>`` for import statements."""
    for node in ast.parse(source).body:
        first = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))])
        if node.end_lineno is None or node.end_lineno < start or first > end:
            continue
        for item in _methods(node):
            if item.lineno <= start and item.end_lineno is not None and end <= item.end_lineno:
                return f"{_name(node)}.{item.name}"
        return _name(node)
    return f"<line {start}>"


def parse_report(report: str, package: Path = PACKAGE) -> list[Pair]:
    """The pairs of a ``duplicates --repo triggerml`` report, each side by its symbol."""
    pairs = []
    for line in report.splitlines():
        match = ROW.match(line)
        if match is None:
            continue
        path_a, a0, a1, path_b, b0, b1 = match.groups()
        sides = sorted(
            f"{path}::{symbol_at((package / path).read_text(), int(s), int(e))}"
            for path, s, e in ((path_a, a0, a1), (path_b, b0, b1))
        )
        pairs.append(Pair(sides[0], sides[1], line))
    return pairs


def load_allowlist(path: Path = ALLOWLIST) -> set[tuple[str, str]]:
    """``a ~ b`` lines (order free); ``#`` starts a comment."""
    allowed = set()
    for number, raw in enumerate(path.read_text().splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        sides = [side.strip() for side in line.split("~")]
        if len(sides) != 2 or not all("::" in side for side in sides):
            raise ValueError(f"{path.name}:{number}: expected 'path::symbol ~ path::symbol'")
        low, high = sorted(sides)
        allowed.add((low, high))
    return allowed


def stale_entries(allowed: set[tuple[str, str]], package: Path = PACKAGE) -> list[str]:
    """Allowlist sides naming a file or a top-level symbol that no longer exists."""
    stale = []
    for side in sorted({s for pair in allowed for s in pair}):
        path, symbol = side.split("::")
        file = package / path
        if not file.is_file():
            stale.append(side)
            continue
        if symbol.startswith("<"):
            continue
        names = set()
        for node in ast.parse(file.read_text()).body:
            names.add(_name(node))
            names.update(f"{_name(node)}.{item.name}" for item in _methods(node))
        if symbol not in names:
            stale.append(side)
    return stale


def main() -> int:
    tool = shutil.which("duplicates")
    if tool is None:
        print("duplicates is not installed here: nothing checked")
        return 0
    report = subprocess.run(
        [tool, "--repo", str(PACKAGE), "--most", "200", "--seconds", "120"],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    ).stdout
    if "incomplete:" in report:
        print(report)
        return 1
    allowed = load_allowlist()
    stale = stale_entries(allowed)
    pairs = parse_report(report)
    unexpected = [pair for pair in pairs if pair.key not in allowed]
    for pair in unexpected:
        print(f"not allowed: {pair.a} ~ {pair.b}\n    {pair.row}")
    for side in stale:
        print(f"stale allowlist entry: {side} (no such file or symbol)")
    print(f"{len(pairs)} pairs, {len(pairs) - len(unexpected)} allowed, {len(unexpected)} not")
    return 1 if unexpected or stale else 0


if __name__ == "__main__":
    sys.exit(main())
