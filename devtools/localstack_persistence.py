"""S3 state that survives restarts of LocalStack's emulator (the local default's storage).

Runs inside the emulator's own venv, imported by ``localstack_boot.py`` when
S3_EMULATOR_PERSIST_DIR is set. LocalStack's community edition keeps S3 in memory: object bytes
in anonymous temporary files, and buckets, versions, tags, policies, CORS and lifecycle rules in
``s3_stores``. Two things make them durable:

- object and part bytes are written through to files under ``<dir>/objects`` (one file per
  object version, named by a hash of key and version, and one per uploaded part), so bytes are on
  disk as soon as S3 has answered the PUT;
- the stores are serialised with LocalStack's own state pickler to ``<dir>/stores.pickle``
  every few seconds when they changed, and once more on a clean stop.

On start the stores are loaded again and checked against the files: a version whose bytes are
missing is dropped, bytes no version records are removed, and ``<dir>/restore.json`` says what
happened, including whether the previous run stopped cleanly. Nothing claims bytes it lacks.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import threading
import time
from typing import Any

from localstack.services.s3.models import S3DeleteMarker, S3Object, VersionedKeyStore, s3_stores
from localstack.services.s3.storage import ephemeral
from localstack.state import pickle as state_pickle

STORES_FILE = "stores.pickle"
RESTORE_REPORT = "restore.json"
CLEAN_STOP_MARKER = "clean-stop"


def _version_file_key(object_key: str, version_id: str | None) -> str:
    # LocalStack keys its files by Python's hash(), which changes with every process.
    return hashlib.sha256(f"{object_key}\0{version_id or 'null'}".encode()).hexdigest()


class DurableFile(ephemeral.LockedFileMixin):
    """A file on disk with the interface the emulator's stored objects expect.

    ``close()`` deletes it, as closing a temporary file does in the in-memory store; ``release()``
    only lets go of the handle, as at shutdown.
    """

    def __init__(self, path: str) -> None:
        super().__init__()
        os.makedirs(os.path.dirname(path), exist_ok=True)
        self.path = path
        self._handle = os.fdopen(os.open(path, os.O_RDWR | os.O_CREAT, 0o600), "r+b")

    def read(self, size: int = -1) -> bytes:
        return self._handle.read(size)

    def write(self, data: bytes) -> int:
        return self._handle.write(data)

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._handle.seek(offset, whence)

    def tell(self) -> int:
        return self._handle.tell()

    def truncate(self, size: int | None = None) -> int:
        return self._handle.truncate(size)

    def flush(self) -> None:
        if not self._handle.closed:  # a refused write (BadDigest) removes the file first
            self._handle.flush()

    def seekable(self) -> bool:
        return True

    def release(self) -> None:
        with contextlib.suppress(OSError):
            self._handle.close()

    def close(self) -> None:
        self.release()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)


class DurableStoredObject(ephemeral.EphemeralS3StoredObject):
    def close(self) -> None:
        # Bytes reach the operating system before S3 answers, so a killed emulator keeps them.
        if self._mode == "w" and not self.closed:
            self.file.flush()
        super().close()


class DurableMultipart(ephemeral.EphemeralS3StoredMultipart):
    def open(self, s3_part: Any, mode: str = "r") -> DurableStoredObject:
        if not (file := self.parts.get(s3_part.part_number)):
            file = DurableFile(os.path.join(self.upload_dir, str(s3_part.part_number)))
            self.parts[s3_part.part_number] = file
        return DurableStoredObject(s3_part, file, mode=mode)

    def close(self) -> None:
        # Called at shutdown and before the upload's folder is removed (which deletes the parts).
        for part in self.parts.values():
            part.release()
        self.parts.clear()


class DurableObjectStore(ephemeral.EphemeralS3ObjectStore):
    """LocalStack's in-memory object store with every object version and part kept in a file."""

    @staticmethod
    def _key_from_s3_object(s3_object: Any) -> str:
        return _version_file_key(s3_object.key, s3_object.version_id)

    def object_path(self, bucket: str, file_key: str) -> str:
        return os.path.join(self.root_directory, bucket, ".objects", file_key[:2], file_key)

    def open(self, bucket: str, s3_object: Any, mode: str = "r") -> DurableStoredObject:
        file_key = self._key_from_s3_object(s3_object)
        keys = self._filesystem[bucket]["keys"]
        if not (file := keys.get(file_key)):
            file = keys[file_key] = DurableFile(self.object_path(bucket, file_key))
            file.internal_last_modified = getattr(s3_object, "internal_last_modified", 0) or 0
        return DurableStoredObject(s3_object=s3_object, file=file, mode=mode)

    def remove(self, bucket: str, s3_object: Any) -> None:
        for one in s3_object if isinstance(s3_object, list) else [s3_object]:
            file_key = self._key_from_s3_object(one)
            file = self._filesystem[bucket]["keys"].pop(file_key, None)
            if file is not None:
                file.close()
            else:  # restored, never opened since
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(self.object_path(bucket, file_key))

    def get_multipart(self, bucket: str, s3_multipart: Any) -> DurableMultipart:
        with self._lock_multipart_create:
            if not (multipart := self._get_multipart(bucket, s3_multipart.id)):
                upload_dir = self._create_upload_directory(bucket, s3_multipart.id)
                multipart = DurableMultipart(self, bucket, s3_multipart, upload_dir)
                self._filesystem[bucket]["multiparts"][s3_multipart.id] = multipart
        return multipart

    def delete_bucket(self, bucket: str) -> None:
        self._filesystem.pop(bucket, None)
        shutil.rmtree(os.path.join(self.root_directory, bucket), ignore_errors=True)

    def close(self) -> None:
        """Shutdown: let go of every handle, keep every byte."""
        for bucket in self._filesystem.values():
            for file in bucket["keys"].values():
                file.release()
            bucket["keys"].clear()
            for multipart in bucket["multiparts"].values():
                multipart.close()
            bucket["multiparts"].clear()


