"""Renderers that turn result logs into JSON, JUnit XML and HTML reports."""
