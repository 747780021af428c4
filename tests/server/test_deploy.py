"""The reference server as a deployment: gunicorn, its settings, the first admin, proxies.

Every server here is started for real as a process (``python -m reference_server
serve``). Which worker process answers a connection is read from the system
(``/proc``: the worker holding the accepted socket), not from the server.
"""

from __future__ import annotations

import json
import os
import pty
import re
import signal
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from cryptography.fernet import Fernet

from tests.processes import children

from .servers import LISTENING, START_SECONDS, Server, base_env, cli, serving
from .smtp_servers import PASSWORD as SMTP_PASSWORD
from .smtp_servers import USER as SMTP_USER
from .smtp_servers import Certificate, RecordingSmtp, make_certificate

pytestmark = pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="needs Linux /proc")

ADMIN_EMAIL = "first.admin@example.com"
ADMIN_PASSWORD = "a long admin passphrase"


def _server_side_inode(server_port: int, client_port: int) -> str | None:
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        columns = line.split()
        local, remote, inode = columns[1], columns[2], columns[9]
        if (
            int(local.split(":")[1], 16) == server_port
            and int(remote.split(":")[1], 16) == client_port
            and inode != "0"
        ):
            return inode
    return None


def owner(connection: socket.socket, server_port: int, pids: set[int]) -> int:
    """The process among ``pids`` that accepted ``connection`` (waits until one has)."""
    client_port = connection.getsockname()[1]
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        inode = _server_side_inode(server_port, client_port)
        if inode is not None:
            for pid in pids:
                try:
                    fds = list(Path(f"/proc/{pid}/fd").iterdir())
                except OSError:
                    continue
                for fd in fds:
                    try:
                        if os.readlink(fd) == f"socket:[{inode}]":
                            return pid
                    except OSError:
                        continue
        time.sleep(0.01)  # polling for the accept, not waiting out a time step
    raise AssertionError("no worker accepted the connection")


Answer = tuple[int, dict[str, list[str]], Any]


