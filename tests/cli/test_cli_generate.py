"""CLI: generate (cameo_composite) and generations list|show|publish|export|delete."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from cameoguard.consent.enrollment import photo_samples
from cameoguard.consent.registry import CameoRegistry
from cameoguard.media import save_image
from cameoguard.settings import Settings
from tests.consent.conftest import astronaut

from .test_cli import _run


def cli(capsys: pytest.CaptureFixture[str], data: Path, *args: str) -> tuple[int, str, str]:
    return _run(capsys, "--data-dir", str(data), *args)


def _enroll(data: Path) -> str:
    settings = Settings(data_dir=data)
    with CameoRegistry.from_settings(settings) as registry:
        samples = photo_samples([("astronaut", astronaut())], registry.detector,
                                registry.embedder, registry.rules, min_photos=1)  # fmt: skip
        return registry.enroll_samples("alice", "Eileen", samples).cameo.id


def test_generate_then_manage_drafts(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "data"
    code, _, err = cli(capsys, data, "keys", "init")
    assert code == 0, err
    code, _, _ = cli(capsys, data, "db", "upgrade")
    cameo = _enroll(data)
    target = save_image(np.ascontiguousarray(astronaut()[:, ::-1]), tmp_path / "target.png")
    out = tmp_path / "out.png"

    code, stdout, err = cli(capsys, data, "generate", "--backend", "cameo_composite",
                            "--requester", "alice", "--cameo", cameo, "--target", str(target),
                            "--prompt", "a portrait", "-o", str(out), "--json")  # fmt: skip
    assert code == 0, err
    result = json.loads(stdout)
    gen_id = result["generation"]["id"]
    assert out.is_file() and result["generation"]["status"] == "draft"
    assert result["generation"]["cameo_ids"] == [cameo]
    anchors = data / "keys" / "dev-trust-anchors.pem"
    code, stdout, _ = cli(capsys, data, "verify", str(out), "--trust-anchors", str(anchors),
                          "--json")  # fmt: skip
    (report,) = json.loads(stdout)
    assert code == 0 and report["state"] == "trusted"
    assert report["authenticity"]["label"] == "made_by_this_deployment"
    code, stdout, _ = cli(capsys, data, "verify", str(out), "--trust-anchors", str(anchors))
    assert "verdict: made by this deployment" in stdout and f"generation {gen_id}" in stdout

    code, stdout, _ = cli(capsys, data, "generations", "list", "--as", "alice", "--json")
    assert [g["id"] for g in json.loads(stdout)] == [gen_id]
    code, stdout, _ = cli(capsys, data, "generations", "list", "--as", "eve", "--json")
    assert json.loads(stdout) == []
    code, _, err = cli(capsys, data, "generations", "show", gen_id, "--as", "eve")
    assert code == 2 and f"no generation {gen_id}" in err
    code, stdout, _ = cli(capsys, data, "generations", "show", gen_id, "--as", "alice")
    assert code == 0 and "draft" in stdout and "a portrait" in stdout
    copy = tmp_path / "copy.png"
    code, _, _ = cli(capsys, data, "generations", "export", gen_id, "--as", "alice", "-o",
                     str(copy))  # fmt: skip
    assert code == 0 and copy.read_bytes() == out.read_bytes()
    code, stdout, _ = cli(capsys, data, "generations", "publish", gen_id, "--as", "alice",
                          "--json")  # fmt: skip
    assert code == 0 and json.loads(stdout)["status"] == "published"
    code, stdout, _ = cli(capsys, data, "generations", "delete", gen_id, "--as", "alice",
                          "--reason", "test", "--json")  # fmt: skip
    assert code == 0 and json.loads(stdout)["status"] == "deleted"
    code, stdout, _ = cli(capsys, data, "resolve", str(out), "--json")
    assert json.loads(stdout)["generation"]["status"] == "taken_down"

    # refusals are one clear line with the reason, never a traceback
    code, _, err = cli(capsys, data, "cameo", "revoke", cameo, "--as", "alice")
    assert code == 0, err
    code, _, err = cli(capsys, data, "generate", "--requester", "alice", "--cameo", cameo,
                       "--target", str(target), "--prompt", "again", "-o",
                       str(tmp_path / "again.png"))  # fmt: skip
    assert code == 1 and "consent refused" in err and "revoked" in err
    assert "Traceback" not in err and not (tmp_path / "again.png").exists()
    code, _, err = cli(capsys, data, "generate", "--requester", "alice", "--cameo", cameo,
                       "--target", str(target), "--prompt", "x", "--option", "nonsense",
                       "-o", str(tmp_path / "x.png"))  # fmt: skip
    assert code == 2 and "KEY=VALUE" in err
