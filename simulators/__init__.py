"""Authenticator devices, app profiles, clocks and the otpauth URI: simulated, fast, exact.

Imports nothing else of the harness, so vendors and other tools can use it alone.
"""

from simulators.clock import Clock, ManualClock, SkewedClock, SystemClock
from simulators.device import (
    Account,
    AuthenticatorDevice,
    BackupUnsupported,
    CloudBackup,
    ProvisioningRefused,
)
from simulators.hotp import CodeGenerator, OtpError, hotp, time_step, totp
from simulators.otpauth import Finding, KeyUri, OtpauthError, build_uri, lint_uri, parse_uri
from simulators.profiles import PROFILES, AppProfile, get_profile

__all__ = [
    "PROFILES",
    "Account",
    "AppProfile",
    "AuthenticatorDevice",
    "BackupUnsupported",
    "Clock",
    "CloudBackup",
    "CodeGenerator",
    "Finding",
    "KeyUri",
    "ManualClock",
    "OtpError",
    "OtpauthError",
    "ProvisioningRefused",
    "SkewedClock",
    "SystemClock",
    "build_uri",
    "get_profile",
    "hotp",
    "lint_uri",
    "parse_uri",
    "time_step",
    "totp",
]
