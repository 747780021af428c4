"""A target driver that omits ``period`` from its URI on purpose (tests of ``twofa interop``).

It drives the example service (examples/totp_service.py) through the example driver, so
the credentials really verify 60 s codes when asked for 60 s, and hands out the service's
otpauth URI with its ``period`` parameter removed: the fault of a server whose URI does
not say the step it verifies.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

from conformance.drivers.seam import Credential, TotpParameters

_EXAMPLE = Path(__file__).parents[2] / "examples" / "totp_service_driver.py"
_spec = importlib.util.spec_from_file_location("twofa_example_totp_service_driver", _EXAMPLE)
assert _spec is not None
assert _spec.loader is not None
_example = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_example)


class PeriodOmittingDriver(_example.TotpServiceDriver):  # type: ignore[misc, name-defined]
    name = "totp-service-omitting-period"
    title = "examples/totp_service.py, its URIs handed out without their period"

    def provision(self, parameters: TotpParameters) -> Credential:
        credential: Credential = super().provision(parameters)
        assert credential.uri is not None
        credential.uri = re.sub(r"&period=\d+|period=\d+&", "", credential.uri)
        return credential
