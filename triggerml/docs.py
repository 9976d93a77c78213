"""The user-facing config references in ``docs/``, generated from the config dataclasses
themselves (keys, types, defaults and the comment beside each field), so the documentation
cannot drift from the code: ``python -m triggerml.docs`` rewrites them and a test checks
that the committed files equal what the code generates."""

from __future__ import annotations

import dataclasses
import enum
import inspect
import re
import sys
import typing
from pathlib import Path
from typing import Any

DOCS_DIR = Path(__file__).resolve().parents[1] / "docs"
_FIELD = re.compile(r"^\s{4}(\w+)\s*:\s*[^=#]+(?:=[^#]*)?(?:#\s*(.*))?$")


def _comments(cls: type) -> dict[str, str]:
    """The comment on each field's line, or on the comment lines just above it."""
    try:
        lines = inspect.getsource(cls).splitlines()
    except (OSError, TypeError):
        return {}
    out: dict[str, str] = {}
    above: list[str] = []
    for line in lines[1:]:
        stripped = line.strip()
        if line.startswith(("    def ", "    @")):
            break
        if stripped.startswith("#") and line.startswith("    ") and not line.startswith("     "):
            above.append(stripped.lstrip("# ").strip())
            continue
        match = _FIELD.match(line)
        if match:
            text = " ".join(filter(None, [*above, (match.group(2) or "").strip()]))
            out[match.group(1)] = text
        above = []
    return out


def _type_name(hint: Any) -> str:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin is None:
        if isinstance(hint, type) and issubclass(hint, enum.Enum):
            return " \\| ".join(str(m.value) for m in hint)
        return getattr(hint, "__name__", str(hint))
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        return " or ".join(_type_name(a) for a in args)
    if origin is tuple:
        inner = [a for a in args if a is not Ellipsis]
        return "list of " + " / ".join(_type_name(a) for a in inner)
    if origin is dict:
        return f"mapping {_type_name(args[0])} → {_type_name(args[1])}"
    return str(hint)


def _plain(value: Any) -> str:
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, tuple | list):
        return "[" + ", ".join(_plain(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_plain(v)}" for k, v in value.items()) + "}"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _default(f: dataclasses.Field) -> str:
    if f.default is not dataclasses.MISSING:
        return f"`{_plain(f.default)}`"
    if f.default_factory is not dataclasses.MISSING:
        value = f.default_factory()
        if dataclasses.is_dataclass(value):
            return "(section)"
        return f"`{_plain(value)}`"
    return "required"


def table(cls: type, prefix: str = "", instance: Any = None) -> list[str]:
    """One row per key of ``cls`` (nested dataclasses expanded as ``section.key``, with the
    defaults of the section its parent makes, e.g. a logit quantizer's own bit counts)."""
    hints = typing.get_type_hints(cls)
    comments = _comments(cls)
    rows: list[str] = []
    nested: list[tuple[str, type, Any]] = []
    for f in dataclasses.fields(cls):
        hint = hints[f.name]
        key = f"{prefix}{f.name}"
        if dataclasses.is_dataclass(hint):
            made = getattr(instance, f.name) if instance is not None else None
            if made is None and f.default_factory is not dataclasses.MISSING:
                made = f.default_factory()
            nested.append((key, hint, made))  # type: ignore[arg-type]
            rows.append(f"| `{key}` | section | | {_cell(comments.get(f.name, ''))} |")
            continue
        default = _default(f) if instance is None else f"`{_plain(getattr(instance, f.name))}`"
        meaning = _cell(comments.get(f.name, ""))
        rows.append(f"| `{key}` | {_type_name(hint)} | {default} | {meaning} |")
    for key, sub, made in nested:
        rows += table(sub, f"{key}.", made)
    return rows


HEADER = ["| key | type | default | meaning |", "|---|---|---|---|"]


def scenario_reference() -> str:
    from triggerml.trigger.scenario import StudyScenario

    return "\n".join(
        [
            "# Study scenario reference (`emulation/*.yaml`)",
            "",
            "Generated from `triggerml.trigger.scenario.StudyScenario` by "
            "`python -m triggerml.docs`; a test checks it equals the code. Keys not given "
            "take the default shown; unknown keys are an error naming the key. Paths "
            "(`model`, `firmware`) resolve against the current working directory, not the "
            "scenario file's folder: run studies from the repository root (or give absolute "
            "paths).",
            "",
            *HEADER,
            *table(StudyScenario),
            "",
        ]
    )


