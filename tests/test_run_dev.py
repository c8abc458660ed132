"""`make run` (bin/run-dev) end to end: its own PostgreSQL and Redis in a data folder, a
Celery worker and beat beside the web server, everything gone after Ctrl-C (SIGINT), the data
kept for the next start, and `--reset` (`make reset`) deleting it. The demo is left out
(DEV_SEED_DEMO=0): seeding it is tested by the seed_demo tests, and takes minutes."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import psycopg
import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not shutil.which("redis-server"), reason="needs the redis-server package"),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def dev():
    # Not pytest's tmp_path: as root PostgreSQL runs as `postgres`, which must reach the folder.
    folder = Path(tempfile.mkdtemp(prefix="mp-run-dev-"))
    folder.chmod(0o755)
    ports = {"pg": _free_port(), "redis": _free_port(), "web": _free_port()}
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "CACHE_REDIS_URL"}}
    env.update(
        DEBUG="1",
        DEV_DIR=str(folder / "var"),
        DEV_PG_PORT=str(ports["pg"]),
        DEV_REDIS_PORT=str(ports["redis"]),
        DEV_WEB_PORT=str(ports["web"]),
        DEV_SEED_DEMO="0",
    )
    yield folder, ports, env
    for pid in _processes_of(folder, ports):  # only if the test failed half-way
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    shutil.rmtree(folder, ignore_errors=True)


def _processes_of(folder: Path, ports: dict) -> dict[int, str]:
    """Every process started for this run-dev: found by its data folder or ports in its
    command line (PostgreSQL, Redis) or its DEV_DIR in its environment (the rest)."""
    marks = [str(folder).encode(), f"127.0.0.1:{ports['redis']}".encode(), f"127.0.0.1:{ports['web']}".encode()]
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue  # gone meanwhile, or not readable
        if any(mark in cmdline for mark in marks) or f"DEV_DIR={folder}/var".encode() in environ.split(b"\0"):
            found[int(entry.name)] = cmdline.replace(b"\0", b" ").decode(errors="replace").strip()
    return found


def _start(env) -> subprocess.Popen:
    return subprocess.Popen(
        [str(ROOT / "bin" / "run-dev")],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def _wait_ready(process: subprocess.Popen, port: int, timeout: float = 150) -> dict:
    """The health answer once the web server says PostgreSQL and a worker answers."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"run-dev ended with {process.returncode}:\n{process.stdout.read().decode()}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz?workers=1", timeout=5) as answer:
                last = json.loads(answer.read())
            if last.get("workers", {}).get("answering", 0) >= 1:
                return last
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(1)
    process.kill()
    pytest.fail(f"not ready in {timeout}s (last health: {last}):\n{process.stdout.read().decode()}")


def _stop(process: subprocess.Popen) -> str:
    process.send_signal(signal.SIGINT)  # Ctrl-C, to run-dev alone: it must stop the rest itself
    output, _ = process.communicate(timeout=60)
    return output.decode()


def test_run_dev_serves_on_its_own_services_stops_everything_and_keeps_the_data(dev):
    folder, ports, env = dev
    dsn = f"postgresql://postgres@127.0.0.1:{ports['pg']}/marketplace"

    first = _start(env)
    health = _wait_ready(first, ports["web"])
    assert health["database"] == {"ok": True, "engine": "PostgreSQL"}
    assert health["broker"] == {"ok": True, "mode": "redis"}
    assert health["workers"]["ok"] is True
    running = _processes_of(folder, ports)
    for what in ("postgres -D", "redis-server", "worker", "beat", "runserver"):
        assert any(what in cmdline for cmdline in running.values()), (what, running)
    with psycopg.connect(dsn, autocommit=True) as connection:
        assert connection.execute("SELECT count(*) FROM django_migrations").fetchone()[0] > 50
        connection.execute("CREATE TABLE run_dev_kept (value int)")
        connection.execute("INSERT INTO run_dev_kept VALUES (42)")

    output = _stop(first)
    assert first.returncode == 130, output
    assert "run-dev: stopping" in output
    assert _processes_of(folder, ports) == {}, output

    second = _start(env)
    _wait_ready(second, ports["web"])
    with psycopg.connect(dsn, autocommit=True) as connection:
        assert connection.execute("SELECT value FROM run_dev_kept").fetchall() == [(42,)]
    _stop(second)
    assert _processes_of(folder, ports) == {}

    reset = subprocess.run(
        [str(ROOT / "bin" / "run-dev"), "--reset"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert reset.returncode == 0, reset.stdout + reset.stderr
    assert not (folder / "var").exists()
    assert _processes_of(folder, ports) == {}
