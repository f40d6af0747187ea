"""Archive handling for the agent: format (ARC-01), download and checksum (ARC-02/03), entry safety
(ARC-04), limits (ARC-05) and root layout (ARC-06)."""

from .entries import EntryProblem, check_entry_name
from .extract import ExtractResult, Limits, extract_archive
from .fetch import fetch, sha256_file, validate_sha256
from .formats import archive_format

__all__ = [
    "EntryProblem",
    "ExtractResult",
    "Limits",
    "archive_format",
    "check_entry_name",
    "extract_archive",
    "fetch",
    "sha256_file",
    "validate_sha256",
]
