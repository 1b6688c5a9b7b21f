"""Evidence storage: snapshots, clips and field photos behind one interface, in a local folder
(the default) or an S3-compatible bucket; keys are always chosen by the centre."""

from __future__ import annotations

from api.evidence.local import LocalStore
from api.evidence.s3 import S3Store
from api.evidence.store import (
    CONTENT_TYPES,
    ChecksumMismatch,
    Digest,
    EvidenceMissing,
    EvidenceStore,
    EvidenceStoreError,
    InvalidKey,
    KeyScope,
    Reader,
    StoredFile,
    UnsupportedContentType,
    check_key,
    evidence_key,
    extension,
    looks_like,
    measure,
)
from api.settings import EvidenceStoreConfig

__all__ = [
    "CONTENT_TYPES", "ChecksumMismatch", "Digest", "EvidenceMissing", "EvidenceStore",
    "EvidenceStoreError", "InvalidKey", "KeyScope", "LocalStore", "Reader", "S3Store",
    "StoredFile", "UnsupportedContentType", "check_key", "evidence_key", "extension",
    "looks_like", "measure", "open_store",
]


def open_store(config: EvidenceStoreConfig) -> EvidenceStore:
    """The store the config names."""
    if config.backend == "s3":
        assert config.s3 is not None  # the config refuses s3 without its section
        return S3Store(config.s3)
    return LocalStore(config.folder)
