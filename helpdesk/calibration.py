"""`helpdesk calibrate` and the calibration after each ingest: fit the confidence gate on the published index and
publish it with the fit in its manifest (a new version, so the gate always matches the index it answers from).

The work is `assistant.calibration`'s; this module loads the index, counts the embedding calls, keeps the previous
fit when the new one separates nothing, and publishes (docs/decisions/0014).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from assistant.calibration import (
    MIN_AUROC,
    MIN_PAGES,
    Calibration,
    CalibrationInvalid,
    FileEmbeddingCache,
    collect_labelled,
    collect_pseudo,
    fit_calibration,
    parse_calibration,
)
from index_store.base import IndexStore
from index_store.format import IndexBundle, check_embedder, new_version_id
from ingest.embedders.base import Embedder, ServiceEmbedder

MIN_QUESTIONS = 10  # of each kind, covered and uncovered, for a fit


@dataclass
class CalibrationRun:
    status: str  # "fitted" (published), "kept" (the previous weights stay), "skipped" (nothing to fit on),
    # "off" (no refit at ingest: HELPDESK_SELF_CALIBRATION), "failed" (the ingest's index stands without a fit)
    message: str  # one line for a person
    index_version: str
    calls: int = 0  # embedding calls to a service (Titan) for pseudo-questions
    calibration: Calibration | None = None  # the new fit (also when it was not adopted)
    previous: Calibration | None = None
    questions: int = 0  # pseudo-questions made, or labelled questions read
    used: int = 0  # of those, fitted on

    def to_json(self) -> dict[str, Any]:
        fit = self.calibration
        return {
            "status": self.status,
            "message": self.message,
            "index_version": self.index_version,
            "calibration_calls": self.calls,
            "questions": self.questions,
            "questions_used": self.used,
            **(
                {
                    "source": fit.source,
                    "auroc": fit.auroc,
                    "uncovered_ticket_rate": fit.uncovered_ticket_rate,
                    "covered_ticket_rate": fit.covered_ticket_rate,
                    "threshold": fit.threshold,
                    "weights": fit.weights,
                    "target_covered": fit.target_covered,
                }
                if fit is not None
                else {}
            ),
        }


def cache_for(home: Path, embedder: Embedder) -> FileEmbeddingCache | None:
    """Where a service embedder's pseudo-question vectors are kept between runs; None for the local embedder."""
    if not isinstance(embedder, ServiceEmbedder):
        return None
    name = hashlib.sha256(f"{embedder.embedder_id}\n{embedder.dimension}".encode()).hexdigest()[:16]
    return FileEmbeddingCache(home / "calibration-cache" / f"{name}.npz")


def stored_calibration(bundle: IndexBundle) -> Calibration | None:
    """The index's own calibration when it is usable for its embedder, else None."""
    if bundle.calibration is None:
        return None
    try:
        fit = parse_calibration(bundle.calibration)
    except CalibrationInvalid:
        return None
    return fit if fit.embedder_id == bundle.embedder_id else None


def _calls(embedder: Embedder) -> int:
    return int(embedder.stats.snapshot().calls) if isinstance(embedder, ServiceEmbedder) else 0


def calibrate(
    store: IndexStore,
    embedder: Embedder,
    *,
    cache: FileEmbeddingCache | None = None,
    labelled: list[dict[str, Any]] | None = None,
    bundle: IndexBundle | None = None,
    previous: Calibration | None = None,
) -> CalibrationRun:
    """Fit on the published index (pseudo-questions, or `labelled` rows already checked against its pages) and
    publish the fit as a new version when it separates covered from uncovered (AUROC >= MIN_AUROC). Otherwise the
    previous calibration (the index's own, or `previous`: the one of the version an ingest just replaced) stays."""
    bundle = bundle or store.load(with_embeddings=True)
    check_embedder(
        {"embedder": {"id": bundle.embedder_id, "dimension": bundle.dimension}},
        embedder.embedder_id,
        embedder.dimension,
        store.location,
    )
    previous = stored_calibration(bundle) or (
        previous if previous is not None and previous.embedder_id == bundle.embedder_id else None
    )
    keep = "the previous calibration stays" if previous else "the gate keeps its fixed weights"
    if labelled is None and len(bundle.pages) < MIN_PAGES:
        return CalibrationRun(
            "skipped",
            f"calibration: {len(bundle.pages)} pages (fewer than {MIN_PAGES}) are too few to fit on; {keep}",
            bundle.version,
            previous=previous,
        )
    before = _calls(embedder)
    if labelled is None:
        collected = collect_pseudo(bundle, embedder, cache=cache)
        source = "pseudo"
    else:
        from assistant.retrieval import HybridRetriever

        collected = collect_labelled(HybridRetriever(bundle, embedder), labelled)
        source = "labelled"
    if cache is not None:
        cache.save()
    calls = _calls(embedder) - before
    counts = dict(questions=collected.questions if labelled is None else len(labelled), used=collected.used)
    if min(len(collected.covered), len(collected.uncovered)) < MIN_QUESTIONS:
        return CalibrationRun(
            "skipped",
            f"calibration: {len(collected.covered)} covered and {len(collected.uncovered)} uncovered questions "
            f"(fewer than {MIN_QUESTIONS} of each) are too few to fit on; {keep}",
            bundle.version,
            calls,
            previous=previous,
            **counts,
        )
    fit = fit_calibration(collected.covered, collected.uncovered, bundle.embedder_id, source=source)
    if not fit.auroc >= MIN_AUROC:
        version = bundle.version
        if previous is not None and stored_calibration(bundle) is None:  # an ingest dropped it: carry it over
            version = _publish(store, bundle, previous)
        return CalibrationRun(
            "kept",
            f"calibration: AUROC {fit.auroc:.3f} on {fit.covered} covered / {fit.uncovered} uncovered {source} "
            f"questions is below {MIN_AUROC}: it separates nothing, so {keep}",
            version,
            calls,
            fit,
            previous,
            **counts,
        )
    version = _publish(store, bundle, fit)
    return CalibrationRun(
        "fitted",
        f"calibrated the gate on {fit.covered} covered / {fit.uncovered} uncovered {source} questions: AUROC "
        f"{fit.auroc:.3f}, uncovered -> ticket {fit.uncovered_ticket_rate:.3f}, covered -> ticket "
        f"{fit.covered_ticket_rate:.3f} at threshold {fit.threshold:.4f}",
        version,
        calls,
        fit,
        previous,
        **counts,
    )


