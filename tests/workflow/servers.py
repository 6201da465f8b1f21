"""Real servers the workflow tests start on 127.0.0.1 and stop: each a process group started
with its command, waited for until it answers, killed afterwards. No mocks: DVC and MLflow
talk to them over their real protocols."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2):
            return True
    except urllib.error.HTTPError:  # any HTTP status means the server is up
        return True
    except OSError:
        return False


@contextlib.contextmanager
def serve(cmd: list[str], probe: str, log: Path, env: dict[str, str] | None = None,
          timeout: float = 120) -> Iterator[None]:
    """Run ``cmd`` until the context exits; ready when ``probe`` answers over HTTP."""
    with open(log, "w") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                                env={**os.environ, **(env or {})})
    try:
        deadline = time.monotonic() + timeout
        while not _answers(probe):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{cmd[0]} did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.2)
        yield
    finally:
        with contextlib.suppress(ProcessLookupError):  # it may have exited already
            os.killpg(proc.pid, 15)
        proc.wait(timeout=30)


def _bin(name: str) -> str:
    found = shutil.which(name, path=f"{BIN}{os.pathsep}{os.environ['PATH']}")
    if found is None:
        raise RuntimeError(f"{name} is not installed (it comes with the test extra)")
    return found


@contextlib.contextmanager
def s3_server(root: Path, key: str, secret: str, bucket: str = "synthir") -> Iterator[str]:
    """A real SigV4 S3 server (``rclone serve s3``) over ``root``; yields its endpoint URL."""
    (root / bucket).mkdir(parents=True, exist_ok=True)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with serve([_bin("rclone"), "serve", "s3", "--addr", f"127.0.0.1:{port}",
                "--auth-key", f"{key},{secret}", str(root)], url, root.parent / "rclone.log"):
        yield url


@contextlib.contextmanager
def webdav_server(root: Path) -> Iterator[str]:
    """A WebDAV server (wsgidav on cheroot) over ``root``; yields its http URL."""
    root.mkdir(parents=True, exist_ok=True)
    port = free_port()
    with serve([_bin("wsgidav"), "--host", "127.0.0.1", "--port", str(port), "--root", str(root),
                "--auth", "anonymous", "--server", "cheroot", "--no-config"],
               f"http://127.0.0.1:{port}/", root.parent / "wsgidav.log"):
        yield f"http://127.0.0.1:{port}"


@contextlib.contextmanager
def http_server(root: Path) -> Iterator[str]:
    """A read-only HTTP file server over ``root`` (what a release host serves)."""
    port = free_port()
    with serve([sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1",
                "--directory", str(root)], f"http://127.0.0.1:{port}/", root.parent / "http.log"):
        yield f"http://127.0.0.1:{port}"


@contextlib.contextmanager
def mlflow_server(root: Path) -> Iterator[str]:
    """``mlflow server`` with a SQLite store (job execution off: ~0.5 GB instead of 2.3 GB)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with serve([sys.executable, "-m", "mlflow", "server", "--backend-store-uri", f"sqlite:///{root}/server.db",
                "--default-artifact-root", str(root / "artifacts"), "--host", "127.0.0.1", "--port", str(port)],
               f"{url}/health", root / "server.log", env={"MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}):
        yield url
