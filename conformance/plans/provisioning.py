"""Provisioning: what the connect-device step hands out (checklist §2, the seed's wizard)."""

from __future__ import annotations

import base64
import binascii
import re
from typing import Final

from conformance.checks import CheckContext, Step, check
from conformance.drivers.seam import Capability
from conformance.qr import QrDecodeError, decode_qr_png
from conformance.session import V5_AGENT, Agent, check_seed
from records import redact_uri
from simulators.dialects import COLUMNS, SOURCES, lint_dialect
from simulators.hotp import OtpError, decode_base32
from simulators.otpauth import OtpauthError, lint_uri, parse_uri

#: The contract's manual key: unpadded upper-case Base32 in groups of four, single spaces.
MANUAL_KEY: Final = re.compile(r"^[A-Z2-7]{1,4}( [A-Z2-7]{1,4})*$")


def at_connect_device(
    ctx: CheckContext, *, client: str = "web", version: str = "4.3.1575"
) -> Agent:
    """A fresh seed, then the v5 agent at the connect-device step, its answer kept."""
    run = ctx.run
    run.fresh_start(check_seed(V5_AGENT))
    agent = run.agent(client=client, version=version)
    with ctx.step(f"Reach the connect-device step as a {client} client", ("ENR-02",)) as step:
        agent.reach_device_step(step)
        if not step.expect_status(agent.get_device(), 200):
            step.stop()
    return agent


def uri_of(agent: Agent, step: Step) -> str:
    uri = agent.provisioning.get("otpauth_uri")
    if not isinstance(uri, str):
        step.stop("the device answer has no otpauth_uri")
    return uri


def provisioned_uri(ctx: CheckContext) -> tuple[str, dict[str, object], str]:
    """The otpauth URI a fresh credential came with, its other fields, and its label.

    Not applicable where the target hands out no URI (the harness writes the secret).
    """
    prober = ctx.run.measured.prober
    credential, _ = prober.fresh(10)
    prober.drop(credential)
    if credential.uri is None:
        ctx.not_applicable(
            "the target hands out no otpauth URI: the harness writes the secret, "
            "as whoever sets a user up there does"
        )
    return credential.uri, credential.fields, credential.label


@check(
    "provisioning-uri-lints-clean",
    "Hand out an otpauth URI that follows the Key Uri Format",
    plan="provisioning",
    requirements=("URI-01", "URI-02", "URI-03", "URI-04", "SEC-01", "SEC-02", "WIN-08"),
    needs=(Capability.VERIFIER,),
    killed_by=("short_secret",),
)
def uri_lints_clean(ctx: CheckContext) -> None:
    """Lint the URI a fresh credential is handed out with (``twofa lint-uri``): no error;
    the label's issuer and the issuer parameter agree, and with the fields handed out
    beside the URI (issuer, account) where the target gives them."""
    uri, fields, _ = provisioned_uri(ctx)
    with ctx.step("Lint the otpauth URI", ("URI-01", "URI-03", "SEC-01", "WIN-08")) as step:
        findings = lint_uri(uri)
        step.evidence(
            uri_shape=redact_uri(uri),
            findings=[f"{f.severity} {f.requirement}: {f.message}" for f in findings],
        )
        errors = [f for f in findings if f.severity == "error"]
        step.expect(not errors, "; ".join(f"{f.requirement}: {f.message}" for f in errors))
        for warning in (f for f in findings if f.severity == "warning"):
            step.warn(f"{warning.requirement}: {warning.message}")
    with ctx.step("The issuer and account agree everywhere", ("URI-02", "URI-04")) as step:
        try:
            parsed = parse_uri(uri)
        except OtpauthError as exc:
            step.stop(f"the URI cannot be read: {exc}")
        step.evidence(
            label_issuer=parsed.label_issuer,
            issuer_parameter=parsed.issuer_parameter,
            issuer_field=fields.get("issuer"),
            account=parsed.account,
            account_field=fields.get("account"),
        )
        if parsed.label_issuer is not None and parsed.issuer_parameter is not None:
            step.expect(
                parsed.label_issuer == parsed.issuer_parameter,
                "the label's issuer and the issuer parameter differ",
            )
        if "issuer" in fields:
            step.expect(
                parsed.issuer == fields.get("issuer"),
                "the URI's issuer differs from the issuer field handed out with it",
            )
        if "account" in fields:
            step.expect(
                parsed.account == fields.get("account"),
                "the label's account differs from the account field handed out with it",
            )


