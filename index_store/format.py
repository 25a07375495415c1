"""The on-disk index format (version 1) and its pure encode/decode. No pickle anywhere.

A version is a set of files plus `manifest.json`:

- `faiss.index`: `faiss.serialize_index` bytes (inner product over L2-normalised vectors);
- `docstore.json`: chunks (text, page, title, breadcrumb, heading, url) and pages (version, content hash);
- `lexical.npz` + `vocab.json`: BM25 postings as plain arrays (`np.load(allow_pickle=False)`);
- `embeddings.npy`: the float32 vectors, aligned with the chunks: the embedding cache that lets a re-ingest
  reuse unchanged chunks (readers that only answer do not load it);
- `manifest.json`: format version, embedder id and dimension, counts, and the sha256 and size of every file;
  optionally `calibration`, the confidence gate fitted on this index (checked by its reader, `assistant.confidence`).
"""

from __future__ import annotations

import hashlib
import io
import json
import secrets
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np

from index_store.exceptions import EmbedderMismatch, IndexCorrupt
from index_store.lexical import LexicalIndex

FORMAT_NAME = "helpdesk-index"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
FAISS_FILE = "faiss.index"
DOCSTORE_FILE = "docstore.json"
LEXICAL_FILE = "lexical.npz"
VOCAB_FILE = "vocab.json"
EMBEDDINGS_FILE = "embeddings.npy"
DATA_FILES = (FAISS_FILE, DOCSTORE_FILE, LEXICAL_FILE, VOCAB_FILE, EMBEDDINGS_FILE)
READER_FILES = (FAISS_FILE, DOCSTORE_FILE, LEXICAL_FILE, VOCAB_FILE)


def chunk_header(breadcrumb: Sequence[str], title: str, heading: str) -> str:
    """The one definition of a chunk's header line (the chunker uses it too, so what is embedded and
    lexically indexed is exactly what `content_hash` covers): ``Root > Parent > Title — heading``."""
    path = " > ".join(p for p in (_one_line(x) for x in (*breadcrumb, title)) if p)
    heading = _one_line(heading)
    return f"{path} — {heading}" if heading else path


def _one_line(text: str) -> str:
    return " ".join(text.split())


@dataclass(frozen=True, slots=True)
class Chunk:
    """One retrievable piece of a page: what the chunker makes, the index stores and retrieval returns.

    `Chunk.of(...)` derives `content_hash` (sha256 of `embed_text`, the embedding-cache key) and `chunk_id`
    (stable: page id, ordinal and `embed_text`); a chunk read back from an index keeps the ids it was stored with.
    """

    chunk_id: str
    content_hash: str
    page_id: str
    ordinal: int  # 0.. position within the page
    title: str
    url: str
    breadcrumb: tuple[str, ...]  # ancestor titles, root first (not including the page title)
    heading: str  # heading path inside the page, e.g. "Troubleshooting > macOS"; "" for the preamble
    body: str  # the chunk's text lines joined with "\n"

    @classmethod
    def of(
        cls,
        page_id: str,
        ordinal: int,
        title: str,
        breadcrumb: Sequence[str],
        heading: str,
        body: str,
        *,
        url: str = "",
    ) -> Chunk:
        crumbs = tuple(breadcrumb)
        text = _embed_text(chunk_header(crumbs, title, heading), body)
        key = f"{page_id}\n{ordinal}\n{text}"
        return cls(
            chunk_id=hashlib.sha256(key.encode("utf-8")).hexdigest()[:32],
            content_hash=hashlib.sha256(text.encode("utf-8")).hexdigest(),
            page_id=page_id,
            ordinal=ordinal,
            title=title,
            url=url,
            breadcrumb=crumbs,
            heading=heading,
            body=body,
        )

    @property
    def header(self) -> str:
        """``Root > Parent > Title`` then `` — heading`` when there is one; always a single line."""
        return chunk_header(self.breadcrumb, self.title, self.heading)

    @property
    def embed_text(self) -> str:
        """Exactly what is embedded and lexically indexed; its sha256 is `content_hash`."""
        return _embed_text(self.header, self.body)


def _embed_text(header: str, body: str) -> str:
    return f"{header}\n{body}"


