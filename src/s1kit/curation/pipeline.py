"""The curation pipeline: ingest -> dedup -> decontam -> quality -> difficulty -> diversity.

Each stage is a function from rows to rows (plus the rows it dropped, with a reason); ``stages``
picks a subset (ingest always runs). The output folder gets ``selected.jsonl`` (s1K schema),
optionally ``selected.parquet``, ``dropped.jsonl`` (stage, reason, detail), ``report.json`` (funnel,
reasons, decontamination hits, domains, trace lengths, seed) and two histograms. Nothing in these
files depends on the clock or the machine, so the same input, options and seed give the same bytes.

Example:
    >>> opts = CurateOptions(inputs=("traces.jsonl",), out=Path("s1k"), size=1000,
    ...                      solvers=("hf:/models/qwen-7b",), classifier="default")  # doctest: +SKIP
    >>> report = run_pipeline(opts)  # doctest: +SKIP
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from s1kit.curation.decontam import DecontamConfig, decontaminate
from s1kit.curation.dedup import DedupConfig, dedup
from s1kit.curation.difficulty import DifficultyConfig, difficulty, tokenizer_length
from s1kit.curation.diversity import classify, msc_titles
from s1kit.curation.ingest import ingest
from s1kit.curation.quality import QualityConfig, quality
from s1kit.curation.records import Dropped, Row, drop
from s1kit.curation.report import write_histograms
from s1kit.curation.sampler import sample_diverse, trace_length
from s1kit.curation.specs import parse_spec
from s1kit.errors import S1kitError

Stage = Literal["ingest", "dedup", "decontam", "quality", "difficulty", "diversity"]
STAGES: tuple[str, ...] = ("ingest", "dedup", "decontam", "quality", "difficulty", "diversity")
S1K_FIELDS = (
    "question",
    "solution",
    "cot_type",
    "source_type",
    "metadata",
    "thinking_trajectories",
    "attempt",
)
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class CurateOptions:
    """Everything a curation run depends on (recorded in ``report.json``)."""

    inputs: tuple[str, ...]
    out: Path
    size: int | None = None
    seed: int = 0
    stages: tuple[str, ...] = STAGES
    mapping: dict[str, str] = field(default_factory=dict)
    solvers: tuple[str, ...] = ()
    classifier: str | None = None
    tokenizer: str | None = None
    parquet: bool = False
    dedup: DedupConfig = field(default_factory=DedupConfig)
    decontam: DecontamConfig = field(default_factory=DecontamConfig)
    quality: QualityConfig = field(default_factory=QualityConfig)
    difficulty: DifficultyConfig = field(default_factory=DifficultyConfig)

    def __post_init__(self) -> None:
        # the plain mistakes first (a missing input, a bad number), then what a stage needs
        if not self.inputs:
            raise S1kitError("no --input: expected a pool or traces file or folder")
        if self.size is not None and self.size < 1:
            raise S1kitError(f"--size {self.size} is invalid: expected a positive integer")
        unknown = [s for s in self.stages if s not in STAGES]
        if unknown:
            raise S1kitError(f"--stages has unknown stage(s) {unknown}: expected names from {list(STAGES)}")
        if "difficulty" in self.stages and not self.solvers:
            raise S1kitError("the difficulty stage needs --solvers SPEC[,SPEC] (or leave it out of --stages)")
        if "diversity" in self.stages and self.size is None:
            raise S1kitError("the diversity stage needs --size N (or leave it out of --stages)")

    def describe(self) -> dict[str, Any]:
        d = asdict(self)
        del d["out"]  # the report lives there; leaving it out lets two folders compare byte for byte
        d["inputs"] = list(self.inputs)
        return json.loads(json.dumps(d, default=str))


@dataclass
class RunState:
    rows: list[Row]
    dropped: list[Dropped] = field(default_factory=list)
    funnel: list[dict[str, Any]] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def step(self, stage: str, kept: list[Row], dropped: list[Dropped]) -> None:
        self.rows = kept
        self.dropped.extend(dropped)
        self.funnel.append({"stage": stage, "rows": len(kept), "dropped": len(dropped)})


def run_pipeline(
    opts: CurateOptions, *, loaded: dict[str, Any] | None = None, progress: Progress | None = None
) -> dict[str, Any]:
    """Run the chosen stages and write the output folder; returns the report.

    ``loaded`` maps a model spec to an already-loaded Generator (so one model can serve as solver
    and classifier without loading twice).
    """
    loaded = dict(loaded or {})  # one load per model spec, shared by the solver and classifier stages
    res = ingest(list(opts.inputs), opts.mapping)
    state = RunState(rows=res.rows)
    state.dropped.extend(
        Dropped("ingest", "malformed", f"{Path(m.file).name}:{m.line}", f"line {m.line}: {m.reason}")
        for m in res.malformed
    )
    state.funnel.append({"stage": "ingest", "rows": len(res.rows), "dropped": len(res.malformed)})
    if "dedup" in opts.stages:
        state.step("dedup", *dedup(state.rows, opts.dedup))
    if "decontam" in opts.stages:
        kept, dropped, hits = decontaminate(state.rows, opts.decontam)
        state.step("decontam", kept, dropped)
        state.extra["decontamination"] = hits.to_dict()
    if "quality" in opts.stages:
        state.step("quality", *quality(state.rows, opts.quality))
    unit = "characters"
    if "difficulty" in opts.stages:
        refs = [parse_spec(s) for s in opts.solvers]
        length = tokenizer_length(opts.tokenizer) if opts.tokenizer else None
        unit = f"tokens ({Path(opts.tokenizer).name})" if opts.tokenizer else unit
        kept, dropped = difficulty(
            state.rows, refs, opts.out, opts.difficulty, length=length, loaded=loaded, progress=progress
        )
        state.step("difficulty", kept, dropped)
    selected = state.rows
    if "diversity" in opts.stages:
        assert opts.size is not None  # checked in CurateOptions
        if opts.size > len(state.rows):
            raise S1kitError(
                f"--size {opts.size} is larger than the {len(state.rows)} rows that survive "
                f"{' -> '.join(f['stage'] for f in state.funnel)}"
            )
        ref = parse_spec(opts.classifier) if opts.classifier else None
        model = loaded.get(ref.spec) if ref else None
        classified, how = classify(state.rows, ref, opts.out, loaded=model, progress=progress)
        selected, picks = sample_diverse(classified, opts.size, opts.seed)
        state.extra["classification"] = how
        state.extra["sampler_ranks"] = dict(sorted(Counter(min(p.rank, 10) for p in picks).items()))
        chosen = {id(r) for r in selected}
        not_sampled = [
            drop(r, "diversity", "not_sampled", f"domain {r.domain}")
            for r in classified
            if id(r) not in chosen
        ]
        state.step("diversity", selected, not_sampled)
    return write_outputs(opts, state, selected, unit)


def write_outputs(opts: CurateOptions, state: RunState, selected: list[Row], unit: str) -> dict[str, Any]:
    out = opts.out
    out.mkdir(parents=True, exist_ok=True)
    records = [r.to_s1k() for r in selected]
    with (out / "selected.jsonl").open("w", encoding="utf-8") as f:
        for rec in records:
            f.write(json.dumps(rec, ensure_ascii=False, sort_keys=False) + "\n")
    if opts.parquet:
        write_parquet(records, out / "selected.parquet")
    with (out / "dropped.jsonl").open("w", encoding="utf-8") as f:
        for d in state.dropped:
            f.write(json.dumps(d.to_dict(), ensure_ascii=False) + "\n")
    reasons: dict[str, Counter[str]] = {}
    for d in state.dropped:
        reasons.setdefault(d.stage, Counter())[d.reason] += 1
    titles = msc_titles()
    domains = Counter(r.domain for r in selected if r.domain is not None)
    lengths = [trace_length(r) for r in selected]
    report: dict[str, Any] = {
        "seed": opts.seed,
        "stages": [s for s in STAGES if s in opts.stages or s == "ingest"],
        "funnel": state.funnel,
        "selected": len(selected),
        "dropped_by_reason": {k: dict(sorted(v.items())) for k, v in reasons.items()},
        "malformed_rows": sum(1 for d in state.dropped if d.reason == "malformed"),
        **state.extra,
        "domains": {k: {"title": titles.get(k, k), "rows": v} for k, v in sorted(domains.items())},
        "trace_length": _length_summary(lengths, unit),
        "options": opts.describe(),
        "files": ["selected.jsonl", "dropped.jsonl", "report.json"]
        + (["selected.parquet"] if opts.parquet else []),
    }
    report["files"] += write_histograms(out, domains, lengths, unit)
    (out / "report.json").write_text(
        json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    return report


def _length_summary(lengths: list[int], unit: str) -> dict[str, Any]:
    if not lengths:
        return {"unit": unit, "rows": 0}
    s = sorted(lengths)
    return {
        "unit": unit,
        "rows": len(s),
        "min": s[0],
        "median": s[len(s) // 2],
        "max": s[-1],
        "mean": round(sum(s) / len(s), 1),
    }


def write_parquet(records: list[dict[str, Any]], path: Path) -> None:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        from s1kit.errors import MissingExtraError

        raise MissingExtraError("--parquet", "curate", "pyarrow") from None
    cols = {k: [r[k] for r in records] for k in S1K_FIELDS}
    cols["metadata"] = [json.dumps(m, ensure_ascii=False, sort_keys=True) for m in cols["metadata"]]
    table = pa.table(
        cols,
        schema=pa.schema(
            [(k, pa.list_(pa.string()) if k == "thinking_trajectories" else pa.string()) for k in S1K_FIELDS]
        ),
    )
    pq.write_table(table, path)
