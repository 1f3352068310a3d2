"""Schemathesis hooks for `scripts/schemathesis`.

Every operation runs signed in as one seeded account that owns a finished generation (so the
stateful links from images lists and jobs lead to real images), with a fresh login every few
seconds: a generated `POST /auth/logout?everywhere=true` only ends the sessions it revoked.
Schemathesis cannot change the account's password, since it never learns it; it can learn the
email (from `GET /me`) and hold the account's logins from 127.0.0.1 with wrong passwords, which
is the login back-off working: then the run goes on as fresh accounts (3 credits, no images
yet). `scripts/schemathesis` lifts the per-address and per-user rate limits for the run."""

import json
import os
import urllib.error
import time
import urllib.request
import uuid

import schemathesis

BASE = os.environ["ARTFORGE_BASE_URL"]
EMAIL = f"schemathesis-{uuid.uuid4().hex}@example.com"
PASSWORD = "schemathesis passphrase " + uuid.uuid4().hex


def call(method: str, path: str, body=None, token=None):
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(f"{BASE}{path}", data=data, headers=headers, method=method)
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


def seed() -> None:
    """The account, and one finished job of one image (1 of its 3 credits)."""
    token = call("POST", "/auth/register", {"email": EMAIL, "password": PASSWORD})["token"]
    job = call(
        "POST",
        "/generations",
        {"prompt": "a lighthouse at dawn", "model": "v2", "style": "natural",
         "preset": "square", "quality": "low", "count": 1, "tags": ["seed"]},
        token,
    )["job"]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        job = call("GET", f"/generations/{job['id']}", token=token)
        if job["status"] not in ("queued", "running"):
            break
        time.sleep(0.25)
    if not job["images"]:
        raise SystemExit(f"seeding the schemathesis account failed: {job}")
    # One public image too, for the feed and the share page.
    call("PATCH", f"/images/{job['images'][0]['id']}", {"visibility": "public"}, token)


seed()


@schemathesis.auth(refresh_interval=5)
class SeededAccount:
    def get(self, case, context):
        try:
            return call("POST", "/auth/login", {"email": EMAIL, "password": PASSWORD})["token"]
        except urllib.error.HTTPError as error:
            if error.code != 429:
                raise
        fresh = {"email": f"schemathesis-{uuid.uuid4().hex}@example.com", "password": PASSWORD}
        return call("POST", "/auth/register", fresh)["token"]

    def set(self, case, data, context):
        case.headers = case.headers or {}
        case.headers["Authorization"] = f"Bearer {data}"
