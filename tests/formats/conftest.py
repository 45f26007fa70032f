"""Tiny models of every chat family, built once per session: transformers folders and GGUF files."""

from __future__ import annotations

import pytest
from tests.formats.families import FAMILIES, build_model_folder, write_gguf


@pytest.fixture(scope="session")
def family_models(tmp_path_factory):
    """``name -> (folder, gguf path or None)``, built on first use."""
    root = tmp_path_factory.mktemp("families")
    built: dict[str, tuple] = {}

    def get(name: str, *, gguf: bool = False):
        if name not in built:
            built[name] = (build_model_folder(FAMILIES[name], root / name), None)
        folder, path = built[name]
        if gguf and path is None:
            pytest.importorskip("gguf")
            path = write_gguf(folder, root / f"{name}.gguf")
            built[name] = (folder, path)
        return built[name]

    return get


@pytest.fixture(scope="package", autouse=True)
def one_torch_thread():
    """Tiny models decode fastest on one thread, and the machine is shared; restored afterwards."""
    torch = pytest.importorskip("torch")
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
