"""The bare endpoint ``make bench`` compares the reference server with.

A Flask app with one route, ``POST /api/v1/auth/otp``: it reads the JSON body
and answers a small JSON object, nothing else (no database, no checks). It is
served exactly as the reference server is, by ``reference_server.serving``
(gunicorn, the same options, sync workers), so the ratio of the two is what
the server's own work costs.

    python -m benchmarks.bare_flask --port PORT [--workers 2]

prints ``bare flask listening on http://127.0.0.1:PORT`` once every worker is forked.
"""

from __future__ import annotations

import argparse
import sys

from flask import Flask, Response, jsonify, request

from reference_server.serving import listen, run_gunicorn

LISTENING = "bare flask listening on"


def make_app() -> Flask:
    """One JSON route, the shape of the reference server's answer to a code."""
    app = Flask("bare_flask")

    @app.post("/api/v1/auth/otp")
    def otp() -> tuple[Response, int]:
        body = request.get_json(silent=True) or {}
        return jsonify({"token": "bare", "next": "done", "got": len(body)}), 200

    return app


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    listener = listen("127.0.0.1", args.port)
    url = f"http://127.0.0.1:{listener.getsockname()[1]}"

    def ready() -> None:
        print(f"{LISTENING} {url}", flush=True)

    return run_gunicorn(make_app(), listener, workers=args.workers, threads=1, on_ready=ready)


if __name__ == "__main__":
    sys.exit(main())
