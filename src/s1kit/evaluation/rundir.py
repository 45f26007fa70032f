"""The run folder of an evaluation: its configuration, its records (resumable) and its summary.

A run folder holds:

* ``config.yaml`` — the resolved configuration (``identity``: everything that decides the records, and
  its ``fingerprint``; ``resolved``: the reasoning format, engine and model actually used; ``versions``);
* ``records.jsonl`` — one JSON object per problem × setting × sample, appended and flushed (fsync) as
  each batch finishes;
* ``summary.json`` and PNG plots, recomputed from the records (:mod:`s1kit.evaluation.metrics`, :mod:`s1kit.evaluation.plots`);
* ``servers.json`` (a sweep over servers only) — per server: requests, failures, completion tokens and
  tokens/s, one entry per session (a resumed run adds one).

Record schema (one line of ``records.jsonl``):

============== =================================================================================
key            ``"<problem_id>|<setting id>|<sample>"``, unique in the file
problem_id     the task's problem id (GPQA: its Record ID; the question text is never recorded)
setting        ``{"id", "method", "label", "budget": Budget.to_dict() or null, "params": {...}}``
method         the setting's method name (``"budget_forcing"``; other methods register in ``METHODS``)
sample         sample index, 0 .. samples-1
gold           the gold answer
extracted      the graded answer text, or null
correct        the verdict (bool)
grade_source   ``"answer"``, ``"thinking"`` (fallback: the answer part gave nothing) or ``"none"``
grade_timed_out  grading passed its per-item timeout (graded wrong)
grade_error    why grading itself failed (a worker crash, a parser error), else null: never a plain wrong
thinking, answer       the generated text (answer includes a forced primer)
thinking_tokens, answer_tokens, prompt_tokens, forced_end, ignored_stops, finish_reason
events         forcing events (``ForcingEvent.to_dict()``), timings (``Timings.to_dict()``)
seed           the sampling seed of the batch this sample was generated in
meta           problem metadata (MATH500: subject, level)
============== =================================================================================

One writer at a time: :func:`lock_run_dir` holds an exclusive ``fcntl.flock`` on ``.lock`` (which holds
the writer's PID) for as long as a run writes the folder; a second run on the same folder is refused
with a one-line error naming that PID. The kernel drops the lock when its holder exits, however it
exits (a crash, ``kill -9``), so a stale ``.lock`` never blocks the next run.

Resumption: work is cut into fixed batches (by setting, sample and problem order), each with a seed
derived from the run's seed, so a batch regenerated after a crash is the batch an uninterrupted run
would have generated; only missing records are written. A torn last line (a kill mid-write) is cut.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from s1kit.errors import S1kitError

CONFIG, RECORDS, SUMMARY, LOCK = "config.yaml", "records.jsonl", "summary.json", ".lock"
SERVERS = "servers.json"


def fingerprint(identity: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:16]


# What a record needs for metrics, plots and reports (older fields may be absent from old runs).
RECORD_FIELDS = ("key", "problem_id", "setting", "sample", "gold", "extracted", "correct", "thinking_tokens")


def read_config(out: Path) -> dict[str, Any]:
    """``config.yaml`` of a run folder ({} when absent); a corrupt one is a one-line S1kitError."""
    path = out / CONFIG
    if not path.is_file():
        return {}
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as e:
        where = getattr(e, "problem_mark", None)
        at = f" (line {where.line + 1})" if where is not None else ""
        raise S1kitError(f"{path} is not valid YAML{at}: the run folder is corrupt") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("identity", {}), dict):
        raise S1kitError(f"{path} is not an s1kit run configuration (expected a mapping with 'identity')")
    return doc


def check_records(records: list[dict[str, Any]], path: Path) -> None:
    """Refuse records a report cannot read (hand-edited or from another tool), naming the first."""
    for n, rec in enumerate(records, start=1):
        missing = [k for k in RECORD_FIELDS if k not in rec]
        if missing or not isinstance(rec.get("setting"), dict) or "id" not in rec["setting"]:
            what = f"lacks {', '.join(missing)}" if missing else "has no setting id"
            raise S1kitError(
                f"{path} record {n} ({str(rec.get('key'))[:60]}) {what}: not an s1kit eval record"
            )


def check_run_dir(out: Path, identity: dict[str, Any]) -> None:
    """Refuse a folder written by another configuration (or holding foreign files)."""
    if out.exists() and not out.is_dir():
        raise S1kitError(f"run folder {out} is a file: expected a folder (new or an s1kit run folder)")
    cfg = out / CONFIG
    if cfg.is_file():
        old = read_config(out).get("identity") or {}
        if fingerprint(old) != fingerprint(identity):
            diff = sorted(k for k in set(old) | set(identity) if old.get(k) != identity.get(k))
            raise S1kitError(
                f"run folder {out} was written by another configuration (differs in {', '.join(diff)}): "
                "use a new --out folder"
            )
    elif out.exists() and any(p.name != LOCK for p in out.iterdir()):
        raise S1kitError(
            f"run folder {out} is not empty and has no {CONFIG}: expected a new or s1kit run folder"
        )


@contextlib.contextmanager
def lock_run_dir(out: Path, identity: dict[str, Any]) -> Iterator[Path]:
    """Check ``out`` against ``identity``, create it and hold its lock while the block runs.

    Raises S1kitError (one line) when the folder is not a usable run folder or another process holds it.
    """
    check_run_dir(out, identity)
    try:
        out.mkdir(parents=True, exist_ok=True)
        fd = os.open(out / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as e:
        raise S1kitError(f"cannot write the run folder {out}: {e.strerror or e}") from None
    try:
        try:
            import fcntl  # POSIX; elsewhere runs are not locked
        except ImportError:
            yield out
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            if e.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                raise
            holder = os.pread(fd, 64, 0).decode("ascii", "replace").strip() or "unknown"
            raise S1kitError(
                f"run folder {out} is in use by another run (PID {holder}): wait for it to finish, "
                "or use another --out folder"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        check_run_dir(out, identity)  # another run may have written the folder before we held it
        yield out
    finally:
        os.close(fd)  # releases the lock; the file stays (removing it would race with a waiting run)


def read_records(path: Path, *, repair: bool = False) -> list[dict[str, Any]]:
    """Records of a run; a torn last line is skipped (and cut from the file with ``repair``).

    Lines are written whole with their newline, so a kill mid-write leaves a last line without one.
    Duplicate keys (never written by the runner) keep their first record.
    """
    if not path.is_file():
        return []
    data = path.read_bytes()
    *complete, tail = data.split(b"\n")
    records: list[dict[str, Any]] = []
    seen: set[str] = set()
    good_end = 0
    for n, line in enumerate(complete, start=1):
        try:
            rec = json.loads(line) if line.strip() else None
        except (json.JSONDecodeError, UnicodeDecodeError):
            if n == len(complete) and not tail.strip():
                break  # a garbled last line: redo it
            raise S1kitError(f"{path} line {n} is not valid JSON: the run folder is corrupt") from None
        if rec is not None and (not isinstance(rec, dict) or not isinstance(rec.get("key"), str)):
            raise S1kitError(f"{path} line {n} is not a record (expected an object with a 'key')")
        good_end += len(line) + 1
        if rec is not None and rec["key"] not in seen:
            seen.add(rec["key"])
            records.append(rec)
    if repair and good_end < len(data):
        with path.open("r+b") as f:
            f.truncate(good_end)
    return records


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for pkg in ("s1kit", "math-verify", "llama-cpp-python", "transformers", "torch", "sympy"):
        with contextlib.suppress(PackageNotFoundError):
            out[pkg] = version(pkg)
    if "s1kit" not in out:
        from s1kit import __version__

        out["s1kit"] = __version__
    return out


def _model_version(model: str) -> dict[str, Any]:
    """Which model file or folder was used: path, size and (files under 2 GiB) sha256."""
    from s1kit.backends.models import file_sha256, resolve_model

    try:
        spec = resolve_model(model)
    except S1kitError:
        return {}  # a server URL or a generator built in code
    info: dict[str, Any] = {"kind": spec.kind, "path": str(spec.path)}
    if spec.path.is_file():
        info["bytes"] = spec.path.stat().st_size
        if info["bytes"] < 2 << 30:
            info["sha256"] = file_sha256(spec.path)
    elif (spec.path / "config.json").is_file():
        info["config_sha256"] = hashlib.sha256((spec.path / "config.json").read_bytes()).hexdigest()
    return info


def _delimiters(gen: Any) -> dict[str, Any] | None:
    """The format's delimiters, end of turn and why it was chosen (None for a stand-in generator)."""
    from s1kit.forcing.choice import describe

    try:
        return describe(gen.tokenizer, gen.format, getattr(gen, "format_reason", None))
    except (AttributeError, TypeError):
        return None


