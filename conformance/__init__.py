"""Conformance checks, plans, drivers and the ``twofa`` command. Reaches servers over HTTP."""
