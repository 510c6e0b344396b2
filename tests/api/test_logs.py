"""``cameoguard serve`` writes structured logs: JSON lines, one access record per request, and
nothing biometric or secret (no embeddings, no keys, no paths typed into URLs)."""

from __future__ import annotations

import json
import logging
import re
import subprocess
from pathlib import Path

import httpx
import pytest

from cameoguard.logs import JsonFormatter
from cameoguard.media import save_image
from cameoguard.settings import Settings
from tests.api.test_app import CLI, _auth, _free_port, _wait_healthy, cli_env, create_account
from tests.consent.conftest import astronaut

FLOATS = re.compile(r"(-?\d+\.\d+\s*,\s*){15,}")  # anything shaped like an embedding


def test_the_formatter_writes_one_json_object_with_fields() -> None:
    record = logging.LogRecord(
        "cameoguard.x", logging.INFO, __file__, 1, "hello %s", ("you",), None
    )
    record.fields = {"route": "/v1/verify", "status": 200}
    line = JsonFormatter().format(record)
    assert "\n" not in line
    out = json.loads(line)
    assert out["message"] == "hello you" and out["route"] == "/v1/verify" and out["level"] == "info"


@pytest.mark.slow
def test_serve_logs_json_lines_without_biometrics_or_keys(
    settings: Settings, tmp_path: Path
) -> None:
    env = cli_env(settings)
    key = create_account(env, "plat", "platform")
    cli = CLI
    photo = save_image(astronaut(), tmp_path / "portrait.jpg")
    port = _free_port()
    log = tmp_path / "server.log"
    with log.open("wb") as sink:
        server = subprocess.Popen(
            [*cli, "serve", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=sink,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            _wait_healthy(base, server, 60)
            verified = httpx.post(
                f"{base}/v1/verify",
                headers={**_auth(key), "X-Request-ID": "check-123"},
                files={"file": ("portrait.jpg", photo.read_bytes(), "image/jpeg")},
                timeout=120,
            )
            assert verified.status_code == 200, verified.text
            assert verified.headers["X-Request-ID"] == "check-123"
            assert verified.json()["faces"]["faces"]  # a face was embedded and matched
            refused = httpx.get(f"{base}/v1/cameos/c_secretlooking", headers=_auth("cg_wrong"))
            assert refused.status_code == 401
        finally:
            server.terminate()
            server.wait(timeout=30)
    text = log.read_text()
    records = [json.loads(line) for line in text.splitlines() if line.strip()]
    assert records and all("ts" in r and "level" in r for r in records)
    access = [r for r in records if r["logger"] == "cameoguard.access"]
    verify = next(r for r in access if r["route"] == "/v1/verify")
    assert verify["status"] == 200 and verify["request_id"] == "check-123"
    assert verify["account"] == "plat" and verify["ms"] > 0
    assert any(r["status"] == 401 and r["route"] == "/v1/cameos/{cameo_id}" for r in access)
    assert key not in text and "cg_wrong" not in text and "c_secretlooking" not in text
    assert not FLOATS.search(text), "something shaped like an embedding was logged"
