"""An index in a local folder.

Layout: `LOCATION/versions/<version>/` holds the files of each version; `LOCATION/CURRENT` names the live one.
A version folder is written under a temporary name, fsynced and renamed; only then is `CURRENT` replaced
(`os.replace`, atomic on POSIX). A crash at any point leaves `CURRENT` naming a complete version, so a
half-written index is never read. The last `keep` versions are kept; a temporary folder left by a publish that
was killed is removed by a later publish once it is older than `STALE_TMP_SECONDS`.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import time
from pathlib import Path

from index_store.exceptions import IndexCorrupt, IndexNotFound, IndexStoreError
from index_store.format import (
    EMBEDDINGS_FILE,
    MANIFEST,
    IndexBundle,
    decode_bundle,
    encode_files,
    parse_manifest,
    reader_files,
    verify_path,
    write_stamp,
)

POINTER = "CURRENT"
VERSION_NAME = re.compile(
    r"[0-9A-Za-z][0-9A-Za-z._-]{0,127}"
)  # what `new_version_id` makes, and nothing a path can escape with
TMP_PREFIX = ".tmp-"
STALE_TMP_SECONDS = 15 * 60  # no publish takes this long between creating its folder and renaming it


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_atomic(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


class LocalIndexStore:
    def __init__(self, location: str | Path, *, keep: int = 3) -> None:
        self.root = Path(location)
        self.location = str(self.root)
        self.keep = max(1, keep)

    @property
    def versions_dir(self) -> Path:
        return self.root / "versions"

    def current_version(self) -> str | None:
        path = self.root / POINTER
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise IndexStoreError(f"cannot read {path}: {exc}") from exc
        try:
            version = data.decode("utf-8").strip()
        except UnicodeDecodeError as exc:
            raise IndexCorrupt(
                f"index pointer {path} is not a version name (not UTF-8 text); re-run `helpdesk ingest --full`"
            ) from exc
        return version or None

    def load(self, *, with_embeddings: bool = False) -> IndexBundle:
        try:
            return self._load(with_embeddings)
        except OSError as exc:  # permissions, a file where a folder should be, I/O errors
            raise IndexStoreError(f"cannot read the index at {self.root}: {exc.strerror or exc}") from exc

    def _load(self, with_embeddings: bool) -> IndexBundle:
        blocked = next((p for p in (self.root, *self.root.parents) if p.exists() and not p.is_dir()), None)
        if blocked is not None:  # caught before any embedding work, not after it at publish time
            raise IndexStoreError(f"cannot use {self.root} as an index folder: {blocked} is a file")
        if not self.root.exists():
            raise IndexNotFound(f"no index at {self.root}: run `helpdesk ingest` first")
        version = self.current_version()
        if version is None:
            raise IndexNotFound(
                f"no published index at {self.root} (no {POINTER} pointer): run `helpdesk ingest` first"
            )
        folder = self.versions_dir / version
        where = str(folder)
        if not VERSION_NAME.fullmatch(version) or not folder.is_dir():
            raise IndexCorrupt(f"{self.root / POINTER} names version {version!r}, which is missing")
        try:
            manifest = parse_manifest((folder / MANIFEST).read_bytes(), where)
        except FileNotFoundError as exc:
            raise IndexCorrupt(f"index at {where} has no {MANIFEST}") from exc
        names = reader_files(manifest) + ((EMBEDDINGS_FILE,) if with_embeddings else ())
        files: dict[str, bytes | Path] = {name: verify_path(manifest, name, folder / name, where) for name in names}
        return decode_bundle(manifest, files, where)

    def publish(self, bundle: IndexBundle) -> str:
        try:
            return self._publish(bundle)
        except OSError as exc:
            raise IndexStoreError(f"cannot write the index at {self.root}: {exc.strerror or exc}") from exc

    def _publish(self, bundle: IndexBundle) -> str:
        if not bundle.version:
            raise ValueError("bundle.version must be set before publishing")
        files = encode_files(bundle)
        self.versions_dir.mkdir(parents=True, exist_ok=True)
        final = self.versions_dir / bundle.version
        if final.exists():
            raise IndexStoreError(f"version {bundle.version} already exists at {self.root}")
        tmp = Path(tempfile.mkdtemp(dir=self.versions_dir, prefix=f"{TMP_PREFIX}{bundle.version}-"))
        try:
            for name, data, digest in files:  # one file in memory at a time, the manifest last
                with open(tmp / name, "wb") as fh:
                    fh.write(data)
                    fh.flush()
                    os.fsync(fh.fileno())
                write_stamp(tmp / name, digest)
                del data
            _fsync_dir(tmp)
            os.rename(tmp, final)
            _fsync_dir(self.versions_dir)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        _write_atomic(self.root / POINTER, (bundle.version + "\n").encode("utf-8"))
        self._prune(current=bundle.version)
        return bundle.version

    def _prune(self, current: str) -> None:
        versions = sorted(p.name for p in self.versions_dir.iterdir() if p.is_dir() and not p.name.startswith("."))
        old = [v for v in versions if v != current][: max(0, len(versions) - self.keep)]
        for v in old:
            shutil.rmtree(self.versions_dir / v, ignore_errors=True)
        self._prune_stale_tmp(time.time())

    def _prune_stale_tmp(self, now: float) -> None:
        """Remove the temporary folders of publishes killed part-way (kill -9, power loss). A folder younger than
        `STALE_TMP_SECONDS` may belong to a publish still running, and is left alone."""
        for path in self.versions_dir.iterdir():
            if not path.name.startswith(TMP_PREFIX) or not path.is_dir() or path.is_symlink():
                continue
            try:
                age = now - path.stat().st_mtime
            except OSError:
                continue
            if age > STALE_TMP_SECONDS:
                shutil.rmtree(path, ignore_errors=True)
