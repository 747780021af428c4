"""Draws the QR code from the URI without its issuer parameter."""

import re

from ..rules import Provisioner, Rules


class Mismatch(Provisioner):
    def qr_text(self, uri: str) -> str:
        return re.sub(r"&issuer=[^&]*", "", uri)


def apply(rules: Rules) -> None:
    rules.provisioner = Mismatch()