def exchange(
    connection: socket.socket,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> Answer:
    """One HTTP/1.1 request on ``connection`` and the whole answer (status, headers, body)."""
    head = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", "Connection: close"]
    head += [f"{k}: {v}" for k, v in (headers or {}).items()]
    if body is not None:
        head.append(f"Content-Length: {len(body)}")
    connection.sendall(("\r\n".join(head) + "\r\n\r\n").encode() + (body or b""))
    chunks = []
    while chunk := connection.recv(65536):
        chunks.append(chunk)
    connection.close()
    header_block, _, payload = b"".join(chunks).partition(b"\r\n\r\n")
    status_line, *header_lines = header_block.decode("latin-1").split("\r\n")
    answer_headers: dict[str, list[str]] = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        answer_headers.setdefault(name.strip().lower(), []).append(value.strip())
    text = payload.decode("utf-8", "replace")
    try:
        parsed: Any = json.loads(text) if text else None
    except json.JSONDecodeError:
        parsed = text
    return int(status_line.split()[1]), answer_headers, parsed


@dataclass
class Held:
    """A connection a worker has accepted; that (sync) worker waits for its request."""

    connection: socket.socket
    worker: int

    def send(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> Answer:
        """Send a JSON request and read the whole answer."""
        extra = dict(headers or {})
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            extra["Content-Type"] = "application/json"
        return exchange(self.connection, method, path, data, extra)


def connect(server: Server) -> socket.socket:
    return socket.create_connection(("127.0.0.1", server.port), timeout=20)


def workers_of(server: Server, count: int) -> set[int]:
    """The master's ``count`` workers, once it has forked them all."""
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        found = children(server.pid)
        if len(found) == count:
            return found
        time.sleep(0.02)  # polling for the forks
    raise AssertionError(f"the master has workers {children(server.pid)}, not {count}")


def hold_every_worker(server: Server, workers: set[int]) -> dict[int, Held]:
    """One accepted connection per worker: a sync worker holding one accepts no other."""
    held: dict[int, Held] = {}
    for _ in workers:
        connection = connect(server)
        pid = owner(connection, server.port, workers)
        held[pid] = Held(connection, pid)
    assert set(held) == workers, "each connection went to a different worker"
    return held


# -- start-up errors ----------------------------------------------------------------------


def one_line_refusal(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith("reference_server: error: ")
    assert LISTENING not in result.stdout
    return result.stderr


@pytest.fixture
def key() -> str:
    return Fernet.generate_key().decode()


def test_production_without_key_or_smtp_host_says_what_to_set(tmp_path: Path) -> None:
    message = one_line_refusal(cli(["serve", "--port", "0"], base_env(tmp_path)))
    assert "set TWOFA_SECRET_KEY or TWOFA_SECRET_KEY_FILE" in message
    assert "twofa keygen" in message
    assert "set SMTP_HOST" in message
    assert "--dev-mail-sink" in message
    # nothing was made on the way: no database, no key file
    assert not (tmp_path / "data" / "server.sqlite3").exists()
    assert not (tmp_path / "instance" / "totp-encryption.key").exists()


def test_production_without_smtp_host_refuses_in_one_line(tmp_path: Path, key: str) -> None:
    env = base_env(tmp_path, TWOFA_SECRET_KEY=key)
    message = one_line_refusal(cli(["serve", "--port", "0"], env))
    assert "set SMTP_HOST" in message
    assert "TWOFA_SECRET_KEY" not in message


def test_production_without_key_refuses_in_one_line(tmp_path: Path) -> None:
    env = base_env(tmp_path, SMTP_HOST="127.0.0.1")
    message = one_line_refusal(cli(["serve", "--port", "0"], env))
    assert "set TWOFA_SECRET_KEY or TWOFA_SECRET_KEY_FILE" in message
    assert "SMTP_HOST" not in message


@pytest.mark.parametrize(
    ("settings", "says"),
    [
        ({"TWOFA_SECRET_KEY": "not-a-key"}, "TWOFA_SECRET_KEY is not a Fernet key"),
        ({"TWOFA_SECRET_KEY_FILE": "/nonexistent/secret.key"}, "cannot read the key file"),
        ({"TWOFA_TRUSTED_PROXIES": "one"}, "TWOFA_TRUSTED_PROXIES must be a whole number"),
        ({"SMTP_TLS": "ssl"}, "SMTP_TLS must be one of starttls, tls, none"),
        ({"SMTP_PORT": "99999"}, "SMTP_PORT must be a whole number from 1 to 65535"),
        ({"SMTP_USER": "mailer"}, "SMTP_USER is set without SMTP_PASSWORD"),
        (
            {"SMTP_USER": "mailer", "SMTP_PASSWORD": "pw", "SMTP_TLS": "none"},
            "would send the password in the clear",
        ),
        (
            {"SMTP_USER": "mailer", "SMTP_PASSWORD": "pw", "SMTP_PASSWORD_FILE": "/pw"},
            "set SMTP_PASSWORD or SMTP_PASSWORD_FILE, not both",
        ),
        ({"DATABASE_URL": "not a url"}, "DATABASE_URL is not a database URL"),
        ({"DATABASE_URL": "mysql://twofa@localhost/twofa"}, "needs the database driver MySQLdb"),
        (
            {"DATABASE_URL": "postgresql+psycopg://nobody@/twofa?host=/nonexistent"},
            "cannot open the database: connection is bad",
        ),
    ],
)
def test_bad_settings_are_one_line(
    tmp_path: Path, key: str, settings: dict[str, str], says: str
) -> None:
    env = base_env(tmp_path, SMTP_HOST="127.0.0.1", **{"TWOFA_SECRET_KEY": key, **settings})
    if "TWOFA_SECRET_KEY_FILE" in settings:
        env.pop("TWOFA_SECRET_KEY")
    assert says in one_line_refusal(cli(["serve", "--port", "0"], env))


def test_a_key_file_beside_the_database_is_refused(tmp_path: Path) -> None:
    key_file = tmp_path / "data" / "secret.key"
    env = base_env(tmp_path, SMTP_HOST="127.0.0.1", TWOFA_SECRET_KEY_FILE=str(key_file))
    assert cli(["keygen", "--out", str(key_file)], env).returncode == 0
    message = one_line_refusal(cli(["serve", "--port", "0"], env))
    assert "sits beside the database" in message


def test_faults_are_refused_outside_harness_mode(tmp_path: Path, key: str) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text("faults: [no_replay_guard]\n", encoding="utf-8")
    env = base_env(
        tmp_path, SMTP_HOST="127.0.0.1", TWOFA_SECRET_KEY=key, TWOFA_POLICY_FILE=str(policy)
    )
    assert "harness mode only" in one_line_refusal(cli(["serve", "--port", "0"], env))


@pytest.mark.parametrize("harness", [False, True])
def test_a_port_in_use_is_one_line(tmp_path: Path, key: str, harness: bool) -> None:
    taken = socket.create_server(("127.0.0.1", 0))
    port = taken.getsockname()[1]
    try:
        env = base_env(tmp_path, TWOFA_SECRET_KEY=key)
        args = ["serve", "--port", str(port), "--dev-mail-sink"]
        if harness:
            args = ["serve", "--harness", "--port", str(port)]
        message = one_line_refusal(cli(args, env))
        assert f"cannot listen on 127.0.0.1:{port}" in message
    finally:
        taken.close()


def test_the_sink_is_for_harness_mode_or_an_explicit_flag(tmp_path: Path, key: str) -> None:
    env = base_env(tmp_path, SMTP_HOST="127.0.0.1", TWOFA_SECRET_KEY=key)
    message = one_line_refusal(cli(["serve", "--port", "0", "--dev-mail-sink"], env))
    assert "--dev-mail-sink replaces SMTP_HOST" in message
    refused = cli(["serve", "--port", "0", "--threads", "4", "--harness"], base_env(tmp_path))
    assert "--threads is for gunicorn workers" in one_line_refusal(refused)


# -- keys -----------------------------------------------------------------------------------


def test_keygen_writes_a_private_key_file_and_never_replaces_one(tmp_path: Path) -> None:
    env = base_env(tmp_path)
    key_file = tmp_path / "keys" / "secret.key"
    key_file.parent.mkdir()
    made = cli(["keygen", "--out", str(key_file)], env)
    assert made.returncode == 0, made.stderr
    assert f"TWOFA_SECRET_KEY_FILE={key_file}" in made.stdout
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    key = key_file.read_bytes().strip()
    Fernet(key)  # a usable key
    assert "never replaced" in one_line_refusal(cli(["keygen", "--out", str(key_file)], env))
    assert key_file.read_bytes().strip() == key
    printed = cli(["keygen"], env)
    assert printed.returncode == 0
    Fernet(printed.stdout.strip().encode())
    assert printed.stdout.strip().encode() != key


# -- the first admin ----------------------------------------------------------------------


def admin_rows(database: Path) -> list[tuple[str, str, str, str]]:
    import sqlite3

    if not database.exists():
        return []
    with sqlite3.connect(database) as connection:
        return list(connection.execute("SELECT email, seat, role, password_hash FROM agents"))


def test_admin_create_from_stdin_refuses_duplicates_and_bad_passwords(tmp_path: Path) -> None:
    env = base_env(tmp_path)
    database = tmp_path / "data" / "server.sqlite3"
    created = cli(["admin", "create", "--email", "First.Admin@Example.com"], env, "p" * 12 + "\n")
    assert created.returncode == 0, created.stderr
    assert "created admin first.admin@example.com" in created.stdout
    [(email, seat, role, digest)] = admin_rows(database)
    assert (email, seat, role) == ("first.admin@example.com", "account_admin", "admin")
    # OWASP's argon2id baseline, never the harness's cheap test cost
    assert digest.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert "p" * 12 not in digest

    again = cli(["admin", "create", "--email", "first.admin@example.com"], env, "q" * 12 + "\n")
    assert "already exists" in one_line_refusal(again)
    short = cli(["admin", "create", "--email", "second@example.com"], env, "short\n")
    assert "8 to 1024 characters" in one_line_refusal(short)
    empty = cli(["admin", "create", "--email", "second@example.com"], env, "")
    assert "no password on standard input" in one_line_refusal(empty)
    bad_email = cli(["admin", "create", "--email", "not-an-email"], env, "p" * 12 + "\n")
    assert "email address is not valid" in one_line_refusal(bad_email)
    assert len(admin_rows(database)) == 1


#: The prompts of ``admin create`` on a terminal, in order.
PROMPTS = (b"Password for ", b"Same password again: ")


def _prompted(args: list[str], env: dict[str, str], answers: list[str]) -> tuple[int, str]:
    """Run with a terminal (a pty) and type each answer once its prompt has appeared.

    getpass flushes what was typed ahead before it prompts: answer only after.
    """
    pid, terminal = pty.fork()
    if pid == 0:  # the child: the pty is its controlling terminal, getpass reads it
        os.execve(sys.executable, [sys.executable, "-m", "reference_server", *args], env)  # noqa: S606
    seen = b""
    answered = 0
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            chunk = os.read(terminal, 1024)
        except OSError:  # the child closed the terminal: it has exited
            break
        if not chunk:
            break
        seen += chunk
        while answered < len(answers) and PROMPTS[answered] in seen:
            os.write(terminal, answers[answered].encode() + b"\n")
            answered += 1
    _, status = os.waitpid(pid, 0)
    os.close(terminal)
    return os.waitstatus_to_exitcode(status), seen.decode(errors="replace")


def test_admin_create_prompts_twice_on_a_terminal(tmp_path: Path) -> None:
    env = base_env(tmp_path)
    args = ["admin", "create", "--email", ADMIN_EMAIL]
    status, screen = _prompted(args, env, [ADMIN_PASSWORD, ADMIN_PASSWORD + "x"])
    assert status == 2
    assert "Password for first.admin@example.com:" in screen
    assert "Same password again:" in screen
    assert "the two passwords differ" in screen
    assert ADMIN_PASSWORD not in screen  # never echoed
    assert admin_rows(tmp_path / "data" / "server.sqlite3") == []
    status, screen = _prompted(args, env, [ADMIN_PASSWORD, ADMIN_PASSWORD])
    assert status == 0, screen
    assert "created admin first.admin@example.com" in screen
    assert [row[0] for row in admin_rows(tmp_path / "data" / "server.sqlite3")] == [ADMIN_EMAIL]


# -- production serving -------------------------------------------------------------------


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Certificate:
    return make_certificate(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def starttls_smtp(certificate: Certificate) -> Iterator[RecordingSmtp]:
    server = RecordingSmtp("starttls", certificate, auth=True)
    server.start()
    yield server
    server.stop()


@dataclass
class Deployment:
    env: dict[str, str]
    tmp: Path


@pytest.fixture(scope="module")
def deployment(
    tmp_path_factory: pytest.TempPathFactory,
    certificate: Certificate,
    starttls_smtp: RecordingSmtp,
) -> Deployment:
    """A production configuration: a key file apart from the data, STARTTLS SMTP with AUTH."""
    tmp = tmp_path_factory.mktemp("deployment")
    key_file = tmp / "keys" / "secret.key"
    key_file.parent.mkdir()
    env = base_env(
        tmp,
        TWOFA_SECRET_KEY_FILE=str(key_file),
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=str(starttls_smtp.port),
        SMTP_TLS="starttls",
        SMTP_USER=SMTP_USER,
        SMTP_PASSWORD=SMTP_PASSWORD,
        SMTP_CA_FILE=str(certificate.ca_file),
        MAIL_SENDER="Remote Support <no-reply@deploy.test>",
    )
    assert cli(["keygen", "--out", str(key_file)], env).returncode == 0
    made = cli(["admin", "create", "--email", ADMIN_EMAIL], env, ADMIN_PASSWORD + "\n")
    assert made.returncode == 0, made.stderr
    return Deployment(env, tmp)


@pytest.fixture(scope="module")
def behind_proxy(deployment: Deployment) -> Iterator[Server]:
    """Two gunicorn workers behind one trusted TLS-terminating proxy."""
    env = {**deployment.env, "TWOFA_TRUSTED_PROXIES": "1"}
    with serving(["--workers", "2"], env, deployment.tmp) as server:
        yield server


def test_production_runs_gunicorn_with_the_workers_asked_for(behind_proxy: Server) -> None:
    text = "\n".join(behind_proxy.lines)
    assert "twofa reference server (production mode, gunicorn, 2 sync workers)" in text
    assert "secret key: TWOFA_SECRET_KEY_FILE" in text
    assert "smtp: 127.0.0.1:" in text
    assert f"(starttls, as {SMTP_USER})" in text
    assert SMTP_PASSWORD not in text
    assert "trusted proxies: 1" in text
    assert "demo seed" not in text  # production mode loads no seed
    assert behind_proxy.lines[-1] == f"{LISTENING} {behind_proxy.url}"
    assert not behind_proxy.url.endswith(":0")
    workers = workers_of(behind_proxy, 2)
    held = hold_every_worker(behind_proxy, workers)
    for one in held.values():
        status, _, document = one.send("GET", "/api/v1/openapi.json")
        assert status == 200
        assert document["openapi"].startswith("3.")


def test_a_killed_worker_is_replaced_and_the_new_one_serves(behind_proxy: Server) -> None:
    workers = workers_of(behind_proxy, 2)
    victim = min(workers)
    os.kill(victim, signal.SIGKILL)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        now = children(behind_proxy.pid)
        if victim not in now and len(now) == 2:
            break
        time.sleep(0.05)  # polling for the respawn
    replaced = children(behind_proxy.pid)
    assert victim not in replaced
    assert len(replaced) == 2
    for one in hold_every_worker(behind_proxy, replaced).values():
        status, _, body = one.send(
            "POST", "/api/v1/auth/sign-in", {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
        )
        assert status == 200, body
        assert body["next"] == "done"


def test_the_first_admin_signs_in_and_mail_goes_over_starttls_with_auth(
    behind_proxy: Server, starttls_smtp: RecordingSmtp
) -> None:
    workers = workers_of(behind_proxy, 2)
    first, second = hold_every_worker(behind_proxy, workers).values()
    status, _, signed = first.send(
        "POST", "/api/v1/auth/sign-in", {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
    )
    assert status == 200, signed
    before = len(starttls_smtp.received)
    # the token from one worker works on the other: the state is in the database
    status, _, started = second.send(
        "POST", "/api/v1/enrollment/start", headers={"Authorization": f"Bearer {signed['token']}"}
    )
    assert status == 202, started
    [mail] = starttls_smtp.received[before:]
    assert mail.to == (ADMIN_EMAIL,)
    assert mail.tls
    assert mail.login == SMTP_USER
    assert any(word.isdigit() and len(word) == 6 for word in mail.body.split())


def cookies(headers: dict[str, list[str]]) -> dict[str, list[str]]:
    """Set-Cookie by name: the attributes, lower-cased."""
    found = {}
    for value in headers.get("set-cookie", []):
        name = value.split("=", 1)[0]
        found[name] = [part.strip().lower() for part in value.split(";")[1:]]
    return found


def test_cookies_are_secure_behind_a_tls_terminating_proxy(behind_proxy: Server) -> None:
    workers = workers_of(behind_proxy, 2)
    proxied, plain = hold_every_worker(behind_proxy, workers).values()
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "198.51.100.7"}
    status, headers, _ = proxied.send("GET", "/sign-in", headers=forwarded)
    assert status == 200
    assert "secure" in cookies(headers)["twofa_csrf"]
    status, headers, _ = plain.send("GET", "/sign-in")
    assert status == 200
    assert "secure" not in cookies(headers)["twofa_csrf"]

    # a whole web sign-in through the proxy: the session cookie is Secure too
    status, headers, page = exchange(connect(behind_proxy), "GET", "/sign-in", headers=forwarded)
    assert status == 200
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match is not None
    [presession] = [v.split(";")[0] for v in headers["set-cookie"] if v.startswith("twofa_csrf=")]
    form = {"csrf_token": match[1], "email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
    status, headers, _ = exchange(
        connect(behind_proxy),
        "POST",
        "/sign-in",
        urlencode(form).encode(),
        {
            **forwarded,
            "Cookie": presession,
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )
    assert status == 303
    session = cookies(headers)["twofa_session"]
    assert "secure" in session
    assert "httponly" in session


def test_forwarded_headers_are_ignored_without_trusted_proxies(deployment: Deployment) -> None:
    # gunicorn alone would believe X-Forwarded-Proto from a loopback client: it must not.
    with serving(["--workers", "1"], deployment.env, deployment.tmp) as server:
        assert "trusted proxies: none" in "\n".join(server.lines)
        status, headers, _ = exchange(
            connect(server), "GET", "/sign-in", headers={"X-Forwarded-Proto": "https"}
        )
        assert status == 200
        assert "secure" not in cookies(headers)["twofa_csrf"]


# -- harness mode across processes --------------------------------------------------------


@pytest.fixture(scope="module")
def harness_workers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("harness-workers")
    args = ["--harness", "--workers", "2", "--password-cost", "test"]
    with serving(args, base_env(tmp), tmp) as server:
        yield server


def test_harness_mode_runs_two_workers(harness_workers: Server) -> None:
    text = "\n".join(harness_workers.lines)
    assert "twofa reference server (harness mode, gunicorn, 2 sync workers)" in text
    assert "loaded into the empty database" in text
    assert len(workers_of(harness_workers, 2)) == 2


def test_the_harness_clock_set_through_one_worker_is_what_the_other_reads(
    harness_workers: Server,
) -> None:
    workers = workers_of(harness_workers, 2)
    a, b = sorted(workers)
    held = hold_every_worker(harness_workers, workers)
    assert held[a].send("PUT", "/__harness__/clock", {"now": 1_700_000_010})[2] == {
        "now": 1_700_000_010.0
    }
    assert held[b].send("GET", "/__harness__/clock")[2] == {"now": 1_700_000_010.0}

    held = hold_every_worker(harness_workers, workers)
    assert held[b].send("PUT", "/__harness__/clock", {"advance": 30})[2] == {"now": 1_700_000_040.0}
    assert held[a].send("GET", "/__harness__/clock")[2] == {"now": 1_700_000_040.0}


def test_mail_and_a_reset_are_shared_by_every_worker(harness_workers: Server) -> None:
    workers = workers_of(harness_workers, 2)
    a, b = sorted(workers)
    held = hold_every_worker(harness_workers, workers)
    assert held[a].send("POST", "/__harness__/reset", {})[0] == 200
    assert held[b].send("PUT", "/__harness__/clock", {"now": 1_800_000_000})[0] == 200

    held = hold_every_worker(harness_workers, workers)
    status, _, signed = held[a].send(
        "POST",
        "/api/v1/auth/sign-in",
        {"email": "admin@example.com", "password": "admin-demo-password"},
    )
    assert status == 200, signed
    status, _, _ = held[b].send(
        "POST", "/api/v1/enrollment/start", headers={"Authorization": f"Bearer {signed['token']}"}
    )
    assert status == 202

    held = hold_every_worker(harness_workers, workers)
    for one in held.values():
        status, _, mails = one.send("GET", "/__harness__/mailbox?to=admin%40example.com")
        assert status == 200
        assert len(mails) == 1
        assert mails[0]["received_at"] == 1_800_000_000.0  # the shared clock's time

    held = hold_every_worker(harness_workers, workers)
    assert held[b].send("POST", "/__harness__/reset", {})[0] == 200
    assert held[a].send("GET", "/__harness__/mailbox")[2] == []

    held = hold_every_worker(harness_workers, workers)
    for one in held.values():
        now = one.send("GET", "/__harness__/clock")[2]["now"]
        assert abs(now - time.time()) < 600  # back to real time, for both


def test_the_twofa_command_passes_admin_and_keygen_through(tmp_path: Path) -> None:
    env = base_env(tmp_path)
    twofa = [sys.executable, "-m", "conformance.cli"]
    key_file = tmp_path / "keys" / "secret.key"
    key_file.parent.mkdir()
    made = subprocess.run(
        [*twofa, "keygen", "--out", str(key_file)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert made.returncode == 0, made.stderr
    Fernet(key_file.read_bytes().strip())
    created = subprocess.run(
        [*twofa, "admin", "create", "--email", ADMIN_EMAIL],
        input=ADMIN_PASSWORD + "\n",
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert created.returncode == 0, created.stderr
    assert [row[0] for row in admin_rows(tmp_path / "data" / "server.sqlite3")] == [ADMIN_EMAIL]
    again = subprocess.run(
        [*twofa, "admin", "create", "--email", ADMIN_EMAIL],
        input=ADMIN_PASSWORD + "\n",
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert again.returncode == 2
    assert "already exists" in again.stderr


def test_production_and_harness_workers_on_postgresql(
    tmp_path: Path, postgres_cluster: Any, key: str
) -> None:
    """The same deployment on PostgreSQL: the first admin, two workers, one harness clock."""
    url = postgres_cluster.url(postgres_cluster.create_database())
    env = base_env(tmp_path, DATABASE_URL=url, TWOFA_SECRET_KEY=key)
    made = cli(["admin", "create", "--email", ADMIN_EMAIL], env, ADMIN_PASSWORD + "\n")
    assert made.returncode == 0, made.stderr
    assert "postgresql+psycopg://" in made.stdout
    with serving(["--workers", "2", "--dev-mail-sink"], env, tmp_path) as server:
        assert "database: postgresql+psycopg://" in "\n".join(server.lines)
        for one in hold_every_worker(server, workers_of(server, 2)).values():
            status, _, body = one.send(
                "POST",
                "/api/v1/auth/sign-in",
                {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD},
            )
            assert status == 200, body

    harness_url = postgres_cluster.url(postgres_cluster.create_database())
    harness_env = base_env(tmp_path, DATABASE_URL=harness_url)
    args = ["--harness", "--workers", "2", "--password-cost", "test"]
    with serving(args, harness_env, tmp_path) as server:
        workers = workers_of(server, 2)
        a, b = sorted(workers)
        held = hold_every_worker(server, workers)
        assert held[a].send("PUT", "/__harness__/clock", {"now": 1_700_000_010})[0] == 200
        assert held[b].send("GET", "/__harness__/clock")[2] == {"now": 1_700_000_010.0}


def test_a_key_file_others_can_read_is_named_at_start(tmp_path: Path) -> None:
    key_file = tmp_path / "keys" / "secret.key"
    key_file.parent.mkdir()
    env = base_env(tmp_path, TWOFA_SECRET_KEY_FILE=str(key_file))
    assert cli(["keygen", "--out", str(key_file)], env).returncode == 0
    key_file.chmod(0o644)
    with serving(["--workers", "1", "--dev-mail-sink"], env, tmp_path) as server:
        text = "\n".join(server.lines)
        assert f"warning: the key file {key_file} can be read by others (mode 644)" in text
        assert "smtp: 127.0.0.1:" in text
        assert "(embedded; mail is captured, not delivered)" in text
    key_file.chmod(0o600)
    with serving(["--workers", "1", "--dev-mail-sink"], env, tmp_path) as server:
        assert "warning" not in "\n".join(server.lines)


def test_smtp_password_may_come_from_a_file(tmp_path: Path) -> None:
    from reference_server.environment import DeploymentError, config_from_environment

    secret = tmp_path / "smtp-password"
    secret.write_text("from-a-file\n", encoding="utf-8")
    environ = {
        "TWOFA_SECRET_KEY": "k",
        "SMTP_HOST": "smtp.example.com",
        "SMTP_USER": "mailer",
        "SMTP_PASSWORD_FILE": str(secret),
    }
    config = config_from_environment(environ, harness=False)
    assert config["SMTP_PASSWORD"] == "from-a-file"
    assert (config["SMTP_TLS"], config["SMTP_PORT"]) == ("starttls", 587)
    assert (
        config_from_environment({**environ, "SMTP_TLS": "tls"}, harness=False)["SMTP_PORT"] == 465
    )
    with pytest.raises(DeploymentError, match="cannot read SMTP_PASSWORD_FILE"):
        config_from_environment(
            {**environ, "SMTP_PASSWORD_FILE": str(tmp_path / "no")}, harness=False
        )
