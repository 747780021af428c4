"""The conformance plans. Importing this package registers every check."""

from conformance.plans import algorithm, replay

__all__ = ["algorithm", "replay"]
