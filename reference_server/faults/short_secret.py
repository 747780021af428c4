"""Hands out 80-bit secrets (RFC 4226 R6 wants at least 128)."""

import secrets

from ..policy import Policy
from ..rules import Provisioner, Rules


class ShortSecret(Provisioner):
    def new_secret(self, policy: Policy) -> bytes:
        return secrets.token_bytes(10)


def apply(rules: Rules) -> None:
    rules.provisioner = ShortSecret()
