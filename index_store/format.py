"""The on-disk index format (version 3) and its encode/decode. No pickle anywhere.

A version is a set of files plus `manifest.json`:

- `faiss.index`: `faiss.serialize_index` bytes (inner product over L2-normalised vectors);
- `docstore.sqlite`: chunks (text, page, title, breadcrumb, heading, url) and pages (version, content hash), in
  one SQLite file that readers open in place (`index_store.docstore`, decision 0013);
- `lexical.tantivy`: the BM25 index, a tantivy index packed in one file (`index_store.tantivy_index`, decision
  0017);
- `embeddings.npy`: the float32 vectors, aligned with the chunks: the embedding cache that lets a re-ingest
  reuse unchanged chunks (readers that only answer do not load it);
- `manifest.json`: format version, embedder id and dimension, counts, and the sha256 and size of every file;
  optionally `calibration`, the confidence gate fitted on this index (checked by its reader, `assistant.confidence`).

Format 2 (the release before: no `lexical.tantivy`, the FTS5 index inside `docstore.sqlite`) is still read, so
an index published by it keeps serving until the next ingest writes format 3. Format 1 is refused.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import secrets
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from index_store.docstore import DEFAULT_WEIGHTS, ChunkTable, Docstore, FtsLexical, PageTable, write_docstore
from index_store.exceptions import EmbedderMismatch, IndexCorrupt
from index_store.lexical import LexicalIndex
from index_store.tantivy_index import TantivyLexical, lexical_bytes, unpacked

FORMAT_NAME = "helpdesk-index"
FORMAT_VERSION = 3
READABLE_VERSIONS = (2, 3)
MANIFEST = "manifest.json"
FAISS_FILE = "faiss.index"
DOCSTORE_FILE = "docstore.sqlite"
LEXICAL_FILE = "lexical.tantivy"
EMBEDDINGS_FILE = "embeddings.npy"
DATA_FILES = (FAISS_FILE, DOCSTORE_FILE, LEXICAL_FILE, EMBEDDINGS_FILE)
READER_FILES = (FAISS_FILE, DOCSTORE_FILE, LEXICAL_FILE)


def reader_files(manifest: Mapping[str, Any]) -> tuple[str, ...]:
    """The files a reader opens for this (parsed) manifest: format 2 has no lexical file of its own."""
    if manifest.get("format_version") == 2:
        return (FAISS_FILE, DOCSTORE_FILE)
    return READER_FILES


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
    """An index: built in memory by ingest, or opened from a version (`chunks` and `pages` then read their rows
    from the docstore file on demand, `lexical` the tantivy index, or a format-2 docstore's FTS5 table).
    `embeddings` is None when loaded for answering only."""

    embedder_id: str
    dimension: int
    chunks: Sequence[Chunk]
    pages: Mapping[str, StoredPage]
    index: Any  # faiss.Index
    lexical: LexicalIndex | FtsLexical | TantivyLexical | None  # None in a bundle ingest builds: built on write
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


def _sha256(data: bytes | bytearray) -> str:
    return hashlib.sha256(data).hexdigest()


def _npy_header(shape: tuple[int, ...], dtype: np.dtype) -> bytes:
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": np.lib.format.dtype_to_descr(dtype), "fortran_order": False, "shape": shape}
    )
    return header.getvalue()


def npy_matrix(rows: int, dimension: int) -> np.ndarray:
    """A zeroed float32 (rows, dimension) matrix that lives inside the bytes of its own `.npy` file, header first:
    `npy_bytes` of it is that buffer, not a copy (pure)."""
    head = _npy_header((rows, dimension), np.dtype(np.float32))
    buffer = bytearray(len(head) + rows * dimension * 4)
    buffer[: len(head)] = head
    return np.frombuffer(buffer, dtype=np.float32, offset=len(head)).reshape(rows, dimension)


def npy_bytes(array: np.ndarray) -> bytearray:
    """`array` as the bytes `np.save` writes (pure): the buffer of a matrix made by `npy_matrix`, else one copy of
    the data."""
    array = np.ascontiguousarray(array)
    head = _npy_header(array.shape, array.dtype)
    base = array.base
    while isinstance(base, np.ndarray):
        base = base.base
    if isinstance(base, memoryview):  # np.frombuffer's view of a bytearray
        base = base.obj
    if (
        isinstance(base, bytearray)
        and len(base) == len(head) + array.nbytes
        and array.ctypes.data == np.frombuffer(base, dtype=np.uint8).ctypes.data + len(head)
        and base[: len(head)] == head
    ):
        return base
    out = bytearray(len(head) + array.nbytes)
    out[: len(head)] = head
    out[len(head) :] = memoryview(array.reshape(-1).view(np.uint8))
    return out


def encode_files(bundle: IndexBundle) -> Iterator[tuple[str, bytes | bytearray, str]]:
    """The files of one version as (name, bytes, sha256), one at a time in `DATA_FILES` order, the manifest last:
    a writer that stores each before asking for the next holds one file in memory, not the whole version. A bundle
    without its embeddings is refused here, before the caller writes anything."""
    if bundle.embeddings is None:
        raise ValueError("encoding an index version needs the embeddings (the embedding cache is stored with it)")
    return _encoded(bundle)


def _encoded(bundle: IndexBundle) -> Iterator[tuple[str, bytes | bytearray, str]]:
    import faiss

    def embeddings() -> bytearray:
        return npy_bytes(np.ascontiguousarray(bundle.embeddings, dtype=np.float32))

    encoders: dict[str, Callable[[], bytes | bytearray]] = {
        FAISS_FILE: lambda: faiss.serialize_index(bundle.index).tobytes(),
        DOCSTORE_FILE: lambda: docstore_bytes(bundle.chunks, bundle.pages),
        LEXICAL_FILE: lambda: lexical_bytes(bundle.chunks),
        EMBEDDINGS_FILE: embeddings,
    }
    described: dict[str, dict[str, Any]] = {}
    for name in DATA_FILES:
        data = encoders[name]()
        digest = _sha256(data)
        described[name] = {"sha256": digest, "bytes": len(data)}
        yield name, data, digest
        del data
    manifest = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "index_version": bundle.version,
        "created_at": bundle.created_at,
        "embedder": {"id": bundle.embedder_id, "dimension": bundle.dimension},
        "index_type": bundle.index_type,
        "chunk_count": len(bundle.chunks),
        "page_count": len(bundle.pages),
        "files": described,
        **({"extra": bundle.extra} if bundle.extra else {}),
        **({"calibration": bundle.calibration} if bundle.calibration is not None else {}),
    }
    data = json.dumps(manifest, indent=1, sort_keys=True).encode("utf-8")
    yield MANIFEST, data, _sha256(data)


def encode_bundle(bundle: IndexBundle) -> dict[str, bytes | bytearray]:
    """All files of one version, manifest included, at once (pure apart from faiss serialisation)."""
    return {name: data for name, data, _ in encode_files(bundle)}


def parse_manifest(data: bytes, where: str) -> dict[str, Any]:
    """Validate the manifest itself (pure)."""
    try:
        manifest = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise IndexCorrupt(f"index manifest at {where} is not valid JSON") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT_NAME:
        raise IndexCorrupt(f"{where} is not a helpdesk index manifest")
    if manifest.get("format_version") == 1:
        raise IndexCorrupt(
            f"index at {where} has format version 1, written by an older release; this build reads version "
            f"{FORMAT_VERSION}. Re-run `helpdesk ingest`: it rebuilds the index in the new format."
        )
    if manifest.get("format_version") not in READABLE_VERSIONS:
        raise IndexCorrupt(
            f"index at {where} has format version {manifest.get('format_version')!r}; this build reads "
            f"versions {' and '.join(map(str, READABLE_VERSIONS))}. Re-run `helpdesk ingest --full`."
        )
    files = manifest.get("files")
    if not isinstance(files, dict) or any(name not in files for name in reader_files(manifest)):
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


def decode_bundle(
    manifest: Mapping[str, Any],
    files: Mapping[str, bytes | Path],
    where: str,
    *,
    lexical_weights: Sequence[float] = DEFAULT_WEIGHTS,
) -> IndexBundle:
    """Open an IndexBundle from verified files (the docstore as a path, opened in place; the others as bytes or
    paths). `embeddings.npy` is optional (writers need it) and memory-mapped when given as a path."""
    import faiss

    try:
        docstore_path = files[DOCSTORE_FILE]
        if not isinstance(docstore_path, Path):
            raise TypeError("the docstore is opened from a file, not from bytes")
        docstore = Docstore(docstore_path, weights=lexical_weights)
        chunks = ChunkTable(docstore, Chunk)
        pages = PageTable(docstore, StoredPage)
        lexical: FtsLexical | TantivyLexical
        if manifest.get("format_version") == 2:
            lexical = FtsLexical(docstore)
        else:
            archive = files[LEXICAL_FILE]
            if not isinstance(archive, Path):
                raise TypeError("the lexical index is opened from a file, not from bytes")
            folder = unpacked(archive, str(manifest["files"][LEXICAL_FILE]["sha256"]))
            lexical = TantivyLexical(folder, docstore.chunk_count)
        faiss_data = files[FAISS_FILE]
        raw = faiss_data.read_bytes() if isinstance(faiss_data, Path) else faiss_data
        index = faiss.deserialize_index(np.frombuffer(raw, dtype=np.uint8))
        embeddings = None
        if EMBEDDINGS_FILE in files:
            emb = files[EMBEDDINGS_FILE]
            if isinstance(emb, Path):
                embeddings = np.load(emb, mmap_mode="r", allow_pickle=False)
            else:
                embeddings = np.load(io.BytesIO(emb), allow_pickle=False)
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
    counts = (manifest.get("chunk_count", len(chunks)), manifest.get("page_count", len(pages)))
    if index.ntotal != len(chunks) or counts != (len(chunks), len(pages)) or index.d != dimension:
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


def docstore_bytes(chunks: Iterable[Chunk], pages: Mapping[str, StoredPage]) -> bytes:
    """The docstore file of these chunks (in FAISS order) and pages, as bytes."""
    fd, name = tempfile.mkstemp(prefix="helpdesk-docstore-", suffix=".sqlite")
    os.close(fd)
    path = Path(name)
    try:
        path.unlink()
        write_docstore(path, chunks, (pages[pid] for pid in sorted(pages)))
        return path.read_bytes()
    finally:
        path.unlink(missing_ok=True)


STAMP_PREFIX = ".verified-"


def _stamp_path(path: Path) -> Path:
    return path.with_name(f"{STAMP_PREFIX}{path.name}")


def _identity(path: Path) -> dict[str, int]:
    st = path.stat()
    return {"bytes": st.st_size, "mtime_ns": st.st_mtime_ns, "inode": st.st_ino, "device": st.st_dev}


def write_stamp(path: Path, sha256: str) -> None:
    """Remember that `path`, as it is now (size, mtime, inode), hashed to `sha256`; best effort (a read-only
    folder only costs the next reader a full hash)."""
    try:
        stamp = json.dumps({**_identity(path), "sha256": sha256}).encode()
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".stamp-")
        with os.fdopen(fd, "wb") as fh:
            fh.write(stamp)
        os.replace(tmp, _stamp_path(path))
    except OSError:
        return


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def verify_path(manifest: Mapping[str, Any], name: str, path: Path, where: str) -> Path:
    """Check one file in place against the manifest's size and sha256. The full hash is skipped when a stamp
    written after an earlier full check still matches the file's size, mtime and inode and the manifest's hash;
    any rewrite of the file (truncation, a new copy) changes those and the file is hashed again."""
    expected = manifest["files"].get(name)
    if expected is None:
        raise IndexCorrupt(f"index at {where}: {name} is not in the manifest")
    try:
        identity = _identity(path)
    except FileNotFoundError:
        raise IndexCorrupt(f"index at {where}: {name} is missing") from None
    if identity["bytes"] != expected.get("bytes"):
        raise IndexCorrupt(f"index at {where}: {name} fails its checksum (truncated or modified)")
    try:
        stamp = json.loads(_stamp_path(path).read_bytes())
        if isinstance(stamp, dict) and stamp == {**identity, "sha256": expected.get("sha256")}:
            return path
    except (OSError, ValueError):
        pass
    if sha256_file(path) != expected.get("sha256"):
        raise IndexCorrupt(f"index at {where}: {name} fails its checksum (truncated or modified)")
    write_stamp(path, str(expected.get("sha256")))
    return path
