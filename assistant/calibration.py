"""The confidence gate fitted on the knowledge base it answers from, with no labelled questions.

Pseudo-questions are made from the pages themselves (a title or heading, a first sentence, with words dropped and
phrased as an employee would ask). Each is retrieved twice: with its page in the index (covered) and with that page
and its near-duplicates left out of retrieval (uncovered: what "my page is missing" looks like on this knowledge
base, for this embedder). A logistic model over the gate's features separates the two, and the threshold is the
highest that keeps covered->ticket within `target_covered` on them (docs/decisions/0014). A team's labelled
questions (the eval format) can replace the pseudo-questions.

Pure apart from `collect_pseudo` / `collect_labelled` (retrieval and the embedding calls) and `FileEmbeddingCache`.
"""

from __future__ import annotations

import hashlib
import math
import random
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from assistant.confidence import auroc, features, validate_weights
from index_store.format import Chunk, IndexBundle
from index_store.lexical import STOPWORDS
from ingest.embedders.base import Embedder

FIT_FEATURES = ("dense_top", "lexical_match")
TARGET_COVERED = 0.05  # covered->ticket at most this on the questions fitted on
MIN_PAGES = 20  # fewer pages: too few pseudo-questions to fit on, the fixed weights stay
MIN_AUROC = 0.6  # a fit that separates less than this keeps the previous weights
PER_PAGE = 2  # pseudo-questions per page (each is one embedding call on Titan, once per content)
MAX_QUESTIONS = 2000  # per run, over all pages; new embedding calls are capped at this too
NEAR_DUPLICATE = 0.9  # page-centroid cosine at or above which two pages count as one when left out
NEIGHBOURS = 0  # nearest pages also left out with a page (its topic), by centroid rank; 0: measured no better
OWN_PAGE_RANK = 5  # a pseudo-question whose own page ranks below this is not a question that page answers
COMMON_HEADING_PAGES = 3  # a heading on this many pages ("Overview", "Symptoms") asks about none of them
L2 = 1.0

TEMPLATES = (
    "{x}",
    "how do I {x}",
    "{x}?",
    "help with {x}",
    "{x} not working",
    "where do I find {x}",
    "can I {x}",
    "question about {x}",
)
# What an employee adds that no page says: real questions carry words of their own situation, so a question is
# never made of its page's words alone (the lexical match of a real covered question is well below 1).
CONTEXT = (
    "",
    "on my laptop",
    "from home",
    "for my team",
    "since this morning",
    "for a new starter",
    "on my phone",
    "any fix",
    "again today",
    "before my meeting",
    "on the new machine",
    "keeps happening",
)
_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9'.+#/-]*[A-Za-z0-9+#]|[A-Za-z0-9]")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")


@dataclass(frozen=True)
class PseudoQuestion:
    page_id: str
    text: str
    kind: str  # "title", "heading" or "sentence"


@dataclass(frozen=True)
class Calibration:
    """A fitted gate: what the manifest's optional `calibration` object holds."""

    weights: dict[str, float]
    threshold: float
    embedder_id: str
    auroc: float
    covered_ticket_rate: float
    uncovered_ticket_rate: float
    covered: int
    uncovered: int
    fitted_at: str
    source: str = "pseudo"  # "pseudo" (made from the pages) or "labelled" (a team's question file)
    target_covered: float = TARGET_COVERED

    def to_json(self) -> dict[str, Any]:
        return {
            "weights": dict(self.weights),
            "threshold": self.threshold,
            "embedder_id": self.embedder_id,
            "auroc": self.auroc,
            "covered_ticket_rate": self.covered_ticket_rate,
            "uncovered_ticket_rate": self.uncovered_ticket_rate,
            "covered": self.covered,
            "uncovered": self.uncovered,
            "fitted_at": self.fitted_at,
            "source": self.source,
            "target_covered": self.target_covered,
        }


class CalibrationInvalid(ValueError):
    """A stored calibration that cannot be used (NaN or infinite weights, a threshold outside 0..1, ...)."""