@dataclass(frozen=True, slots=True)
class StoredPage:
    page_id: str
    title: str
    url: str
    version: int
    content_hash: str
    space_key: str = ""
    labels: tuple[str, ...] = ()


@dataclass
class IndexBundle:
    """An index in memory. `embeddings` is None when loaded for answering only."""

    embedder_id: str
    dimension: int
    chunks: list[Chunk]
    pages: dict[str, StoredPage]
    index: Any  # faiss.Index
    lexical: LexicalIndex
    embeddings: np.ndarray | None = None
    version: str = ""
    created_at: str = ""
    index_type: str = "flat"
    extra: dict[str, Any] = field(default_factory=dict)
    calibration: dict[str, Any] | None = None  # the confidence gate fitted on this index (assistant/calibration.py)


def new_version_id(now: datetime | None = None) -> str:
    """Sortable and unique: UTC timestamp plus 32 random bits."""
    now = now or datetime.now(UTC)
    return f"{now:%Y%m%dT%H%M%S}Z-{secrets.token_hex(4)}"


def build_faiss_index(vectors: np.ndarray, dimension: int, index_type: str = "flat") -> Any:
    import faiss  # heavy: imported only where an index is built or read

    vectors = np.ascontiguousarray(vectors, dtype=np.float32).reshape(-1, dimension)
    if index_type == "flat":
        index = faiss.IndexFlatIP(dimension)
    elif index_type == "sq8":
        index = faiss.IndexScalarQuantizer(dimension, faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_INNER_PRODUCT)
        if len(vectors):
            index.train(vectors)
    else:
        raise ValueError(f"unknown index type {index_type!r}")
    if len(vectors):
        index.add(vectors)
    return index


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def encode_bundle(bundle: IndexBundle) -> dict[str, bytes]:
    """All files of one version, manifest included (pure apart from faiss serialisation)."""
    import faiss

    if bundle.embeddings is None:
        raise ValueError("encode_bundle needs the embeddings (the embedding cache is stored with the index)")
    docstore = {
        "chunks": [asdict(c) for c in bundle.chunks],
        "pages": {pid: asdict(p) for pid, p in sorted(bundle.pages.items())},
    }
    arrays, terms = bundle.lexical.to_arrays()
    lex = io.BytesIO()
    np.savez(lex, **arrays)
    emb = io.BytesIO()
    np.save(emb, np.ascontiguousarray(bundle.embeddings, dtype=np.float32), allow_pickle=False)
    files = {
        FAISS_FILE: faiss.serialize_index(bundle.index).tobytes(),
        DOCSTORE_FILE: json.dumps(docstore, ensure_ascii=False, separators=(",", ":")).encode("utf-8"),
        LEXICAL_FILE: lex.getvalue(),
        VOCAB_FILE: json.dumps(terms, ensure_ascii=False).encode("utf-8"),
        EMBEDDINGS_FILE: emb.getvalue(),
    }
    manifest = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "index_version": bundle.version,
        "created_at": bundle.created_at,
        "embedder": {"id": bundle.embedder_id, "dimension": bundle.dimension},
        "index_type": bundle.index_type,
        "chunk_count": len(bundle.chunks),
        "page_count": len(bundle.pages),
        "files": {name: {"sha256": _sha256(data), "bytes": len(data)} for name, data in files.items()},
        **({"extra": bundle.extra} if bundle.extra else {}),
        **({"calibration": bundle.calibration} if bundle.calibration is not None else {}),
    }
    files[MANIFEST] = json.dumps(manifest, indent=1, sort_keys=True).encode("utf-8")
    return files


def parse_manifest(data: bytes, where: str) -> dict[str, Any]:
    """Validate the manifest itself (pure)."""
    try:
        manifest = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise IndexCorrupt(f"index manifest at {where} is not valid JSON") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT_NAME:
        raise IndexCorrupt(f"{where} is not a helpdesk index manifest")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise IndexCorrupt(
            f"index at {where} has format version {manifest.get('format_version')!r}; this build reads "
            f"version {FORMAT_VERSION}. Re-run `helpdesk ingest --full`."
        )
    files = manifest.get("files")
    if not isinstance(files, dict) or any(name not in files for name in READER_FILES):
        raise IndexCorrupt(f"index manifest at {where} does not list every file")
    for name, entry in files.items():
        if not (
            isinstance(entry, dict)
            and isinstance(entry.get("sha256"), str)
            and isinstance(entry.get("bytes"), int)
            and not isinstance(entry.get("bytes"), bool)
        ):
            raise IndexCorrupt(f"index manifest at {where}: the entry of {name} needs sha256 and bytes")
    embedder = manifest.get("embedder")
    if not (
        isinstance(embedder, dict)
        and isinstance(embedder.get("id"), str)
        and isinstance(embedder.get("dimension"), int)
        and embedder["dimension"] > 0
    ):
        raise IndexCorrupt(f"index manifest at {where}: embedder needs an id and a positive dimension")
    return manifest


