"""The browser driver of the enrollment wizard: Playwright on the system's Chromium.

Page objects per wizard step (``pages``), whole flows (``flows.WizardDriver``),
screenshots as evidence (``evidence``), QR decoding from pixels (``qr``) and
finding the browser (``launch``). See docs/browser-driver.md.
"""

from conformance.browser.evidence import Evidence
from conformance.browser.flows import Enrollment, WizardDriver
from conformance.browser.launch import (
    MOBILE_DEVICES,
    BrowserNotFound,
    find_chromium,
    launch,
    launch_options,
    new_context,
    open_browser,
)
from conformance.browser.pages import Landing, PagesMissing, WizardError
from conformance.qr import QrDecodeError, decode_qr_png

__all__ = [
    "MOBILE_DEVICES",
    "BrowserNotFound",
    "Enrollment",
    "Evidence",
    "Landing",
    "PagesMissing",
    "QrDecodeError",
    "WizardDriver",
    "WizardError",
    "decode_qr_png",
    "find_chromium",
    "launch",
    "launch_options",
    "new_context",
    "open_browser",
]