def parse_calibration(raw: Mapping[str, Any]) -> Calibration:
    """A manifest's `calibration` object, checked (pure); CalibrationInvalid says what is wrong."""
    weights = validate_weights(raw.get("weights"))
    if weights is None:
        raise CalibrationInvalid("its weights are not finite numbers with known keys")
    threshold = raw.get("threshold")
    if isinstance(threshold, bool) or not isinstance(threshold, int | float) or not 0.0 <= threshold <= 1.0:
        raise CalibrationInvalid("its threshold is not a number between 0 and 1")
    embedder_id = raw.get("embedder_id")
    if not isinstance(embedder_id, str) or not embedder_id:
        raise CalibrationInvalid("it names no embedder")

    def number(key: str) -> float:
        value = raw.get(key, float("nan"))
        return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else float("nan")

    return Calibration(
        weights=weights,
        threshold=float(threshold),
        embedder_id=embedder_id,
        auroc=number("auroc"),
        covered_ticket_rate=number("covered_ticket_rate"),
        uncovered_ticket_rate=number("uncovered_ticket_rate"),
        covered=int(number("covered")) if math.isfinite(number("covered")) else 0,
        uncovered=int(number("uncovered")) if math.isfinite(number("uncovered")) else 0,
        fitted_at=str(raw.get("fitted_at", "")),
        source=str(raw.get("source", "pseudo")),
        target_covered=number("target_covered"),
    )


# --- pseudo-questions (pure) -------------------------------------------------------------------------------------


def _words(text: str) -> list[str]:
    return _WORD.findall(text)


def _drop_words(words: Sequence[str], rng: random.Random, most: int = 10) -> list[str]:
    """A phrase as an employee might type it: at most `most` words in their order, lowercased, and one content
    word dropped when there are three or more (no page is asked about in its own exact words)."""
    words = [w.lower() for w in words[:most]]
    content = [i for i, w in enumerate(words) if w not in STOPWORDS and any(ch.isalpha() for ch in w)]
    if len(content) >= 3:
        del words[rng.choice(content)]
    return words if any(w not in STOPWORDS for w in words) else []


def _phrase(words: Sequence[str], rng: random.Random) -> str:
    return " ".join(f"{rng.choice(TEMPLATES).format(x=' '.join(words))} {rng.choice(CONTEXT)}".split())


def _sentence(body: str, rng: random.Random) -> list[str]:
    """A few consecutive words of one of the body's sentences (one of at least five words)."""
    sentences = [w for w in (_words(x) for x in _SENTENCE_END.split(body)) if len(w) >= 5]
    if not sentences:
        return []
    words = rng.choice(sentences[:3])
    start = rng.randrange(0, max(1, len(words) - 8))
    return words[start : start + rng.randint(5, 10)]


def heading_key(heading: str) -> str:
    return " ".join(heading.split(" > ")[-1].lower().split())


def page_seed(page_id: str, chunks: Sequence[Chunk]) -> int:
    """The same page content gives the same pseudo-questions (so their embeddings are reused across runs)."""
    digest = hashlib.sha256("\n".join([page_id, *(c.content_hash for c in chunks)]).encode()).digest()
    return int.from_bytes(digest[:8], "big")


def pseudo_questions(
    page_id: str,
    title: str,
    chunks: Sequence[Chunk],
    per_page: int = PER_PAGE,
    common_headings: Collection[str] = (),
) -> list[PseudoQuestion]:
    """Up to `per_page` questions one page answers (pure, deterministic in the page's content): its title or one of
    its own headings (not one many pages share, such as "Overview"), then a few words of one of its sentences,
    each with a word dropped and phrased as an employee asks."""
    rng = random.Random(page_seed(page_id, chunks))
    headings = sorted(
        {c.heading.split(" > ")[-1] for c in chunks if c.heading and heading_key(c.heading) not in common_headings}
    )
    names = [("title", title), *(("heading", h) for h in rng.sample(headings, len(headings)))]
    bodies = [c.body for c in chunks if c.body.strip()]
    sentences = [("sentence", b) for b in rng.sample(bodies, len(bodies))]
    if headings and rng.random() < 0.5:  # the first question: the title or one of the page's own headings
        names[0], names[1] = names[1], names[0]
    out: list[PseudoQuestion] = []
    seen: set[str] = set()
    for kind, text in _alternate(names, sentences):
        words = _drop_words(_words(text) if kind != "sentence" else _sentence(text, rng), rng)
        if len(words) < (3 if kind == "sentence" else 1):
            continue
        question = _phrase(words, rng)
        if question not in seen:
            seen.add(question)
            out.append(PseudoQuestion(page_id, question, kind))
        if len(out) >= per_page:
            break
    return out


