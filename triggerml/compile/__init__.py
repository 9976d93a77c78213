"""Model → firmware: hls4ml conversion (through the Keras-2 shim), C simulation, synthesis."""


def emulator_for(hls_model: object, work_dir: str | None = None) -> object:
    """The emulator of an in-memory hls4ml ModelGraph (its project must be written)."""
    import tempfile
    from pathlib import Path

    from triggerml.compile.export import export_graph
    from triggerml.emulator import load_emulator

    folder = Path(work_dir or tempfile.mkdtemp(prefix="triggerml-emulator-"))
    export_graph(hls_model, folder / "emulation")
    return load_emulator(folder)
