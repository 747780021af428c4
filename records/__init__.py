"""What a result log's records share, defined once: the outcome words, the redaction, the
records themselves (``records.model``, whose JSON schema ``records.schema`` writes) and
the one writer of their lines (``RecordFile``).

Every producer of a result log (``twofa run``, ``replay``, ``check-authenticator``, the
pytest plugin) and every reader of one (``reports/``) import these; this package imports
nothing of ours.
"""

from records.outcome import Outcome, unexpected
from records.redaction import MARKER, PUBLIC_TEST_DATA, redact, redact_uri
from records.writing import RecordFile

__all__ = [
    "MARKER",
    "PUBLIC_TEST_DATA",
    "Outcome",
    "RecordFile",
    "redact",
    "redact_uri",
    "unexpected",
]