def _alternate(a: Sequence[tuple[str, str]], b: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    out = []
    for i in range(max(len(a), len(b))):
        out.extend(x[i] for x in (a, b) if i < len(x))
    return out


def bundle_questions(bundle: IndexBundle, per_page: int = PER_PAGE) -> list[PseudoQuestion]:
    """Pseudo-questions of every page of an index, page by page in id order (pure)."""
    by_page: dict[str, list[Chunk]] = {}
    for chunk in bundle.chunks:
        by_page.setdefault(chunk.page_id, []).append(chunk)
    pages_with: dict[str, set[str]] = {}
    for chunk in bundle.chunks:
        if chunk.heading:
            pages_with.setdefault(heading_key(chunk.heading), set()).add(chunk.page_id)
    common = {h for h, pages in pages_with.items() if len(pages) >= COMMON_HEADING_PAGES}
    out: list[PseudoQuestion] = []
    for page_id in sorted(by_page):
        chunks = sorted(by_page[page_id], key=lambda c: c.ordinal)
        out.extend(pseudo_questions(page_id, chunks[0].title, chunks, per_page, common))
    return out


def near_duplicates(
    page_ids: Sequence[str], centroids: np.ndarray, threshold: float = NEAR_DUPLICATE, neighbours: int = NEIGHBOURS
) -> dict[str, frozenset[str]]:
    """For each page: itself, the pages whose centroid is at least `threshold` cosine from it (near-duplicates),
    and its `neighbours` nearest pages whatever their cosine (its topic: a missing page rarely goes missing alone,
    and a rank does not depend on the embedder's cosine scale) (pure)."""
    if not len(page_ids):
        return {}
    norms = np.linalg.norm(centroids, axis=1, keepdims=True)
    unit = centroids / np.where(norms == 0, 1.0, norms)
    sims = unit @ unit.T
    np.fill_diagonal(sims, np.inf)
    out = {}
    for i, pid in enumerate(page_ids):
        nearest = np.argsort(-sims[i], kind="stable")[1 : 1 + neighbours] if neighbours > 0 else []
        close = set(np.flatnonzero(sims[i] >= threshold)) | {int(j) for j in nearest}
        out[pid] = frozenset(page_ids[j] for j in close) | {pid}
    return out


def page_centroids(bundle: IndexBundle) -> tuple[list[str], np.ndarray]:
    """Each page's mean chunk vector (from the stored embeddings, else reconstructed from the vector index)."""
    vectors = bundle.embeddings
    if vectors is None:
        vectors = np.asarray(bundle.index.reconstruct_n(0, len(bundle.chunks)), dtype=np.float32)
    rows: dict[str, list[int]] = {}
    for i, chunk in enumerate(bundle.chunks):
        rows.setdefault(chunk.page_id, []).append(i)
    page_ids = sorted(rows)
    if not page_ids:
        return [], np.zeros((0, bundle.dimension), dtype=np.float32)
    return page_ids, np.stack([vectors[rows[p]].mean(axis=0) for p in page_ids])


def cap_questions(questions: Sequence[PseudoQuestion], max_questions: int = MAX_QUESTIONS) -> list[PseudoQuestion]:
    """At most `max_questions` (pure), so a run makes at most that many new embedding calls. Over the cap, whole
    pages are taken in an order fixed by their ids' hashes, so successive runs choose the same pages (and reuse
    their cached vectors)."""
    if len(questions) <= max_questions:
        return list(questions)
    by_page: dict[str, list[PseudoQuestion]] = {}
    for q in questions:
        by_page.setdefault(q.page_id, []).append(q)
    out: list[PseudoQuestion] = []
    for page_id in sorted(by_page, key=lambda p: hashlib.sha256(p.encode()).hexdigest()):
        if len(out) + len(by_page[page_id]) <= max_questions:
            out.extend(by_page[page_id])
    return out


# --- the fit (pure) ----------------------------------------------------------------------------------------------


def fit_logistic(
    x: np.ndarray, y: np.ndarray, l2: float = L2, iterations: int = 50, offset: np.ndarray | None = None
) -> np.ndarray:
    """L2-regularised logistic regression by Newton's method; the last weight is the (unpenalised) bias.
    `offset` is a fixed per-row log-odds added to the model (used to fit the verdict on top of retrieval)."""
    xb = np.hstack([x, np.ones((len(x), 1))])
    w = np.zeros(xb.shape[1])
    reg = l2 * np.diag(np.r_[np.ones(len(w) - 1), 0.0])
    base = np.zeros(len(x)) if offset is None else offset
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-np.clip(xb @ w + base, -500, 500)))
        grad = xb.T @ (p - y) + reg @ w
        hess = (xb * (p * (1 - p))[:, None]).T @ xb + reg
        w -= np.linalg.solve(hess + 1e-9 * np.eye(len(w)), grad)
    return w