#: Rules a producer cannot all satisfy, because other dialects ask the opposite; a URI
#: that breaks one of them made a choice (docs/uri-dialects.md), shown in the evidence
#: and never a warning. Any other warning of a dialect makes the check a warning.
TRADE_OFFS: Final[dict[str, str]] = {
    "A-3.4.2-2": "a domain issuer is RECOMMENDED, but Google's wiki and Yubico's page use "
    "the display name that apps show",
    "L-3.2-3": "the authors discourage the issuer prefix, which Google, Yubico and Apple "
    "put in the label",
    "AP-1": "apple-otpauth: is Apple's link scheme; a QR code for every app carries otpauth:",
    "AP-8": "Apple wants a domain issuer; Google's wiki and Yubico's page use a display name",
    "AP-9": "Apple does not document algorithm; the other dialects define it and a non-SHA1 "
    "policy needs it",
}


@check(
    "provisioning-uri-dialects",
    "Hand out an otpauth URI that every dialect's rules accept",
    plan="provisioning",
    requirements=("URI-01", "URI-02", "URI-03", "URI-04", "URI-05", "URI-06", "URI-07"),
    needs=(Capability.VERIFIER,),
    killed_by=("unencoded_label",),
)
def uri_dialects(ctx: CheckContext) -> None:
    """Lint the URI a fresh credential is handed out with against each dialect in strict mode
    (``twofa lint-uri --dialect all --strict``): no dialect may find an error (a URI its
    consumers must or should reject, or a MUST a producer breaks). The choices between
    contradicting dialects (``TRADE_OFFS``) are notes in the evidence; any other warning
    makes the check a warning."""
    uri, _, _ = provisioned_uri(ctx)
    with ctx.step("Read the otpauth URI", ("URI-01",)) as step:
        step.evidence(uri_shape=redact_uri(uri))
    for dialect, column in COLUMNS.items():
        with ctx.step(f"Lint the URI as {dialect} ({column})", ("URI-01", "URI-03")) as step:
            verdict = lint_dialect(uri, dialect, strict=True)
            step.evidence(
                rules=SOURCES[dialect],
                verdict=verdict.verdict,
                findings=[
                    f"{f.severity} {f.rule.id} [{f.rule.keyword}]: {f.message}"
                    for f in verdict.findings
                ],
                trade_offs=[
                    f"{f.rule.id}: {TRADE_OFFS[f.rule.id]}"
                    for f in verdict.findings
                    if f.rule.id in TRADE_OFFS
                ],
            )
            step.expect(
                not verdict.errors,
                "; ".join(f"{f.rule.id} [{f.rule.keyword}]: {f.message}" for f in verdict.errors),
            )
            for warning in verdict.warnings:
                if warning.rule.id not in TRADE_OFFS:
                    step.warn(f"{warning.rule.id} [{warning.rule.keyword}]: {warning.message}")


@check(
    "provisioning-qr-encodes-the-uri",
    "Draw a QR code whose pixels decode to exactly the otpauth URI",
    plan="provisioning",
    requirements=("URI-01", "URI-03", "ENR-09"),
    killed_by=("qr_uri_mismatch",),
)
def qr_encodes_the_uri(ctx: CheckContext) -> None:
    """Decode ``qr_png_base64`` from its pixels with zxing-cpp, as a phone camera would,
    and compare the text with ``otpauth_uri`` character for character."""
    agent = at_connect_device(ctx)
    with ctx.step("Decode the QR code's pixels") as step:
        uri = uri_of(agent, step)
        raw = agent.provisioning.get("qr_png_base64")
        if not isinstance(raw, str):
            step.stop("a web client got no qr_png_base64")
        try:
            png = base64.b64decode(raw, validate=True)
        except binascii.Error as exc:
            step.stop(f"qr_png_base64 is not Base64: {exc}")
        step.evidence(png_bytes=len(png))
        try:
            text = decode_qr_png(png)
        except QrDecodeError as exc:
            step.stop(f"qr_png_base64: {exc}")
    with ctx.step("The decoded text is the otpauth URI", ("URI-01", "URI-03")) as step:
        same = text == uri
        # Only whether they differ and where: the URI carries the secret.
        where = next((i for i, (a, b) in enumerate(zip(text, uri, strict=False)) if a != b), None)
        step.evidence(equal=same, lengths=[len(text), len(uri)], first_difference_at=where)
        step.expect(same, "the QR code's text differs from otpauth_uri")


