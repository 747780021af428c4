"""Gives mobile clients a QR code they cannot scan with their own camera."""

from ..rules import Provisioner, Rules


class QrEverywhere(Provisioner):
    def shows_qr(self, mobile: bool) -> bool:
        return True


def apply(rules: Rules) -> None:
    rules.provisioner = QrEverywhere()
