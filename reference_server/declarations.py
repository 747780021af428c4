"""What a request may hold, declared once: the server's checks and the OpenAPI document read it.

Each field is a small typed spec (``Text``, ``Integer``, ``Number``, ``Boolean``,
``Code``, ``ListOf``) and each JSON body an ``Object`` of them. ``check`` is
what the server runs on what a client sent (a 4xx ``ApiError`` with a code and
a sentence, or the value as stored); ``schema`` is the JSON Schema that
``/api/v1/openapi.json`` publishes for it. The two cannot drift: the bounds,
patterns and choices exist only here.

Patterns are written in the subset that Python's ``re``, ECMA-262 (the regex
dialect of JSON Schema) and the Rust engine of ``jsonschema-rs`` read alike:
explicit character classes (never ``\\d``, ``\\s`` or ``\\w``, whose meanings
differ), ``\\xHH`` escapes, no look-around. The server matches a pattern in
full; the schema anchors it with ``^(?:...)$``.
"""

from __future__ import annotations

import math
import re
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from .errors import ApiError
from .versions import CLIENT_VERSION_PATTERN, GROUP_VERSION_PATTERN, MAX_BUILD

#: The largest request body the server reads (Flask's ``MAX_CONTENT_LENGTH``); more is 413.
MAX_BODY_BYTES: Final = 64 * 1024

#: A string field with no pattern of its own may hold any text but NUL (databases refuse it).
NO_NUL: Final = r"[^\x00]*"

#: Ids of stored records are 32-bit; larger ones are simply not found.
MAX_ID: Final = 2**31 - 1

#: The harness clock stays within the years 1970 to 9999 (10000-01-01T00:00:00Z excluded).
CLOCK_END: Final = 253_402_300_800.0


def _is_text(value: str) -> bool:
    """Unicode scalar values without NUL: what every database stores (no lone surrogates)."""
    if "\x00" in value:
        return False
    try:
        value.encode("utf-8")
    except UnicodeError:
        return False
    return True


def wrong_type(name: str) -> ApiError:
    return ApiError("malformed_request", f"The field {name!r} has the wrong type.")


class Field(ABC):
    """One value of a request: how the server checks it and how the document states it."""

    @abstractmethod
    def check(self, name: str, value: Any) -> Any:
        """The value as the server uses it, or an ``ApiError`` naming ``name``."""

    @abstractmethod
    def schema(self, lengths: CodeLengths) -> dict[str, Any]:
        """The JSON Schema of the values ``check`` accepts."""


@dataclass(frozen=True)
class CodeLengths:
    """How many digits each kind of code has on this server (its policy)."""

    email: int
    totp: int


@dataclass(frozen=True)
class Text(Field):
    """A JSON string: lengths (in characters), a pattern matched in full, or a set of choices.

    ``error``/``message`` are what a string that does not fit answers; a value
    that is not a string (or holds NUL or a lone surrogate) is ``malformed_request``.
    ``strip`` removes these characters around the value once it is accepted.
    """

    min_length: int = 0
    max_length: int | None = None
    pattern: str = NO_NUL
    choices: tuple[str, ...] = ()
    error: str = "malformed_request"
    message: str = ""
    lower: bool = False
    strip: str = ""
    #: An empty value means "not sent" (an HTTP header sent empty is no value).
    empty_is_absent: bool = False
    description: str = ""
    _compiled: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_compiled", re.compile(self.pattern, re.ASCII))

    def accepts(self, value: str) -> bool:
        if self.empty_is_absent and value == "":
            return True
        if len(value) < self.min_length:
            return False
        if self.max_length is not None and len(value) > self.max_length:
            return False
        if self.choices:
            return value in self.choices
        return self._compiled.fullmatch(value) is not None

    def check(self, name: str, value: Any) -> str:
        if not isinstance(value, str):
            raise wrong_type(name)
        if not _is_text(value):
            raise ApiError("malformed_request", f"The field {name!r} is not valid text.")
        text: str = value
        if not self.accepts(text):
            raise ApiError(self.error, self.message or f"The field {name!r} is not valid.")
        if self.strip:
            text = text.strip(self.strip)
        return text.lower() if self.lower else text

    def schema(self, lengths: CodeLengths) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": "string"}
        optional = "?" if self.empty_is_absent else ""
        if self.choices:
            schema["enum"] = list(self.choices) + ([""] if self.empty_is_absent else [])
        else:
            schema["pattern"] = f"^(?:{self.pattern}){optional}$"
            if self.min_length:
                schema["minLength"] = self.min_length
            if self.max_length is not None:
                schema["maxLength"] = self.max_length
        if self.description:
            schema["description"] = self.description
        return schema


