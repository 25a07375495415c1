"""An index on S3 (`s3://bucket/prefix`): immutable versions, a small pointer switched last, a verified /tmp cache.

Layout under the prefix:
- `versions/<version>/<file>`: the files of one version (see `index_store.format`), `manifest.json` written last.
  Every object is written with `If-None-Match: *` (a version is never overwritten) and its SHA-256 checksum, which
  S3 verifies on receipt.
- `CURRENT`: `{"version", "manifest_sha256", "published_at"}`, the version readers load.

Publishing uploads the version, lists it back to check every object is there with the manifest's size, and only
then switches `CURRENT` with a conditional write: `If-Match` on the pointer's ETag as this writer first read it
(`If-None-Match: *` when there was none). If another ingest moved the pointer in between, the switch fails, this
run's version is deleted and `PublishConflict` says so: the pointer always names a complete version, and a stale
run cannot overwrite a newer one. The last `keep` versions are kept.

Readers verify the manifest against the pointer's hash and every file against the manifest, cache files in
`cache_dir` by version id (verified again when read back), and re-read the pointer at most every `refresh_seconds`.
A corrupt or mismatched version, or a pointer that is not valid, is refused with `IndexCorrupt`; when a good
version is already loaded or cached, that one keeps serving and the refusal is logged instead. A writer replaces a
pointer that is not valid (the recovery is `helpdesk ingest --full`), keeping the newest versions as its history.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.aws import LazyClient, error_code
from index_store.exceptions import IndexCorrupt, IndexNotFound, IndexStoreError, PublishConflict
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

if TYPE_CHECKING:
    from index_store.config import IndexConfig

log = logging.getLogger(__name__)

POINTER = "CURRENT"
_VERSION = re.compile(r"^[0-9A-Za-z][0-9A-Za-z._-]{0,127}$")
_ABSENT = "*absent*"
HISTORY = 50  # versions remembered in the pointer
ORPHAN_GRACE = timedelta(hours=1)  # unpublished versions younger than this may belong to a running ingest


@dataclass(frozen=True)
class Pointer:
    version: str
    manifest_sha256: str
    previous: tuple[str, ...] = ()  # versions published before, newest first (what retention keeps)


def parse_s3_url(location: str) -> tuple[str, str]:
    """("bucket", "prefix/") from "s3://bucket/prefix" (pure); the prefix is "" or ends with "/"."""
    m = re.fullmatch(r"s3://([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:/(.*))?", location.strip())
    if not m:
        raise IndexStoreError(f"not an S3 index location: {location!r}; expected s3://bucket/prefix")
    prefix = (m.group(2) or "").strip("/")
    return m.group(1), f"{prefix}/" if prefix else ""


def encode_pointer(
    version: str, manifest_sha256: str, previous: Iterable[str] = (), now: datetime | None = None
) -> bytes:
    when = (now or datetime.now(UTC)).isoformat(timespec="seconds")
    history = [v for v in dict.fromkeys(previous) if v != version][:HISTORY]
    doc = {"version": version, "manifest_sha256": manifest_sha256, "published_at": when, "previous": history}
    return json.dumps(doc, sort_keys=True).encode("utf-8")


def parse_pointer(data: bytes, where: str) -> Pointer:
    """Validate the pointer object (pure)."""
    try:
        doc = json.loads(data.decode("utf-8"))
        version, digest = str(doc["version"]), str(doc["manifest_sha256"])
        previous = tuple(str(v) for v in doc.get("previous") or () if _VERSION.match(str(v)))
    except (UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
        raise IndexCorrupt(
            f"index pointer {where} is not valid (expected JSON with version and manifest_sha256)"
        ) from exc
    if not _VERSION.match(version) or not re.fullmatch(r"[0-9a-f]{64}", digest):
        raise IndexCorrupt(f"index pointer {where} names an invalid version {version!r}")
    return Pointer(version, digest, previous)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class S3IndexStore:
    def __init__(
        self,
        location: str,
        *,
        client: Any | None = None,
        keep: int = 5,
        refresh_seconds: float = 60.0,
        cache_dir: str | Path = "/tmp/helpdesk-index",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.bucket, self.prefix = parse_s3_url(location)
        self.location = f"s3://{self.bucket}/{self.prefix}".rstrip("/")
        self.keep = max(1, keep)
        self.refresh_seconds = refresh_seconds
        self.cache_root = Path(cache_dir) / hashlib.sha256(self.location.encode()).hexdigest()[:16]
        self.clock = clock
        self._s3 = LazyClient.for_service("s3", client)
        self._base_etag: str | None = None  # the pointer ETag this writer first saw (_ABSENT: no pointer)
        self._base_pointer: Pointer | None = None
        self._bundle: IndexBundle | None = None
        self._checked_at: float | None = None
        self._refused: Pointer | None = None

    @classmethod
    def from_config(cls, location: str, config: IndexConfig) -> S3IndexStore:
        return cls(
            location,
            keep=config.keep_versions,
            refresh_seconds=config.refresh_seconds,
            cache_dir=config.cache_dir,
        )

    @property
    def client(self) -> Any:
        return self._s3.get()

    # --- S3 calls, errors translated ------------------------------------------------------------
    def _key(self, *parts: str) -> str:
        return self.prefix + "/".join(parts)

    def _fail(self, exc: Exception, action: str, key: str) -> IndexStoreError:
        code = error_code(exc)
        where = f"s3://{self.bucket}/{key}"
        if code == "NoSuchBucket":
            return IndexStoreError(f"bucket {self.bucket} does not exist (index location {self.location})")
        if code in ("AccessDenied", "403", "AllAccessDisabled", "InvalidAccessKeyId", "SignatureDoesNotMatch"):
            return IndexStoreError(f"access denied to {where} ({code}): the role needs s3:{action} there")
        if code:
            return IndexStoreError(f"S3 {action} {where} failed: {code}: {exc}")
        return IndexStoreError(f"cannot reach S3 for {where}: {exc.__class__.__name__}: {exc}")

    def _get(self, key: str) -> tuple[bytes, str] | None:
        """(body, ETag) or None when the object does not exist."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            response = self.client.get_object(Bucket=self.bucket, Key=key)
            return response["Body"].read(), str(response.get("ETag", ""))
        except ClientError as exc:
            if error_code(exc) in ("NoSuchKey", "404"):
                return None
            raise self._fail(exc, "GetObject", key) from exc
        except BotoCoreError as exc:
            raise self._fail(exc, "GetObject", key) from exc

    def _put(self, key: str, data: bytes | bytearray, **conditions: str) -> str:
        from botocore.exceptions import BotoCoreError, ClientError

        checksum = base64.b64encode(hashlib.sha256(data).digest()).decode()
        try:
            response = self.client.put_object(
                Bucket=self.bucket, Key=key, Body=data, ChecksumSHA256=checksum, **conditions
            )
        except ClientError as exc:
            if error_code(exc) in ("PreconditionFailed", "ConditionalRequestConflict", "412", "409"):
                raise PublishConflict(f"s3://{self.bucket}/{key} changed while this ingest was publishing") from exc
            raise self._fail(exc, "PutObject", key) from exc
        except BotoCoreError as exc:
            raise self._fail(exc, "PutObject", key) from exc
        return str(response.get("ETag", ""))

    def _list(self, prefix: str, delimiter: str = "") -> Iterable[dict[str, Any]]:
        from botocore.exceptions import BotoCoreError, ClientError

        kwargs: dict[str, Any] = {"Bucket": self.bucket, "Prefix": prefix}
        if delimiter:
            kwargs["Delimiter"] = delimiter
        try:
            yield from self.client.get_paginator("list_objects_v2").paginate(**kwargs)
        except (ClientError, BotoCoreError) as exc:
            raise self._fail(exc, "ListBucket", prefix) from exc

    def _delete_version(self, version: str) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        keys = [o["Key"] for page in self._list(self._key("versions", version, "")) for o in page.get("Contents", [])]
        for i in range(0, len(keys), 1000):
            try:
                self.client.delete_objects(
                    Bucket=self.bucket, Delete={"Objects": [{"Key": k} for k in keys[i : i + 1000]], "Quiet": True}
                )
            except (ClientError, BotoCoreError) as exc:
                raise self._fail(exc, "DeleteObject", self._key("versions", version)) from exc

    # --- pointer ----------------------------------------------------------------------------------
    def _read_pointer(self) -> Pointer | None:
        """The pointer; `IndexCorrupt` when it is not valid (its ETag is still the base a publish replaces)."""
        key = self._key(POINTER)
        got = self._get(key)
        first = self._base_etag is None
        if first:
            self._base_etag = got[1] if got else _ABSENT
        pointer = parse_pointer(got[0], f"s3://{self.bucket}/{key}") if got else None
        if first:
            self._base_pointer = pointer
        return pointer

    def current_version(self) -> str | None:
        pointer = self._read_pointer()
        return pointer.version if pointer else None

    # --- reading -----------------------------------------------------------------------------------
    def load(self, *, with_embeddings: bool = False) -> IndexBundle:
        now = self.clock()
        fresh = self._checked_at is not None and now - self._checked_at < self.refresh_seconds
        if self._bundle is not None and fresh and (not with_embeddings or self._bundle.embeddings is not None):
            return self._bundle
        try:
            pointer = self._read_pointer()
        except IndexCorrupt as exc:
            fallback = None if with_embeddings else self._bundle or self._cached_fallback(exclude="")
            if fallback is None:
                raise
            self._checked_at = now
            self._bundle = fallback
            log.warning(
                "index pointer not valid, serving the last good version",
                extra={"serving_version": fallback.version, "reason": str(exc)},
            )
            return fallback
        except IndexStoreError as exc:
            if self._bundle is None or with_embeddings:
                raise
            self._checked_at = now  # S3 unreachable for a moment: keep answering from what is loaded
            log.warning("index pointer not readable, serving the loaded version", extra={"error": str(exc)})
            return self._bundle
        self._checked_at = now
        if pointer is None:
            raise IndexNotFound(f"no published index at {self.location} (no {POINTER} pointer): run `helpdesk ingest`")
        have = self._bundle
        same = have is not None and have.version == pointer.version
        if same and (not with_embeddings or have.embeddings is not None):  # type: ignore[union-attr]
            return have  # type: ignore[return-value]
        if not with_embeddings and have is not None and pointer == self._refused:
            return have
        try:
            bundle = self._fetch(pointer, with_embeddings)
        except IndexCorrupt as exc:
            if with_embeddings:
                raise
            fallback = have or self._cached_fallback(exclude=pointer.version)
            if fallback is None:
                raise
            self._refused = pointer
            log.error(
                "index version refused, still serving the last good one",
                extra={"refused_version": pointer.version, "serving_version": fallback.version, "reason": str(exc)},
            )
            self._bundle = fallback
            return fallback
        self._bundle = bundle
        self._refused = None
        self._prune_cache({bundle.version})
        return bundle

    def _fetch(self, pointer: Pointer, with_embeddings: bool) -> IndexBundle:
        version = pointer.version
        where = f"{self.location}/versions/{version}"

        def manifest_matches(data: bytes) -> None:
            if _sha256(data) != pointer.manifest_sha256:
                raise IndexCorrupt(f"index at {where}: {MANIFEST} does not match the pointer (modified or truncated)")

        manifest = parse_manifest(self._file(version, MANIFEST, manifest_matches, where), where)
        names = reader_files(manifest) + ((EMBEDDINGS_FILE,) if with_embeddings else ())

        def one(name: str) -> tuple[str, bytes | Path]:
            return name, self._file_path(version, name, manifest, where)

        with ThreadPoolExecutor(max_workers=len(names)) as pool:
            files = dict(pool.map(one, names))
        return decode_bundle(manifest, files, where)

    def _file_path(self, version: str, name: str, manifest: dict[str, Any], where: str) -> Path:
        """A data file of a version in the cache, checked in place: the cached copy when it still passes, else
        downloaded from S3 (streamed to disk, never held whole in memory) and checked."""
        path = self.cache_root / version / name
        try:
            return verify_path(manifest, name, path, where)
        except IndexCorrupt:
            pass
        from botocore.exceptions import BotoCoreError, ClientError

        key = self._key("versions", version, name)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{name}.")
        except OSError as exc:
            raise IndexStoreError(f"cannot write the index cache {path.parent}: {exc.strerror or exc}") from exc
        digest = hashlib.sha256()  # hashed as it arrives, overlapping the other files' downloads
        try:
            with os.fdopen(fd, "wb") as fh:
                try:
                    body = self.client.get_object(Bucket=self.bucket, Key=key)["Body"]
                    for block in body.iter_chunks(1 << 20):
                        digest.update(block)
                        fh.write(block)
                except ClientError as exc:
                    if error_code(exc) in ("NoSuchKey", "404"):
                        raise IndexCorrupt(f"index at {where}: {name} is missing") from exc
                    raise self._fail(exc, "GetObject", key) from exc
                except BotoCoreError as exc:
                    raise self._fail(exc, "GetObject", key) from exc
            os.replace(tmp, path)
        except OSError as exc:
            Path(tmp).unlink(missing_ok=True)
            raise IndexStoreError(f"cannot write the index cache {path}: {exc.strerror or exc}") from exc
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        if digest.hexdigest() == manifest["files"][name].get("sha256"):
            write_stamp(path, digest.hexdigest())  # verify_path then checks the size and identity, not the hash
        return verify_path(manifest, name, path, where)

    def _file(self, version: str, name: str, check: Callable[[bytes], object], where: str) -> bytes:
        """A file of a version, checked: from the cache when it still passes, else from S3 (cached when it passes)."""
        path = self.cache_root / version / name
        try:
            data = path.read_bytes()
            check(data)
            return data
        except (OSError, IndexCorrupt):
            pass
        got = self._get(self._key("versions", version, name))
        if got is None:
            raise IndexCorrupt(f"index at {where}: {name} is missing")
        check(got[0])
        self._cache_write(path, got[0])
        return got[0]

    def _cache_write(self, path: Path, data: bytes) -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, path)
        except OSError as exc:  # a full or read-only /tmp costs speed, not correctness
            log.warning("index cache not written", extra={"path": str(path), "error": str(exc)})

    def _cached_fallback(self, exclude: str) -> IndexBundle | None:
        """The newest version in the cache that still verifies whole (the last good one a cold start can use)."""
        try:
            versions = sorted((p.name for p in self.cache_root.iterdir() if p.is_dir()), reverse=True)
        except OSError:
            return None
        for version in versions:
            if version == exclude:
                continue
            folder = self.cache_root / version
            where = f"{folder} (cached {self.location}/versions/{version})"
            try:
                manifest = parse_manifest((folder / MANIFEST).read_bytes(), where)
                names = reader_files(manifest)
                files: dict[str, bytes | Path] = {n: verify_path(manifest, n, folder / n, where) for n in names}
                return decode_bundle(manifest, files, where)
            except (OSError, IndexCorrupt):
                continue
        return None

    # --- publishing --------------------------------------------------------------------------------
    def publish(self, bundle: IndexBundle) -> str:
        if not bundle.version or not _VERSION.match(bundle.version):
            raise ValueError(f"bundle.version must be a valid version id, not {bundle.version!r}")
        files = encode_files(bundle)
        if self._base_etag is None:
            try:
                self._read_pointer()
            except IndexCorrupt as exc:
                log.warning("replacing an index pointer that is not valid", extra={"reason": str(exc)})
        base = self._base_etag
        version = bundle.version
        sizes: dict[str, int] = {}
        manifest_sha = ""
        try:
            with ThreadPoolExecutor(max_workers=4) as pool:
                uploads = []
                for name, data, digest in files:  # each file uploads while the next is encoded
                    sizes[name] = len(data)
                    if name == MANIFEST:
                        for upload in uploads:
                            upload.result()
                        self._put(self._key("versions", version, MANIFEST), data, IfNoneMatch="*")
                        manifest_sha = digest
                    else:
                        uploads.append(
                            pool.submit(self._put, self._key("versions", version, name), data, IfNoneMatch="*")
                        )
                    del data
            self._verify_uploaded(version, sizes)
        except PublishConflict as exc:  # the version id exists already: never touch someone else's files
            raise IndexStoreError(f"version {version} already exists at {self.location}; nothing was changed") from exc
        except BaseException:
            self._try_delete(version)
            raise
        before = self._base_pointer
        if before is not None:
            history: tuple[str, ...] = (before.version, *before.previous)
        elif base not in (None, _ABSENT):  # the pointer was not valid: the newest complete versions stand in
            history = tuple(v for v in self._complete_versions() if v != version)
        else:
            history = ()
        pointer = encode_pointer(version, manifest_sha, history)
        condition = {"IfNoneMatch": "*"} if base in (None, _ABSENT) else {"IfMatch": str(base)}
        try:
            etag = self._put(self._key(POINTER), pointer, **condition)
        except PublishConflict as exc:
            self._try_delete(version)
            raise PublishConflict(
                f"another ingest published to {self.location} while this one ran; this run's version {version} "
                "was discarded and the pointer left on the other run's complete version. Run the ingest again."
            ) from exc
        self._base_etag = etag
        self._base_pointer = parse_pointer(pointer, self._key(POINTER))
        self._prune(self._base_pointer)
        return version

    def _complete_versions(self) -> list[str]:
        """Versions under the prefix that have their manifest (written last), newest first."""
        root = self._key("versions", "")
        found = {
            o["Key"][len(root) :].split("/", 1)[0]
            for page in self._list(root)
            for o in page.get("Contents", [])
            if o["Key"].endswith("/" + MANIFEST)
        }
        return sorted((v for v in found if _VERSION.match(v)), reverse=True)

    def _try_delete(self, version: str) -> None:
        try:
            self._delete_version(version)
        except IndexStoreError as exc:
            log.warning("unpublished version not cleaned up", extra={"version": version, "error": str(exc)})

    def _verify_uploaded(self, version: str, expected: dict[str, int]) -> None:
        sizes = {
            o["Key"].rsplit("/", 1)[-1]: int(o["Size"])
            for page in self._list(self._key("versions", version, ""))
            for o in page.get("Contents", [])
        }
        for name, size in expected.items():
            if sizes.get(name) != size:
                raise IndexStoreError(
                    f"uploaded {self.location}/versions/{version}/{name} reads back as {sizes.get(name)} bytes, "
                    f"not {size}; the pointer was not moved"
                )

    def _prune(self, pointer: Pointer) -> None:
        """Keep the current version and the `keep - 1` published before it; drop older ones and stale orphans."""
        keep = {pointer.version, *pointer.previous[: self.keep - 1]}
        retired = set(pointer.previous[self.keep - 1 :])
        root = self._key("versions", "")
        newest: dict[str, datetime] = {}
        for page in self._list(root):
            for o in page.get("Contents", []):
                version = o["Key"][len(root) :].split("/", 1)[0]
                newest[version] = max(newest.get(version, o["LastModified"]), o["LastModified"])
        now = newest.get(pointer.version) or datetime.now(UTC)
        for version, modified in sorted(newest.items()):
            if version in keep:
                continue
            if version in retired or now - modified > ORPHAN_GRACE:
                self._try_delete(version)
        self._prune_cache({pointer.version})

    def _prune_cache(self, keep: set[str]) -> None:
        try:
            cached = sorted((p for p in self.cache_root.iterdir() if p.is_dir()), key=lambda p: p.name, reverse=True)
        except OSError:
            return
        for folder in cached[2:]:
            if folder.name not in keep:
                shutil.rmtree(folder, ignore_errors=True)
