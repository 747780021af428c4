"""No budget of wrong email codes per account: every new code brings fresh guesses.

The reference server before issue 14: ``max_attempts`` per code only, so an
attacker with the password resends (and signs in again) for thousands of
guesses a day at the code that stands between the password and a device.
"""

from ..policy import Policy
from ..rules import EmailCodes, Rules


class PerCodeOnly(EmailCodes):
    def account_budget(self, policy: Policy) -> int | None:
        return None


def apply(rules: Rules) -> None:
    rules.email = PerCodeOnly()