@dataclass(frozen=True)
class Integer(Field):
    """A JSON integer (``1575`` or ``1575.0``; never ``true``) within bounds."""

    minimum: int
    maximum: int
    error: str = "malformed_request"
    message: str = ""

    def check(self, name: str, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise wrong_type(name)
        # JSON has one kind of number: 1575.0 is the integer 1575 (as JSON Schema reads it).
        if isinstance(value, float) and not value.is_integer():
            raise wrong_type(name)
        number = int(value)
        if not self.minimum <= number <= self.maximum:
            raise ApiError(
                self.error,
                self.message or f"{name!r} must be from {self.minimum} to {self.maximum}.",
            )
        return number

    def schema(self, lengths: CodeLengths) -> dict[str, Any]:
        return {"type": "integer", "minimum": self.minimum, "maximum": self.maximum}


@dataclass(frozen=True)
class Number(Field):
    """A finite JSON number with an inclusive minimum and exclusive bounds."""

    exclusive_maximum: float
    minimum: float | None = None
    exclusive_minimum: float | None = None
    message: str = ""

    def _inside(self, number: float) -> bool:
        if not math.isfinite(number) or number >= self.exclusive_maximum:
            return False
        if self.minimum is not None and number < self.minimum:
            return False
        return self.exclusive_minimum is None or number > self.exclusive_minimum

    def check(self, name: str, value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ApiError("malformed_request", f"{name!r} must be a number of seconds.")
        try:
            number = float(value)
        except OverflowError:  # an integer beyond any float
            number = math.inf
        if not self._inside(number):
            raise ApiError("malformed_request", self.message or f"{name!r} is out of range.")
        return number

    def schema(self, lengths: CodeLengths) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": "number", "exclusiveMaximum": self.exclusive_maximum}
        if self.minimum is not None:
            schema["minimum"] = self.minimum
        if self.exclusive_minimum is not None:
            schema["exclusiveMinimum"] = self.exclusive_minimum
        return schema


@dataclass(frozen=True)
class Boolean(Field):
    """``true`` or ``false``."""

    def check(self, name: str, value: Any) -> bool:
        if not isinstance(value, bool):
            raise wrong_type(name)
        return value

    def schema(self, lengths: CodeLengths) -> dict[str, Any]:
        return {"type": "boolean"}


@dataclass(frozen=True)
class Code(Field):
    """A code: a JSON string of exactly the digits the device or the email shows, ASCII only.

    Anything else (a number, other digits, spaces, the wrong length) is
    ``malformed_code``, never an attempt. ``kind`` says which length applies.
    """

    kind: str  # "email" or "totp"

    def check(self, name: str, value: Any, digits: int | None = None) -> str:
        assert digits is not None, "a code is checked against its length"
        if (
            not isinstance(value, str)
            or len(value) != digits
            or not all("0" <= c <= "9" for c in value)
        ):
            raise ApiError("malformed_code", f"The code must be a string of {digits} ASCII digits.")
        return value

    def digits(self, lengths: CodeLengths) -> int:
        return lengths.email if self.kind == "email" else lengths.totp

    def schema(self, lengths: CodeLengths) -> dict[str, Any]:
        n = self.digits(lengths)
        return {"type": "string", "pattern": f"^[0-9]{{{n}}}$", "minLength": n, "maxLength": n}


@dataclass(frozen=True)
class Object(Field):
    """A JSON object with exactly these fields (no others), some of them required."""

    fields: Mapping[str, Field]
    required: tuple[str, ...] = ()
    min_properties: int = 0
    max_properties: int | None = None
    count_message: str = ""
    what: str = "The request body"

    def check(self, name: str, value: Any, digits: int | None = None) -> dict[str, Any]:
        if not isinstance(value, Mapping):
            raise ApiError("malformed_request", f"{self.what} must be a JSON object.")
        allowed = list(self.fields)
        unknown = set(value) - set(allowed)
        if unknown:
            raise ApiError(
                "malformed_request", f"Unexpected field(s); this call takes {sorted(allowed)}."
            )
        for key in self.required:
            if key not in value:
                raise ApiError("malformed_request", f"The field {key!r} is missing.")
        count = len(value)
        if count < self.min_properties or (
            self.max_properties is not None and count > self.max_properties
        ):
            raise ApiError("malformed_request", self.count_message or "Wrong number of fields.")
        checked: dict[str, Any] = {}
        for key, spec in self.fields.items():
            if key in value:
                if isinstance(spec, Code):
                    checked[key] = spec.check(key, value[key], digits)
                else:
                    checked[key] = spec.check(key, value[key])
        return checked

    def body(self, value: Any, *, digits: int | None = None) -> dict[str, Any]:
        """Check a whole request body."""
        return self.check("body", value, digits)

    def schema(self, lengths: CodeLengths) -> dict[str, Any]:
        schema: dict[str, Any] = {
            "type": "object",
            "properties": {key: spec.schema(lengths) for key, spec in self.fields.items()},
            "required": list(self.required),
            "additionalProperties": False,
        }
        if self.min_properties:
            schema["minProperties"] = self.min_properties
        if self.max_properties is not None:
            schema["maxProperties"] = self.max_properties
        return schema


@dataclass(frozen=True)
class ListOf(Field):
    """A JSON array of objects, at most ``max_items`` of them."""

    items: Object
    max_items: int

    def check(self, name: str, value: Any) -> list[dict[str, Any]]:
        if not isinstance(value, list):
            raise wrong_type(name)
        if len(value) > self.max_items:
            raise ApiError("malformed_request", f"{name!r} holds at most {self.max_items} items.")
        return [self.items.check(name, item) for item in value]

    def schema(self, lengths: CodeLengths) -> dict[str, Any]:
        return {"type": "array", "items": self.items.schema(lengths), "maxItems": self.max_items}


# -- fields -------------------------------------------------------------------------------

EMAIL: Final = Text(
    max_length=254,
    pattern=r"[A-Za-z0-9._%+'-]{1,64}@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+",
    message="The email address is not valid.",
    lower=True,
    description="An address like agent@example.com (ASCII); stored in lower case.",
)
PASSWORD: Final = Text(
    min_length=8,
    max_length=1024,
    message="A password has 8 to 1024 characters.",
)
SEAT: Final = Text(
    pattern=r"[a-z][a-z0-9_]{0,63}",
    message="A seat is a lower-case name like remote_support.",
    description="remote_support_v5 and remote_support are subject to 2FA; other seats are not.",
)
ROLE: Final = Text(choices=("agent", "admin"), message="A role is agent or admin.")
#: Printable text with at least one visible character; spaces around it are dropped.
NAME: Final = Text(
    max_length=100,
    pattern=r"[^\x00-\x1f\x7f-\x9f]*[^\x00-\x20\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*",
    message="A name has 1 to 100 characters, no control characters, not only spaces.",
    strip=" ",
)
GROUP_VERSION: Final = Text(
    pattern=GROUP_VERSION_PATTERN,
    error="malformed_version",
    message="The version must look like 4.3 (ASCII digits only).",
)
BUILD: Final = Integer(
    minimum=0,
    maximum=MAX_BUILD - 1,
    error="malformed_version",
    message=f"The build must be a whole number from 0 to {MAX_BUILD - 1}.",
)
#: Sign-in takes any address and password (an unknown one is a 401, never a 400).
SIGN_IN_EMAIL: Final = Text(max_length=254, message="The email address is too long.")
SIGN_IN_PASSWORD: Final = Text(max_length=1024, message="The password is too long.")

CLIENT_KIND: Final = Text(
    choices=("web", "desktop", "mobile"),
    error="malformed_client_kind",
    message="X-Client-Kind must be web, desktop or mobile.",
    empty_is_absent=True,
)
CLIENT_VERSION: Final = Text(
    pattern=CLIENT_VERSION_PATTERN,
    error="malformed_client_version",
    message="X-Client-Version must look like 4.3.1575 (ASCII digits only).",
    empty_is_absent=True,
)
#: ``to=`` of the harness mailbox.
MAIL_TO: Final = Text(max_length=254, message="'to' is an address of at most 254 characters.")
#: The ``{id}`` of an admin path.
RECORD_ID: Final = Integer(minimum=1, maximum=MAX_ID)

# -- bodies -------------------------------------------------------------------------------

#: A call that takes no fields: no body, or ``{}``.
EMPTY: Final = Object({})
SIGN_IN: Final = Object(
    {"email": SIGN_IN_EMAIL, "password": SIGN_IN_PASSWORD}, required=("email", "password")
)
EMAIL_CODE: Final = Object({"code": Code("email")}, required=("code",))
TOTP_CODE: Final = Object({"code": Code("totp")}, required=("code",))
SETTINGS: Final = Object({"two_factor_required": Boolean()}, required=("two_factor_required",))
NEW_GROUP: Final = Object(
    {"name": NAME, "version": GROUP_VERSION, "build": BUILD},
    required=("name", "version", "build"),
    what="A device group",
)
GROUP_CHANGES: Final = Object({"version": GROUP_VERSION, "build": BUILD})
NEW_AGENT: Final = Object(
    {"email": EMAIL, "password": PASSWORD, "seat": SEAT, "role": ROLE},
    required=("email", "password", "seat", "role"),
    what="An agent",
)
AGENT_CHANGES: Final = Object({"seat": SEAT, "role": ROLE})
CLOCK: Final = Object(
    {
        "now": Number(
            minimum=0,
            exclusive_maximum=CLOCK_END,
            message="'now' must be a time from 1970 to the end of 9999.",
        ),
        "advance": Number(
            exclusive_minimum=-CLOCK_END,
            exclusive_maximum=CLOCK_END,
            message="'advance' must be a number of seconds within ±10000 years.",
        ),
    },
    min_properties=1,
    max_properties=1,
    count_message="Send exactly one of 'now' or 'advance'.",
)
SEED: Final = Object(
    {
        "agents": ListOf(NEW_AGENT, max_items=100),
        "device_groups": ListOf(NEW_GROUP, max_items=100),
        "two_factor_required": Boolean(),
    }
)

#: Every declaration by name, for the document's tests.
FIELDS: Final[Mapping[str, Field]] = {
    "EMAIL": EMAIL,
    "PASSWORD": PASSWORD,
    "SEAT": SEAT,
    "ROLE": ROLE,
    "NAME": NAME,
    "GROUP_VERSION": GROUP_VERSION,
    "BUILD": BUILD,
    "SIGN_IN_EMAIL": SIGN_IN_EMAIL,
    "SIGN_IN_PASSWORD": SIGN_IN_PASSWORD,
    "CLIENT_KIND": CLIENT_KIND,
    "CLIENT_VERSION": CLIENT_VERSION,
    "MAIL_TO": MAIL_TO,
    "RECORD_ID": RECORD_ID,
}
BODIES: Final[Mapping[str, Object]] = {
    "EMPTY": EMPTY,
    "SIGN_IN": SIGN_IN,
    "EMAIL_CODE": EMAIL_CODE,
    "TOTP_CODE": TOTP_CODE,
    "SETTINGS": SETTINGS,
    "NEW_GROUP": NEW_GROUP,
    "GROUP_CHANGES": GROUP_CHANGES,
    "NEW_AGENT": NEW_AGENT,
    "AGENT_CHANGES": AGENT_CHANGES,
    "CLOCK": CLOCK,
    "SEED": SEED,
}
