"""Writes the otpauth label without percent-encoding (a raw space, outside RFC 3986)."""

from ..rules import Provisioner, Rules


class Unencoded(Provisioner):
    def label(self, issuer: str, email: str) -> str:
        return f"{issuer}:{email}"


def apply(rules: Rules) -> None:
    rules.provisioner = Unencoded()
