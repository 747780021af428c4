"""Test vectors of RFC 4226 Appendix D, RFC 6238 Appendix B and checklist §8.3, as data."""

from __future__ import annotations

SEED_SHA1 = b"12345678901234567890"
SEED_SHA256 = b"12345678901234567890123456789012"
SEED_SHA512 = b"1234567890123456789012345678901234567890123456789012345678901234"
SEEDS = {"SHA1": SEED_SHA1, "SHA256": SEED_SHA256, "SHA512": SEED_SHA512}
SEED_BASE32 = {
    "SHA1": "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ",
    "SHA256": "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZA",
    "SHA512": "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
    "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNA",
}

#: RFC 4226 Appendix D: (counter, HMAC-SHA-1 hex, 6-digit HOTP).
RFC4226_HOTP = [
    (0, "cc93cf18508d94934c64b65d8ba7667fb7cde4b0", "755224"),
    (1, "75a48a19d4cbe100644e8ac1397eea747a2d33ab", "287082"),
    (2, "0bacb7fa082fef30782211938bc1c5e70416ff44", "359152"),
    (3, "66c28227d03a2d5529262ff016a1e6ef76557ece", "969429"),
    (4, "a904c900a64b35909874b33e61c5938a8e15ed1c", "338314"),
    (5, "a37e783d7b7233c083d4f62926c7a25f238d0316", "254676"),
    (6, "bc9cd28561042c83f219324d3c607256c03272ae", "287922"),
    (7, "a4fb960c0bc06e1eabb804e5b397cdc4b45596fa", "162583"),
    (8, "1b3c89f65e6c9e883012052823443f048b4332db", "399871"),
    (9, "1637409809a679dc698207310c8c7fc07290d9e5", "520489"),
]

#: RFC 6238 Appendix B: (unix time, 8-digit TOTP, mode), X = 30, T0 = 0.
RFC6238_TOTP = [
    (59, "94287082", "SHA1"),
    (59, "46119246", "SHA256"),
    (59, "90693936", "SHA512"),
    (1111111109, "07081804", "SHA1"),
    (1111111109, "68084774", "SHA256"),
    (1111111109, "25091201", "SHA512"),
    (1111111111, "14050471", "SHA1"),
    (1111111111, "67062674", "SHA256"),
    (1111111111, "99943326", "SHA512"),
    (1234567890, "89005924", "SHA1"),
    (1234567890, "91819424", "SHA256"),
    (1234567890, "93441116", "SHA512"),
    (2000000000, "69279037", "SHA1"),
    (2000000000, "90698825", "SHA256"),
    (2000000000, "38618901", "SHA512"),
    (20000000000, "65353130", "SHA1"),
    (20000000000, "77737706", "SHA256"),
    (20000000000, "47863826", "SHA512"),
]

#: Checklist §8.3 / ALG-08: counters beyond 32 bits, SHA1 seed, (counter, 6-digit, 8-digit).
BEYOND_32_BIT_COUNTERS = [
    (0x7FFFFFFF, "223505", "27223505"),
    (0x80000000, "197202", "04197202"),
    (0xFFFFFFFF, "117190", "57117190"),
    (0x100000000, "999456", "55999456"),
    (0x100000001, "108930", "39108930"),
    (0x7FFFFFFFFFFFFFFF, "181742", "50181742"),
]

#: Checklist §8.3: Unix times around 2^31 and 2^32, (time, step, 6-digit, 8-digit).
BEYOND_32_BIT_TIMES = [
    (2147483647, 71582788, "703886", "24703886"),
    (2147483648, 71582788, "703886", "24703886"),
    (4294967296, 143165576, "791428", "59791428"),
]

#: Checklist §8.3 bug detectors: outputs a buggy implementation gives; never ours.
#: (description, algorithm, kind, input, digits, wrong output)
BUG_DETECTORS = [
    ("no 0x7f mask", "SHA1", "counter", 0, 6, "238872"),
    ("no 0x7f mask", "SHA1", "counter", 1, 6, "770730"),
    ("no 0x7f mask", "SHA1", "counter", 3, 6, "453077"),
    ("no 0x7f mask", "SHA1", "counter", 9, 6, "004137"),
    ("offset from byte 19", "SHA256", "time", 59, 8, "88769542"),
    ("offset from byte 19", "SHA512", "time", 59, 8, "31748108"),
    ("20-byte seed for SHA256", "SHA256", "time", 59, 8, "32247374"),
    ("20-byte seed for SHA512", "SHA512", "time", 59, 8, "69342147"),
    ("counter truncated to 32 bits", "SHA1", "counter", 0x100000001, 6, "287082"),
    ("missing zero padding", "SHA1", "time", 1111111109, 8, "7081804"),
]


def rfc_uri(algorithm: str, *, digits: int = 8, otp_type: str = "totp", counter: int = 0) -> str:
    """A URI for an RFC seed, as the checklist's §8.4 builds it."""
    extra = f"&counter={counter}" if otp_type == "hotp" else ""
    return (
        f"otpauth://{otp_type}/RFC:{algorithm.lower()}?secret={SEED_BASE32[algorithm]}"
        f"&issuer=RFC&algorithm={algorithm}&digits={digits}{extra}"
    )
