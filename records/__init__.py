"""What a result log's records share, defined once: the outcome words, the redaction and
the records themselves (``records.model``, whose JSON schema ``records.schema`` writes).

Every producer of a result log (``twofa run``, ``replay``, ``check-authenticator``, the
pytest plugin) and every reader of one (``reports/``) import these; this package imports
nothing of ours.
"""

from records.outcome import Outcome, unexpected
from records.redaction import MARKER, PUBLIC_TEST_DATA, redact, redact_uri

__all__ = ["MARKER", "PUBLIC_TEST_DATA", "Outcome", "redact", "redact_uri", "unexpected"]