def fit_raw(x: np.ndarray, y: np.ndarray, l2: float = L2) -> np.ndarray:
    """Fit on standardised columns, return weights for the raw features (bias last)."""
    mu, sd = x.mean(0), x.std(0) + 1e-9
    w = fit_logistic((x - mu) / sd, y, l2)
    raw = w[:-1] / sd
    return np.r_[raw, w[-1] - float(raw @ mu)]


def predict(w: np.ndarray, x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(np.hstack([x, np.ones((len(x), 1))]) @ w, -500, 500)))


def threshold_for_covered(covered_scores: Sequence[float], target: float = TARGET_COVERED) -> float:
    """The highest threshold (confidence >= it answers) whose covered->ticket rate stays within `target` (pure).

    Scores are compared as the gate rounds them (4 decimals); the threshold is rounded down to that grid."""
    s = np.sort(np.round(np.asarray(covered_scores, dtype=float), 4))
    if not len(s):
        raise ValueError("no covered scores")
    allowed = math.floor(target * len(s) + 1e-9)
    return math.floor(float(s[min(allowed, len(s) - 1)]) * 1e4) / 1e4


def rates(p: np.ndarray, y: np.ndarray, t: float) -> tuple[float, float]:
    """(covered->ticket, uncovered->ticket) at threshold t, scores rounded as the gate rounds them."""
    p = np.round(p, 4)
    return float(np.mean(p[y == 1] < t)), float(np.mean(p[y == 0] < t))


def fit_calibration(
    covered: Sequence[Mapping[str, float]],
    uncovered: Sequence[Mapping[str, float]],
    embedder_id: str,
    *,
    names: Sequence[str] = FIT_FEATURES,
    target_covered: float = TARGET_COVERED,
    source: str = "pseudo",
    now: datetime | None = None,
) -> Calibration:
    """Weights and threshold separating covered from uncovered feature rows (pure)."""
    if not covered or not uncovered:
        raise ValueError("the fit needs covered and uncovered questions")
    x = np.array([[f[n] for n in names] for f in (*covered, *uncovered)], dtype=float)
    y = np.r_[np.ones(len(covered)), np.zeros(len(uncovered))]
    w = fit_raw(x, y)
    weights = {"bias": round(float(w[-1]), 4), **{n: round(float(v), 4) for n, v in zip(names, w[:-1], strict=True)}}
    checked = validate_weights(weights)
    if checked is None:
        raise ValueError(f"the fit gave unusable weights {weights}")
    z = weights["bias"] + x @ np.array([weights[n] for n in names])
    p = 1.0 / (1.0 + np.exp(-np.clip(z, -500, 500)))
    t = threshold_for_covered(p[y == 1], target_covered)
    cov, unc = rates(p, y, t)
    return Calibration(
        weights=checked,
        threshold=t,
        embedder_id=embedder_id,
        auroc=round(auroc(list(np.round(p, 4)), list(y.astype(bool))), 4),
        covered_ticket_rate=round(cov, 4),
        uncovered_ticket_rate=round(unc, 4),
        covered=len(covered),
        uncovered=len(uncovered),
        fitted_at=(now or datetime.now(UTC)).isoformat(timespec="seconds"),
        source=source,
        target_covered=target_covered,
    )


# --- collecting features (retrieval and embedding calls) ---------------------------------------------------------