def write_config(out: Path, identity: dict[str, Any], gen: Any) -> None:
    engine = gen.engine
    resolved = {
        "format": gen.format.name,
        "delimiters": _delimiters(gen),
        "engine": getattr(engine, "name", type(engine).__name__),
        "model_name": getattr(engine, "model_name", None),
        "model": _model_version(str(identity.get("model", ""))),
        "context_length": getattr(engine, "context_length", None),
    }
    if hasattr(engine, "describe"):  # engine options, and how a thinking cap is enforced (vllm)
        resolved["engine_options"] = engine.describe()
    doc = {
        "fingerprint": fingerprint(identity),
        "identity": identity,
        "resolved": resolved,
        "versions": _versions(),
    }
    tmp = out / (CONFIG + ".tmp")
    tmp.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True))
    os.replace(tmp, out / CONFIG)


def write_server_report(out: Path, engine: Any, session: str) -> None:
    """Per-server throughput of a sweep over several servers into ``servers.json`` (engines that report it)."""
    report = getattr(engine, "server_report", None)
    if report is None:
        return
    path = out / SERVERS
    try:
        doc = json.loads(path.read_text()) if path.is_file() else {}
    except json.JSONDecodeError:
        doc = {}
    sessions = [s for s in doc.get("sessions", []) if isinstance(s, dict) and s.get("session") != session]
    sessions.append({"session": session, **report()})
    tmp = out / (SERVERS + ".tmp")
    tmp.write_text(json.dumps({"sessions": sessions}, indent=2))
    os.replace(tmp, path)