def dataset_reference() -> str:
    from triggerml.nn.dataset import DatasetConfig

    return "\n".join(
        [
            "# Training-set reference (`models/dataset*.yaml`)",
            "",
            "Generated from `triggerml.nn.dataset.DatasetConfig` by `python -m triggerml.docs`; "
            "a test checks it equals the code.",
            "",
            *HEADER,
            *table(DatasetConfig),
            "",
        ]
    )


def model_reference() -> str:
    from triggerml.nn.zoo import ModelConfig

    return "\n".join(
        [
            "# Zoo model reference (`models/<name>.yaml`)",
            "",
            "Generated from `triggerml.nn.zoo.ModelConfig` by `python -m triggerml.docs`; a "
            "test checks it equals the code. `layers` is a list of `{type: …}` maps (dense, "
            "conv1d, conv2d, relu, maxpool1d, maxpool2d, flatten; `bits`/`integer` set their "
            "quantizers). `dataset` resolves against the current working directory.",
            "",
            *HEADER,
            *table(ModelConfig),
            "",
        ]
    )


def sweep_reference() -> str:
    from triggerml.sweep.spec import SweepSpec

    return "\n".join(
        [
            "# Sweep spec reference (`emulation/sweep_*.yaml`)",
            "",
            "Generated from `triggerml.sweep.spec.SweepSpec` by `python -m triggerml.docs`; a "
            "test checks it equals the code. A point is one combination of `axes`; "
            "`weight_bits` sets every Dense/Conv weight quantizer, `activation_bits` every "
            "ReLU's (integer bits capped at bits − 1). Every point is fine-tuned from "
            "`weights`, built (C-sim and emulator verdicts), costed, and judged on the "
            "`validation` stream (a study scenario, recorded once). Paths resolve against the "
            "current working directory. What `triggerml sweep` writes: `docs/sweep_output.md`.",
            "",
            *HEADER,
            *table(SweepSpec),
            "",
        ]
    )


def _cell(text: object) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def _option_default(param: Any) -> str:
    default = param.default
    if default is None or callable(default) or getattr(param, "required", False):
        return "—"
    if isinstance(default, bool):
        return "on" if default else "off"
    if isinstance(default, enum.Enum):
        default = default.value
    return f"`{default}`"


def cli_reference() -> str:
    """Every command with its arguments and options, from the typer app itself."""
    import typer

    from triggerml.cli import app

    lines = [
        "# Command-line reference (`triggerml …`)",
        "",
        "Generated from the command line itself (`triggerml.cli`) by `python -m "
        "triggerml.docs`; a test checks it equals the code. `triggerml COMMAND --help` "
        "prints the same. Exit codes: 0 done; 1 the work failed (one line, no traceback; "
        "`--debug` shows it); 2 a usage error (unknown option, bad value, refused request); "
        "3 a tool the command needs (Vivado/Vitis HLS) is missing; 130/143 interrupted by "
        "SIGINT/SIGTERM (finished tasks kept, partial outputs discarded).",
        "",
    ]

    def render(command: Any, path: list[str]) -> None:
        from typer import _click

        context = _click.Context(command)
        lines.append(f"## `triggerml {' '.join(path)}`")
        lines.append("")
        lines.append(_cell(inspect.cleandoc(command.help or "")))
        lines.append("")
        rows = []
        for param in command.params:
            if param.name == "help":
                continue
            if param.param_type_name == "argument":
                name = f"`{(param.metavar or param.name or '').upper()}` (argument)"
            else:
                name = ", ".join(f"`{opt}`" for opt in [*param.opts, *param.secondary_opts])
            kind = param.display_type(context).strip("<>")
            kind = "flag" if kind == "bool" else kind
            rows.append(
                f"| {name} | {_cell(kind)} | {_option_default(param)} | "
                f"{_cell(getattr(param, 'help', '') or '')} |"
            )
        if rows:
            lines.extend(["| argument / option | type | default | meaning |", "|---|---|---|---|"])
            lines.extend(rows)
            lines.append("")

    def walk(group: Any, path: list[str]) -> None:  # typer's own (vendored) click classes
        for name in sorted(group.commands):
            command = group.commands[name]
            if hasattr(command, "commands"):
                walk(command, [*path, name])
            else:
                render(command, [*path, name])

    walk(typer.main.get_command(app), [])
    return "\n".join(lines)


REFERENCES = {
    "scenario.md": scenario_reference,
    "dataset.md": dataset_reference,
    "model.md": model_reference,
    "sweep.md": sweep_reference,
    "cli.md": cli_reference,
}


def main() -> None:
    DOCS_DIR.mkdir(exist_ok=True)
    for name, render in REFERENCES.items():
        (DOCS_DIR / name).write_text(render())
        sys.stdout.write(f"wrote {DOCS_DIR / name}\n")


if __name__ == "__main__":
    main()