def verify_file(manifest: Mapping[str, Any], name: str, data: bytes | None, where: str) -> bytes:
    """Check one file against the manifest's size and sha256 (pure)."""
    expected = manifest["files"].get(name)
    if expected is None:
        raise IndexCorrupt(f"index at {where}: {name} is not in the manifest")
    if data is None:
        raise IndexCorrupt(f"index at {where}: {name} is missing")
    if len(data) != expected.get("bytes") or _sha256(data) != expected.get("sha256"):
        raise IndexCorrupt(f"index at {where}: {name} fails its checksum (truncated or modified)")
    return data


def check_embedder(manifest: Mapping[str, Any], embedder_id: str, dimension: int, where: str) -> None:
    built = manifest.get("embedder") or {}
    if built.get("id") != embedder_id or built.get("dimension") != dimension:
        raise EmbedderMismatch(
            f"index at {where} was built with embedder {built.get('id')!r} (dimension {built.get('dimension')}), "
            f"but the configured embedder is {embedder_id!r} (dimension {dimension}). "
            "Re-run `helpdesk ingest --full` with the configured embedder, or configure the one it was built with."
        )


def decode_bundle(manifest: Mapping[str, Any], files: Mapping[str, bytes], where: str) -> IndexBundle:
    """Build an IndexBundle from verified file contents. `embeddings.npy` is optional (writers need it)."""
    import faiss

    try:
        docstore = json.loads(files[DOCSTORE_FILE].decode("utf-8"))
        chunks = [Chunk(**{**c, "breadcrumb": tuple(c["breadcrumb"])}) for c in docstore["chunks"]]
        pages = {pid: StoredPage(**{**p, "labels": tuple(p.get("labels", ()))}) for pid, p in docstore["pages"].items()}
        with np.load(io.BytesIO(files[LEXICAL_FILE]), allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
        lexical = LexicalIndex.from_arrays(arrays, json.loads(files[VOCAB_FILE].decode("utf-8")))
        index = faiss.deserialize_index(np.frombuffer(files[FAISS_FILE], dtype=np.uint8))
        embeddings = None
        if EMBEDDINGS_FILE in files:
            embeddings = np.load(io.BytesIO(files[EMBEDDINGS_FILE]), allow_pickle=False)
    except (
        KeyError,
        TypeError,
        ValueError,
        IndexError,
        RuntimeError,
        EOFError,
        OSError,
        zipfile.BadZipFile,
        json.JSONDecodeError,
        UnicodeDecodeError,
    ) as exc:  # a file that passes its checksum but is not what the format says (written by a faulty build)
        raise IndexCorrupt(f"index at {where} cannot be decoded: {exc.__class__.__name__}: {exc}") from exc
    dimension = int(manifest["embedder"]["dimension"])
    if index.ntotal != len(chunks) or lexical.n_docs != len(chunks) or index.d != dimension:
        raise IndexCorrupt(f"index at {where}: vector, lexical and chunk counts disagree")
    if embeddings is not None and embeddings.shape != (len(chunks), dimension):
        raise IndexCorrupt(f"index at {where}: embeddings shape {embeddings.shape} does not match the chunks")
    return IndexBundle(
        embedder_id=str(manifest["embedder"]["id"]),
        dimension=dimension,
        chunks=chunks,
        pages=pages,
        index=index,
        lexical=lexical,
        embeddings=embeddings,
        version=str(manifest.get("index_version", "")),
        created_at=str(manifest.get("created_at", "")),
        index_type=str(manifest.get("index_type", "flat")),
        extra=dict(manifest.get("extra") or {}),
        calibration=manifest["calibration"] if isinstance(manifest.get("calibration"), dict) else None,
    )
