"""Reading a QR code from pixels, as a phone's camera would (zxing-cpp; no browser needed).

Shared by the browser driver (element screenshots) and the provisioning plan
(the API's ``qr_png_base64``)."""

from __future__ import annotations

import io

import zxingcpp
from PIL import Image, UnidentifiedImageError

QR_ONLY = zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)


class QrDecodeError(ValueError):
    """Raised when the pixels hold no QR code, or more than one."""


def decode_qr_png(png: bytes) -> str:
    """The text of the one QR code in a PNG image (e.g. an element screenshot)."""
    try:
        with Image.open(io.BytesIO(png)) as image:
            found = zxingcpp.read_barcodes(image, formats=QR_ONLY)
    except (UnidentifiedImageError, OSError) as exc:
        raise QrDecodeError(f"the screenshot is not a readable image: {exc}") from exc
    texts = [str(result.text) for result in found if result.valid]
    if not texts:
        raise QrDecodeError("no QR code could be read from the pixels")
    if len(texts) > 1:
        raise QrDecodeError(f"{len(texts)} QR codes in one image; expected one")
    return texts[0]