class FileEmbeddingCache:
    """Pseudo-question vectors by sha256 of (embedder id, text), in one `.npz` file: an unchanged page's
    questions cost no embedding call on the next run. Written atomically; an unreadable file is an empty cache."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._vectors: dict[str, np.ndarray] = {}
        self._dirty = False
        try:
            with np.load(self.path, allow_pickle=False) as npz:
                keys, vectors = npz["keys"], npz["vectors"]
            self._vectors = {str(k): v for k, v in zip(keys, vectors, strict=True)}
        except (OSError, ValueError, KeyError, EOFError):
            self._vectors = {}

    @staticmethod
    def key(embedder_id: str, text: str) -> str:
        return hashlib.sha256(f"{embedder_id}\n{text}".encode()).hexdigest()

    def get(self, key: str) -> np.ndarray | None:
        return self._vectors.get(key)

    def put(self, key: str, vector: np.ndarray) -> None:
        self._vectors[key] = np.asarray(vector, dtype=np.float32)
        self._dirty = True

    def keep_only(self, keys: set[str]) -> None:
        """Forget vectors of questions no longer asked (pages changed or gone)."""
        if set(self._vectors) - keys:
            self._vectors = {k: v for k, v in self._vectors.items() if k in keys}
            self._dirty = True

    def save(self) -> None:
        if not self._dirty:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        keys = sorted(self._vectors)
        dims = {v.shape for v in self._vectors.values()}
        vectors = (
            np.stack([self._vectors[k] for k in keys]) if keys and len(dims) == 1 else np.zeros((0, 0), np.float32)
        )
        tmp = self.path.with_name(self.path.name + ".tmp.npz")
        np.savez(tmp, keys=np.array(keys if len(vectors) else [], dtype=str), vectors=vectors)
        tmp.replace(self.path)
        self._dirty = False


class _Vectors:
    """An embedder that answers `embed_query` from vectors computed beforehand (one call per question)."""

    def __init__(self, embedder: Embedder, vectors: Mapping[str, np.ndarray]) -> None:
        self.embedder_id = embedder.embedder_id
        self.dimension = embedder.dimension
        self._embedder = embedder
        self._vectors = vectors

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        return self._embedder.embed_documents(texts)

    def embed_query(self, text: str) -> np.ndarray:
        vector = self._vectors.get(text)
        return vector if vector is not None else self._embedder.embed_query(text)


@dataclass
class Collected:
    covered: list[dict[str, float]] = field(default_factory=list)
    uncovered: list[dict[str, float]] = field(default_factory=list)
    questions: int = 0  # pseudo-questions made
    used: int = 0  # of those, the ones fitted on (their own page ranked within OWN_PAGE_RANK)
    embedded: int = 0  # new embeddings (not from the cache)
    pages: int = 0


def _embed(
    embedder: Embedder, texts: Sequence[str], cache: FileEmbeddingCache | None, batch: int = 64
) -> tuple[dict[str, np.ndarray], int]:
    vectors: dict[str, np.ndarray] = {}
    todo = []
    for text in dict.fromkeys(texts):
        hit = cache.get(cache.key(embedder.embedder_id, text)) if cache is not None else None
        if hit is not None and hit.shape == (embedder.dimension,):
            vectors[text] = hit
        else:
            todo.append(text)
    for i in range(0, len(todo), batch):
        part = todo[i : i + batch]
        out = np.asarray(embedder.embed_documents(part), dtype=np.float32)
        for text, vector in zip(part, out, strict=True):
            vectors[text] = vector
            if cache is not None:
                cache.put(cache.key(embedder.embedder_id, text), vector)
    if cache is not None:
        cache.keep_only({cache.key(embedder.embedder_id, t) for t in vectors})
    return vectors, len(todo)


def collect_pseudo(
    bundle: IndexBundle,
    embedder: Embedder,
    *,
    cache: FileEmbeddingCache | None = None,
    max_questions: int = MAX_QUESTIONS,
    per_page: int = PER_PAGE,
    near: float = NEAR_DUPLICATE,
    neighbours: int = NEIGHBOURS,
    retriever_factory: Callable[[IndexBundle, Embedder], Any] | None = None,
) -> Collected:
    """The features of every pseudo-question, covered and with its page and near-duplicates left out."""
    questions = bundle_questions(bundle, per_page)
    chosen = cap_questions(questions, max_questions)
    vectors, embedded = _embed(embedder, [q.text for q in chosen], cache)
    page_ids, centroids = page_centroids(bundle)
    dups = near_duplicates(page_ids, centroids, near, neighbours)
    retriever = (retriever_factory or _hybrid)(bundle, _Vectors(embedder, vectors))
    out = Collected(questions=len(questions), embedded=embedded, pages=len(page_ids))
    for q in chosen:
        covered = retriever.retrieve(q.text, k=10)
        if q.page_id not in [p.page_id for p in covered.pages[:OWN_PAGE_RANK]]:
            continue
        missing = retriever.retrieve(q.text, k=10, exclude=dups.get(q.page_id, frozenset({q.page_id})))
        out.covered.append(features(covered))
        out.uncovered.append(features(missing))
        out.used += 1
    return out


def collect_labelled(retriever: Any, rows: Sequence[Mapping[str, Any]]) -> Collected:
    """Features of a team's labelled questions (`gold_page_ids`: pages answer it; `[]`: uncovered)."""
    out = Collected()
    for row in rows:
        gold = row.get("gold_page_ids")
        if gold is None:
            continue
        feats = features(retriever.retrieve(str(row["question"]), k=10))
        (out.covered if gold else out.uncovered).append(feats)
        out.questions += 1
        out.used += 1
    return out


def _hybrid(bundle: IndexBundle, embedder: Embedder) -> Any:
    from assistant.retrieval import HybridRetriever

    return HybridRetriever(bundle, embedder)
