"""Where the external tools are: g++, the ap_types headers, and the Xilinx HLS tools.

Found without importing hls4ml (its import pulls in TensorFlow), so `triggerml info` and the
fixed-point check stay fast.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

HLS_TOOLS = ("vitis-run", "vitis_hls", "vivado_hls")
"""HLS tool executables, newest first."""

TOOL_ENV_VARS = {
    "vitis-run": "XILINX_HLS",
    "vitis_hls": "XILINX_HLS",
    "vivado_hls": "XILINX_VIVADO",
}
"""Environment variable naming each tool's installation folder (its `bin/` holds the tool)."""


class ToolNotFoundError(RuntimeError):
    """An external tool the command needs is not installed; the message says what to do."""


def find_cxx() -> str:
    """Path of the C++ compiler (``$CXX`` or g++)."""
    candidate = os.environ.get("CXX", "g++")
    path = shutil.which(candidate)
    if path is None:
        raise ToolNotFoundError(
            f"C++ compiler {candidate!r} not found: install g++ (e.g. `apt-get install g++`) "
            "or set CXX"
        )
    return path


def package_dir(name: str) -> Path | None:
    """Folder of an installed package, found without importing it."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def ap_types_dir() -> Path:
    """The ``ap_types`` headers (ap_fixed.h, ap_int.h) that ship inside hls4ml."""
    root = package_dir("hls4ml")
    if root is None:
        raise ToolNotFoundError("hls4ml is not installed: `pip install 'hls4ml>=1.3,<1.4'`")
    headers = root / "templates" / "vivado" / "ap_types"
    if not (headers / "ap_fixed.h").is_file():
        raise ToolNotFoundError(f"ap_fixed.h not found under {headers}: reinstall hls4ml")
    return headers


@dataclass(frozen=True)
class HlsTool:
    name: str
    path: str | None
    env_var: str
    env_value: str | None

    @property
    def found(self) -> bool:
        return self.path is not None


def locate_hls_tool(name: str) -> HlsTool:
    """Look for an HLS tool on PATH, then under its installation variable."""
    env_var = TOOL_ENV_VARS[name]
    env_value = os.environ.get(env_var) or None
    path = shutil.which(name)
    if path is None and env_value:
        candidate = Path(env_value) / "bin" / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            path = str(candidate)
    return HlsTool(name, path, env_var, env_value)


def hls_tools() -> list[HlsTool]:
    return [locate_hls_tool(name) for name in HLS_TOOLS]


def compile_cxx(
    main: Path,
    folder: Path,
    name: str,
    includes: list[Path],
    flags: list[str],
    depends: list[Path] | None = None,
) -> Path:
    """g++ ``main`` into ``folder/name_<hash>`` once per distinct source (hash of ``main``,
    ``depends`` and the flags); the binary appears atomically (compiled to a partial name,
    then renamed), so concurrent runs never see half a file."""
    import hashlib
    import subprocess

    payload = b"".join(p.read_bytes() for p in [main, *(depends or [])]) + " ".join(flags).encode()
    digest = hashlib.sha256(payload).hexdigest()[:16]
    folder.mkdir(parents=True, exist_ok=True)
    binary = folder / f"{name}_{digest}"
    if binary.exists():
        return binary
    partial = folder / f".{binary.name}.{os.getpid()}.partial"
    cmd = [find_cxx(), *flags, *(f"-I{d}" for d in includes), str(main), "-o", str(partial)]
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"g++ failed on {main.name}:\n{result.stderr[-3000:]}")
    partial.replace(binary)
    return binary


def compile_testbench(
    source_dir: Path, name: str, optimization: str, cache_dir: Path | None = None
) -> Path:
    """g++ a firmware block's test bench ``source_dir/<name>_tb.cpp`` (its header
    ``<name>.h``) against hls4ml's ap_types headers, cached per source hash in
    ``cache_dir`` (default: the temporary folder's ``triggerml-<name>``)."""
    import tempfile

    return compile_cxx(
        source_dir / f"{name}_tb.cpp",
        cache_dir or Path(tempfile.gettempdir()) / f"triggerml-{name}",
        f"{name}_tb",
        [ap_types_dir(), source_dir],
        ["-std=c++14", optimization, "-w"],
        depends=[source_dir / f"{name}.h"],
    )
