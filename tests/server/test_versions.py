"""Client versions: strict parsing, tuple comparison, 426 for old desktop/mobile apps."""

from __future__ import annotations

import pytest

from reference_server.versions import Version, VersionError, parse_client_version

from .conftest import OTHER, Api, error_code

MINIMUM = Version(4, 3, 1575)


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ("4.3.1574", False),
        ("4.3.1575", True),
        ("4.3.1576", True),
        ("4.4.0", True),
        ("4.2.9999", False),
        ("5.0.0", True),
        ("3.99.99999", False),
        ("10.0.0", True),
    ],
)
def test_version_order_boundaries(text: str, ok: bool) -> None:
    assert (parse_client_version(text) >= MINIMUM) is ok


@pytest.mark.parametrize(
    "text",
    [
        "",
        "4.3",
        "4.3.1575.1",
        "4.3.1575 ",
        " 4.3.1575",
        "+4.3.1575",
        "4.3.+1575",
        "-4.3.1575",
        "4.03.1575",
        "4.3.01575",
        "\u0664.\u0663.\u0661\u0665\u0667\u0665",
        "\uff14.\uff13.\uff11\uff15\uff17\uff15",
        "4.3.1575a",
        "v4.3.1575",
        "4..1575",
        "4.3.1_575",
        "4.3.9999999999",
    ],
)
def test_malformed_versions(text: str) -> None:
    with pytest.raises(VersionError):
        parse_client_version(text)


@pytest.mark.parametrize("kind", ["desktop", "mobile"])
@pytest.mark.parametrize(
    ("version", "status"),
    [("4.3.1574", 426), ("4.3.1575", 200), ("4.4.0", 200), ("4.2.9999", 426), ("5.0.0", 200)],
)
def test_old_desktop_and_mobile_clients_get_426(
    api: Api, kind: str, version: str, status: int
) -> None:
    response = api.sign_in(OTHER, X_Client_Kind=kind, X_Client_Version=version)
    assert response.status_code == status
    if status == 426:
        assert error_code(response) == "client_upgrade_required"
        assert response.json["error"]["minimum_version"] == "4.3.1575"


def test_426_applies_to_every_api_call(api: Api) -> None:
    token = api.token(OTHER)
    response = api.get("/api/v1/me", token, X_Client_Kind="mobile", X_Client_Version="4.3.1")
    assert response.status_code == 426


@pytest.mark.parametrize(
    "version", [None, "", "4.3", "\u0664.\u0663.\u0661\u0665\u0667\u0665", "4.3.1575x"]
)
def test_missing_or_malformed_version_from_an_app_is_400(api: Api, version: str | None) -> None:
    headers = {"X_Client_Kind": "desktop"}
    if version is not None:
        headers["X_Client_Version"] = version
    response = api.sign_in(OTHER, **headers)
    assert response.status_code == 400
    assert error_code(response) == "malformed_client_version"


def test_web_clients_need_no_version_and_unknown_kinds_are_400(api: Api) -> None:
    assert api.sign_in(OTHER).status_code == 200
    assert api.sign_in(OTHER, X_Client_Kind="web").status_code == 200
    response = api.sign_in(OTHER, X_Client_Kind="toaster")
    assert response.status_code == 400
    assert error_code(response) == "malformed_client_kind"
