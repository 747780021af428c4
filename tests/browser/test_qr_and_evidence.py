"""QR decoding from pixels and screenshot evidence, on pages that need no server."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import segno
from PIL import Image
from playwright.sync_api import Page

from conformance.browser import Evidence, QrDecodeError, decode_qr_png
from conformance.browser.evidence import slug
from conformance.browser.pages import QR_NAME

URI = (
    "otpauth://totp/Remote%20Support:v5%40conformance.test"
    "?secret=J6X3TYWEP672JA7U27XKWYKY74XHX2LO&issuer=Remote%20Support"
    "&algorithm=SHA1&digits=6&period=30"
)


def png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def qr_png(text: str, scale: int) -> bytes:
    buffer = io.BytesIO()
    segno.make(text, error="m").save(buffer, kind="png", scale=scale, border=4)
    return buffer.getvalue()


@pytest.mark.parametrize("scale", [2, 4, 8])
def test_the_uri_comes_back_from_a_png_at_any_usable_scale(scale: int) -> None:
    assert decode_qr_png(qr_png(URI, scale)) == URI


def test_an_image_without_a_qr_code_is_refused() -> None:
    with pytest.raises(QrDecodeError, match="no QR code"):
        decode_qr_png(png(Image.new("RGB", (200, 200), "white")))


def test_bytes_that_are_no_image_are_refused() -> None:
    with pytest.raises(QrDecodeError, match="not a readable image"):
        decode_qr_png(b"<html>error</html>")


def test_two_qr_codes_in_one_picture_are_refused() -> None:
    first = Image.open(io.BytesIO(qr_png(URI, 4)))
    second = Image.open(io.BytesIO(qr_png("otpauth://totp/x?secret=GEZDGNBV", 4)))
    both = Image.new("RGB", (first.width + second.width + 40, max(first.height, second.height)))
    both.paste(Image.new("RGB", both.size, "white"))
    both.paste(first, (0, 0))
    both.paste(second, (first.width + 40, 0))
    with pytest.raises(QrDecodeError, match="2 QR codes"):
        decode_qr_png(png(both))


def test_slugs_are_file_names() -> None:
    assert slug("Verification email has been sent: The code is wrong!") == (
        "verification-email-has-been-sent-the-code-is-wro"
    )
    assert slug("***") == "step"


def test_disabled_evidence_saves_and_records_nothing(tmp_path: Path) -> None:
    evidence = Evidence(None)
    assert evidence.save_png(qr_png(URI, 2), "QR") is None
    assert evidence.records == []


@pytest.mark.browser
def test_a_qr_element_screenshot_decodes_to_the_uri_and_is_kept(page: Page, tmp_path: Path) -> None:
    image = segno.make(URI, error="m").png_data_uri(scale=4)
    page.set_content(f'<main><h1>Connect</h1><img alt="{QR_NAME}" src="{image}"></main>')
    element = page.get_by_role("img", name=QR_NAME, exact=True)
    shot = element.screenshot()
    evidence = Evidence(tmp_path, folder="evidence/connect")
    evidence.save_png(shot, "QR code as shown")
    evidence.screenshot(page, "Connect to your mobile device")
    assert decode_qr_png(shot) == URI
    assert evidence.records == [
        {
            "kind": "screenshot",
            "title": "QR code as shown",
            "path": "evidence/connect/01-qr-code-as-shown.png",
        },
        {
            "kind": "screenshot",
            "title": "Connect to your mobile device",
            "path": "evidence/connect/02-connect-to-your-mobile-device.png",
        },
    ]
    for record in evidence.records:
        with Image.open(tmp_path / record["path"]) as saved:
            assert saved.format == "PNG"
            assert saved.width > 0
