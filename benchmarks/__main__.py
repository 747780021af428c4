"""``make bench``: print the harness's throughput figures.

Each figure is the median of several timed rounds on one core, except the
reference server's (``benchmarks/throughput.py``: wrk against gunicorn on
every core). Nothing here passes or fails; compare the figures with the
targets printed beside them.

    python -m benchmarks                 # everything (make bench)
    python -m benchmarks throughput ...  # the server's throughput alone (--help)
    python -m benchmarks request_cost    # one sign-in code's cost in-process (--help)
"""

from __future__ import annotations

import hashlib
import hmac
import platform
import statistics
import sys
import time
from collections.abc import Callable

from benchmarks import (
    browser_enrollment,
    request_cost,
    run_by_plan,
    scenarios,
    targets,
    throughput,
    vendor,
)
from simulators.clock import ManualClock
from simulators.device import AuthenticatorDevice

KEY = b"12345678901234567890"
URI = "otpauth://totp/Bench:alice?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Bench"
ROUNDS = 7
CODES_PER_ROUND = 100_000


def rate(loop: Callable[[int], object], count: int) -> float:
    """Median codes per second of ``loop(count)`` over ROUNDS rounds."""
    loop(1_000)  # warm caches and the interpreter's specialisation
    rates = []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        loop(count)
        rates.append(count / (time.perf_counter() - start))
    return statistics.median(rates)


def bare_hmac_floor(count: int) -> None:
    """The floor: hmac.digest plus dynamic truncation, nothing else."""
    digest = hmac.digest
    sha1 = hashlib.sha1
    for step in range(count):
        mac = digest(KEY, step.to_bytes(8, "big"), sha1)
        offset = mac[-1] & 0x0F
        str((int.from_bytes(mac[offset : offset + 4], "big") & 0x7FFFFFFF) % 1_000_000).zfill(6)


def device_codes(count: int) -> None:
    device = AuthenticatorDevice("rfc-reference", ManualClock(0))
    account = device.provision_from_uri(URI)
    code_at = account.code_at
    for step in range(count):
        code_at(step * 30)


def device_codes_via_device(count: int) -> None:
    device = AuthenticatorDevice("rfc-reference", ManualClock(0))
    device.provision_from_uri(URI)
    for step in range(count):
        device.code_at(step * 30)


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["throughput"]:
        throughput.main(args[1:])
        return
    if args[:1] == ["request_cost"]:
        request_cost.main(args[1:])
        return
    if args:
        sys.exit(
            "usage: python -m benchmarks [throughput | request_cost [--help | OPTIONS]],"
            f" not {args}"
        )
    print(f"twofa-harness benchmarks (Python {platform.python_version()}, {platform.machine()})")
    print(f"median of {ROUNDS} rounds of {CODES_PER_ROUND:,} codes, SHA1, 6 digits\n")
    floor = rate(bare_hmac_floor, CODES_PER_ROUND)
    account = rate(device_codes, CODES_PER_ROUND)
    device = rate(device_codes_via_device, CODES_PER_ROUND)
    print(f"{'bare hmac.digest + truncation (floor)':48} {floor:>12,.0f} codes/s")
    print(
        f"{'device account.code_at(t)':48} {account:>12,.0f} codes/s"
        f"  {account / floor:6.0%} of floor (target >= 60%)"
    )
    print(
        f"{'device.code_at(t) (account lookup included)':48} {device:>12,.0f} codes/s"
        f"  {device / floor:6.0%} of floor"
    )
    print()
    browser_enrollment.main()
    print()
    run_by_plan.main()
    print()
    scenarios.main()
    print()
    vendor.main()
    print()
    targets.main()
    print()
    request_cost.main([])
    print()
    throughput.main([])


if __name__ == "__main__":
    main()