def _publish(store: IndexStore, bundle: IndexBundle, fit: Calibration) -> str:
    return store.publish(
        replace(
            bundle,
            calibration=fit.to_json(),
            version=new_version_id(),
            created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        )
    )


def previous_calibration(store: IndexStore) -> Calibration | None:
    """The serving index's calibration, read before an ingest replaces the version (None when there is none)."""
    from index_store.exceptions import IndexStoreError

    try:
        return stored_calibration(store.load())
    except IndexStoreError:
        return None


def calibrate_after_ingest(
    store: IndexStore,
    embedder: Embedder,
    *,
    published: bool,
    cache: FileEmbeddingCache | None = None,
    previous: Calibration | None = None,
    refit: bool = True,
) -> CalibrationRun:
    """After an ingest: refit when it published a new version, or when the serving one has no usable calibration
    for this embedder (an unchanged re-run over a calibrated index costs nothing). `previous`: the calibration of
    the version before the ingest, kept when the new fit separates nothing. Without `refit`
    (HELPDESK_SELF_CALIBRATION off) nothing is fitted: a calibration made by `helpdesk calibrate` is carried over
    to the new version, so an ingest never drops it."""
    if not refit and previous is None:
        return CalibrationRun("off", "", store.current_version() or "")
    bundle = store.load(with_embeddings=True)
    current = stored_calibration(bundle)
    if not refit:
        carried = previous if previous is not None and previous.embedder_id == bundle.embedder_id else None
        if current is None and carried is not None:
            return CalibrationRun(
                "kept",
                f"calibration: the previous version's ({carried.source}, fitted {carried.fitted_at}) carried over",
                _publish(store, bundle, carried),
                previous=carried,
            )
        return CalibrationRun("off", "", bundle.version, previous=current)
    if not published and current is not None and current.embedder_id == embedder.embedder_id:
        return CalibrationRun(
            "kept", "calibration: the index did not change; its calibration stays", bundle.version, previous=current
        )
    return calibrate(store, embedder, cache=cache, bundle=bundle, previous=previous)


def calibrate_ingested(
    store: IndexStore,
    embedder: Embedder,
    home: Path,
    *,
    published: bool,
    previous: Calibration | None,
    refit: bool,
) -> CalibrationRun:
    """`calibrate_after_ingest` as the ingest commands run it: a failure (Titan unreachable, a store error) leaves
    the new index published without a fit of its own, and says so, rather than failing an ingest that worked."""
    from core.errors import HelpdeskError

    try:
        return calibrate_after_ingest(
            store, embedder, published=published, cache=cache_for(home, embedder), previous=previous, refit=refit
        )
    except HelpdeskError as exc:
        return CalibrationRun(
            "failed",
            f"calibration failed ({exc}); the index was published and its gate uses the fixed weights until "
            "`helpdesk calibrate` succeeds",
            store.current_version() or "",
        )


def ingest_and_calibrate(
    source: Any,
    embedder: Embedder,
    store: IndexStore,
    options: Any,
    home: Path,
    *,
    refit: bool,
    progress: Any = None,
) -> tuple[Any, CalibrationRun]:
    """One ingest as the CLI and the scheduled Lambda run it: the serving calibration read first, the ingest, then
    `calibrate_ingested`. Returns the ingest summary and the calibration run."""
    from ingest.pipeline import run_ingest

    prior = previous_calibration(store)
    summary = run_ingest(source, embedder, store, options, progress=progress)
    run = calibrate_ingested(store, embedder, home, published=summary.published, previous=prior, refit=refit)
    return summary, run


def ingest_json(summary: dict[str, Any], run: CalibrationRun) -> dict[str, Any]:
    """The ingest summary with the calibration: `index_version` is the version published last (the calibrated
    one), `calibration_calls` the pseudo-question embedding calls, `calibration` the fit."""
    return {
        **summary,
        "index_version": run.index_version or summary.get("index_version", ""),
        "calibration_calls": run.calls,
        "calibration": run.to_json(),
    }


def quiet(run: CalibrationRun) -> bool:
    """Nothing worth a warning: a new fit, or an unchanged index keeping its own."""
    return run.status in ("fitted", "off") or (
        run.status == "kept" and run.calibration is None and run.previous is not None
    )
