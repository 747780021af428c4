"""Make many TOTP tokens in a privacyIDEA set up by ``serve.py``, for ``make bench``.

Run in privacyIDEA's own environment (``.peers/privacyidea``) by
``benchmarks/privacyidea_peer.py``; nothing of the harness imports it.

    python bench_tokens.py --config STATE/pi.cfg --keys FILE

``FILE`` holds one ``SERIAL HEXKEY`` a line. Each becomes a TOTP token (SHA-1,
6 digits, 30 s, no PIN, no user) through privacyIDEA's own ``init_token``,
the function ``POST /token/init`` calls, inside the app: thousands of tokens
through the REST API (one audit entry and one admin check each) would take
minutes, and making them is not what the bench measures. Prints
``made N tokens`` at the end.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True, type=Path)
    parser.add_argument("--keys", required=True, type=Path)
    arguments = parser.parse_args()

    from privacyidea.app import create_app
    from privacyidea.lib.token import init_token

    app = create_app(
        config_name="production", config_file=str(arguments.config.resolve()), silent=True
    )
    made = 0
    with app.app_context():
        for line in arguments.keys.read_text(encoding="ascii").splitlines():
            serial, key = line.split()
            init_token(
                {
                    "type": "totp",
                    "serial": serial,
                    "otpkey": key,
                    "genkey": 0,
                    "otplen": 6,
                    "hashlib": "sha1",
                    "timeStep": 30,
                }
            )
            made += 1
    print(f"made {made} tokens", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