@check(
    "provisioning-manual-key-matches-the-uri",
    "Show a manual key in groups of four that is the URI's secret",
    plan="provisioning",
    requirements=("URI-03", "SEC-01"),
    killed_by=("manual_key_truncated",),
)
def manual_key_matches_the_uri(ctx: CheckContext) -> None:
    """The key a user types (``manual_key``) is unpadded Base32 in groups of four and
    decodes to the same bytes as the URI's ``secret``; a typed-key device then
    computes the same codes as a scanned one."""
    agent = at_connect_device(ctx)
    with ctx.step("The manual key is Base32 in groups of four", ("URI-03",)) as step:
        key = agent.provisioning.get("manual_key")
        if not isinstance(key, str):
            step.stop("the device answer has no manual_key")
        groups = key.split(" ")
        step.evidence(group_lengths=[len(g) for g in groups])
        step.expect(bool(MANUAL_KEY.match(key)), "the manual key is not Base32 groups of A-Z, 2-7")
        step.expect(
            all(len(g) == 4 for g in groups[:-1]),
            "the manual key's groups are not of four characters",
        )
    with ctx.step("The manual key decodes to the URI's secret", ("URI-03", "SEC-01")) as step:
        try:
            typed = decode_base32(key.replace(" ", ""))
            scanned = parse_uri(uri_of(agent, step)).key()
        except (OtpError, OtpauthError) as exc:
            step.stop(f"a key cannot be decoded: {exc}")
        step.evidence(typed_bits=len(typed) * 8, uri_bits=len(scanned) * 8)
        step.expect(typed == scanned, "the manual key and the URI's secret are different keys")
    with ctx.step("A typed-key device and a scanning device show the same code") as step:
        run = ctx.run
        scanned_device, typed_device = run.device(), run.device()
        by_uri = agent.provision(scanned_device)
        by_key = agent.provision(typed_device, typed=True)
        if by_uri is None or by_key is None:
            step.stop("the RFC reference device refused the URI or the typed key")
        codes = (scanned_device.code_now(), typed_device.code_now())
        step.evidence(codes=list(codes))
        step.expect(codes[0] == codes[1], "the two devices show different codes")


@check(
    "provisioning-not-cacheable",
    "Forbid caching of the answer that carries the secret",
    plan="provisioning",
    requirements=("URI-10", "ENR-09"),
    killed_by=("cacheable_provisioning",),
)
def not_cacheable(ctx: CheckContext) -> None:
    """The connect-device answer holds the secret: ``Cache-Control: no-store`` keeps it
    out of browser and proxy caches."""
    agent = at_connect_device(ctx)
    with ctx.step("Fetch the device answer again and read its headers") as step:
        exchange = step.exchange(agent.get_device())
        cache_control = exchange.headers.get("Cache-Control", "")
        directives = {d.strip().lower() for d in cache_control.split(",")}
        step.evidence(cache_control=cache_control or None)
        step.expect(exchange.status == 200, f"answered {exchange.describe()}, expected 200")
        step.expect("no-store" in directives, "the answer has no Cache-Control: no-store")


@check(
    "provisioning-no-qr-for-mobile",
    "Give a mobile client the key to type, not a QR code",
    plan="provisioning",
    requirements=("SEED-03", "URI-03"),
    killed_by=("qr_for_mobile",),
)
def no_qr_for_mobile(ctx: CheckContext) -> None:
    """A mobile app runs on the phone whose camera would scan the code, so the seed
    has the user type the key: no ``qr_png_base64``, but a manual key."""
    agent = at_connect_device(ctx, client="mobile", version="4.3.1575")
    with ctx.step("The mobile answer has a manual key and no QR code", ("SEED-03",)) as step:
        info = agent.provisioning
        step.evidence(fields=sorted(info))
        step.expect("qr_png_base64" not in info, "a mobile client got a QR code")
        step.expect(isinstance(info.get("manual_key"), str), "a mobile client got no manual key")
    with ctx.step("A typed key enrolls the mobile agent", ("URI-09",)) as step:
        device = ctx.run.device()
        if agent.provision(device, typed=True) is None:
            step.stop("the RFC reference device refused the typed key")
        code = device.code_now()
        step.evidence(code=code)
        step.expect_status(agent.confirm(code), 200)