class StatePersistence:
    """Saves ``s3_stores`` when it changed and restores it (with its bytes) at start."""

    def __init__(self, directory: str, interval: float) -> None:
        self.directory = directory
        self.objects_dir = os.path.join(directory, "objects")
        self.interval = interval
        self._last_digest = ""
        self._lock = threading.Lock()
        os.makedirs(self.objects_dir, exist_ok=True)

    # ------------------------------------------------------------------ save

    def save(self) -> bool:
        """Write the stores if they changed since the last save; True when written."""
        with self._lock:
            for _attempt in range(5):
                try:
                    data = state_pickle.dumps(s3_stores)
                    break
                except RuntimeError:  # a request changed a dict while it was pickled
                    time.sleep(0.05)
            else:
                return False
            digest = hashlib.sha256(data).hexdigest()
            if digest == self._last_digest:
                return False
            target = os.path.join(self.directory, STORES_FILE)
            partial = f"{target}.partial"
            with open(partial, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(partial, target)
            self._last_digest = digest
            return True

    def save_periodically(self) -> None:
        def loop() -> None:
            while True:
                time.sleep(self.interval)
                with contextlib.suppress(Exception):  # the next round tries again
                    self.save()

        threading.Thread(target=loop, name="s3-state-saver", daemon=True).start()

    def mark_running(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(os.path.join(self.directory, CLEAN_STOP_MARKER))

    def stop_cleanly(self) -> None:
        self.save()
        with open(os.path.join(self.directory, CLEAN_STOP_MARKER), "w") as handle:
            handle.write(f"{time.time():.0f}\n")

    # ------------------------------------------------------------------ restore

    def restore(self, store: DurableObjectStore) -> dict[str, Any]:
        """Load the saved stores into ``s3_stores``; drop what has no bytes; report."""
        stores_path = os.path.join(self.directory, STORES_FILE)
        report: dict[str, Any] = {
            "previous_stop": "none",
            "restored_buckets": 0,
            "restored_objects": 0,
            "missing_objects": [],
            "unrecorded_files_removed": 0,
            "saved_at": None,
        }
        had_state = os.path.exists(stores_path)
        if had_state:
            clean = os.path.exists(os.path.join(self.directory, CLEAN_STOP_MARKER))
            report["previous_stop"] = "clean" if clean else "unclean"
            report["saved_at"] = os.path.getmtime(stores_path)
            with open(stores_path, "rb") as handle:
                loaded = state_pickle.loads(handle.read())
            self._load_into_bundle(loaded)
            self._last_digest = hashlib.sha256(state_pickle.dumps(s3_stores)).hexdigest()
        recorded = self._check_objects(store, report)
        report["unrecorded_files_removed"] = self._remove_unrecorded(store, recorded)
        self._write_report(report)
        return report

    @staticmethod
    def _load_into_bundle(loaded: Any) -> None:
        # Other modules hold references to the bundle object itself: fill it in place.
        with s3_stores.lock:
            s3_stores.clear()
            s3_stores._universal.clear()
            s3_stores._universal.update(loaded._universal)
            for account_id, region_bundle in loaded.items():
                region_bundle.lock = s3_stores.lock
                region_bundle._universal = s3_stores._universal
                for region_store in region_bundle.values():
                    region_store._universal = s3_stores._universal
                dict.__setitem__(s3_stores, account_id, region_bundle)

    @staticmethod
    def _buckets() -> dict[str, Any]:
        buckets: dict[str, Any] = {}
        for _account, _region, store in s3_stores.iter_stores():
            buckets.update(store.buckets)
        return buckets

    def _check_objects(self, store: DurableObjectStore, report: dict[str, Any]) -> set[str]:
        recorded: set[str] = set()
        buckets = self._buckets()
        report["restored_buckets"] = len(buckets)
        for name, bucket in buckets.items():
            keystore = bucket.objects
            versioned = isinstance(keystore, VersionedKeyStore)
            for s3_object in keystore.values(with_versions=True):
                if isinstance(s3_object, S3DeleteMarker) or not isinstance(s3_object, S3Object):
                    continue
                file_key = _version_file_key(s3_object.key, s3_object.version_id)
                path = store.object_path(name, file_key)
                if os.path.exists(path) and os.path.getsize(path) == (s3_object.size or 0):
                    recorded.add(path)
                    report["restored_objects"] += 1
                    continue
                report["missing_objects"].append(
                    {"bucket": name, "key": s3_object.key, "versionId": s3_object.version_id}
                )
                if versioned:
                    keystore.pop(s3_object.key, s3_object.version_id)
                else:
                    keystore.pop(s3_object.key)
            for upload_id in list(bucket.multiparts):
                recorded.add(os.path.join(store.root_directory, name, upload_id))
        return recorded

    @staticmethod
    def _remove_unrecorded(store: DurableObjectStore, recorded: set[str]) -> int:
        """Bytes written after the last save have no record: they are not kept."""
        removed = 0
        root = store.root_directory
        for bucket in os.listdir(root) if os.path.isdir(root) else []:
            bucket_dir = os.path.join(root, bucket)
            for entry in os.listdir(bucket_dir):
                path = os.path.join(bucket_dir, entry)
                if entry == ".objects":
                    for dirpath, _dirs, files in os.walk(path):
                        for file_name in files:
                            file_path = os.path.join(dirpath, file_name)
                            if file_path not in recorded:
                                os.unlink(file_path)
                                removed += 1
                elif path not in recorded:  # a multipart upload no record knows
                    shutil.rmtree(path, ignore_errors=True)
                    removed += 1
        return removed

    def _write_report(self, report: dict[str, Any]) -> None:
        target = os.path.join(self.directory, RESTORE_REPORT)
        with open(f"{target}.partial", "w") as handle:
            json.dump(report, handle, indent=1)
        os.replace(f"{target}.partial", target)


def install(directory: str, interval: float) -> StatePersistence:
    """Make the S3 provider use the durable store, restore saved state, and keep saving it."""
    from localstack.services.s3 import provider

    persistence = StatePersistence(directory, interval)
    store = DurableObjectStore(persistence.objects_dir)
    report = persistence.restore(store)
    original_init = provider.S3Provider.__init__

    def init_with_durable_store(self: Any, storage_backend: Any = None) -> None:
        original_init(self, storage_backend=storage_backend or store)

    provider.S3Provider.__init__ = init_with_durable_store  # type: ignore[method-assign]
    persistence.mark_running()
    persistence.save_periodically()
    print(
        "localstack_boot: restored S3 state: "
        f"{report['restored_buckets']} buckets, {report['restored_objects']} object versions, "
        f"{len(report['missing_objects'])} missing, previous stop {report['previous_stop']}",
        flush=True,
    )
    return persistence
