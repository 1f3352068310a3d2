"""The local server (`artforge-dev`) for scripts that test against it: on a free port, with its
own moto and stand-ins, its log in a file, always stopped. Used by `scripts/schemathesis` and
`scripts/walkthrough`.
"""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Settings a developer's shell may carry that must not reach a test server: it makes its own.
FOREIGN = {"AWS_ENDPOINT_URL", "OPENAI_API_KEY", "OPENAI_BASE_URL", "STRIPE_API_BASE",
           "CHECKOUT_SUCCESS_URL", "CHECKOUT_CANCEL_URL", "PUBLIC_BASE_URL"}


def target_dir() -> Path:
    if "CARGO_TARGET_DIR" in os.environ:
        return Path(os.environ["CARGO_TARGET_DIR"])
    return ROOT / "target"


def default_bin() -> str:
    return os.environ.get("ARTFORGE_DEV_BIN", str(target_dir() / "debug/artforge-dev"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_up(base: str, server: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit(f"the dev server exited ({server.returncode}); see {log}")
        try:
            with urllib.request.urlopen(f"{base}/openapi.json", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.25)
    sys.exit(f"the dev server was not up within 90 s; see {log}")


@contextlib.contextmanager
def running(binary: str, log: Path, **env_overrides):
    """Starts the server, waits until it answers, yields its base URL and port, stops it."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if k not in FOREIGN}
    env.update(PORT=str(port), RUST_LOG="warn", NO_COLOR="1",
               ARTFORGE_PYTHON=os.environ.get("ARTFORGE_PYTHON", sys.executable), **env_overrides)
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "w") as out:
        server = subprocess.Popen([binary], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                  start_new_session=True)
    try:
        wait_until_up(base, server, log)
        yield base, port
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
