"""CLI: watermark embed/detect, sign --watermark, resolve; JSON and human output."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import pytest

from cameoguard.cli.main import main
from cameoguard.media import Limits, load_image, save_image
from cameoguard.settings import Settings

from ..watermark.conftest import picture
from .test_cli import _run


@pytest.fixture
def data_dir(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    data = tmp_path / "data"
    code, out, _ = _run(capsys, "--data-dir", str(data), "keys", "init", "--json")
    assert code == 0 and json.loads(out)["watermark_key_id"]
    return data


def test_watermark_embed_and_detect(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = save_image(picture(), tmp_path / "in.png")
    out = tmp_path / "out.png"
    code, stdout, _ = _run(capsys, "--data-dir", str(data_dir), "watermark", "embed", str(src),
                           "-o", str(out), "--payload", "g_00000000abcd", "--json")  # fmt: skip
    assert code == 0 and json.loads(stdout)["payload"] == "g_00000000abcd"
    code, stdout, _ = _run(capsys, "--data-dir", str(data_dir), "watermark", "detect", str(out),
                           "--json")  # fmt: skip
    report = json.loads(stdout)
    assert code == 0 and report["found"] is True and report["payload"] == "g_00000000abcd"
    assert report["confidence"] > 0.999999
    code, stdout, _ = _run(capsys, "--data-dir", str(data_dir), "watermark", "detect", str(src),
                           "--json")  # fmt: skip
    assert json.loads(stdout) | {"tracks": None} == json.loads(stdout) | {
        "found": False, "payload": None, "confidence": 0.0, "tracks": None}  # fmt: skip
    code, stdout, _ = _run(capsys, "--data-dir", str(data_dir), "watermark", "detect", str(out))
    assert "g_00000000abcd" in stdout


def test_sign_watermark_then_resolve_a_stripped_copy(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = save_image(picture(640, 480, 1), tmp_path / "gen.png")
    out = tmp_path / "gen-signed.jpg"
    code, stdout, err = _run(capsys, "--data-dir", str(data_dir), "sign", str(src), "-o",
                             str(out), "--watermark", "--generator", "demo", "--json")  # fmt: skip
    assert code == 0, err
    gid = json.loads(stdout)["generation_id"]
    limits = Limits.from_settings(Settings(data_dir=data_dir))
    rgb = load_image(out, limits)
    copy = save_image(cv2.resize(rgb, (480, 360), interpolation=cv2.INTER_AREA),
                      tmp_path / "copy.jpg", quality=75)  # fmt: skip
    code, stdout, _ = _run(capsys, "--data-dir", str(data_dir), "resolve", str(copy), "--json")
    result = json.loads(stdout)
    assert code == 0 and result["status"] == "matched" and result["generation_id"] == gid
    assert result["method"] == "watermark+fingerprint"
    assert result["generation"]["requester"] == "cli"
    assert "c2pa.soft-binding" in json.dumps(result["manifest"])
    code, stdout, _ = _run(capsys, "--data-dir", str(data_dir), "resolve", str(copy))
    assert code == 0 and "matched" in stdout and gid in stdout


def test_resolve_transplant_exits_1_and_errors_exit_2(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = save_image(picture(640, 480, 0), tmp_path / "gen.png")
    out = tmp_path / "gen.jpg"
    _, stdout, _ = _run(capsys, "--data-dir", str(data_dir), "sign", str(src), "-o", str(out),
                        "--watermark", "--json")  # fmt: skip
    gid = json.loads(stdout)["generation_id"]
    other = save_image(picture(640, 480, 2), tmp_path / "other.png")
    forged = tmp_path / "forged.png"
    _run(capsys, "--data-dir", str(data_dir), "watermark", "embed", str(other), "-o",
         str(forged), "--payload", gid)  # fmt: skip
    code, stdout, _ = _run(capsys, "--data-dir", str(data_dir), "resolve", str(forged), "--json")
    assert code == 1 and json.loads(stdout)["status"] == "transplant_suspected"
    code, _, err = _run(capsys, "--data-dir", str(data_dir), "watermark", "embed", str(other),
                        "-o", str(forged), "--payload", "g_12")  # fmt: skip
    assert code == 2 and "12 hex digits" in err and "Traceback" not in err
    code, _, err = _run(capsys, "--data-dir", str(tmp_path / "empty"), "watermark", "detect",
                        str(other))  # fmt: skip
    assert code == 2 and "cameoguard keys init" in err
    assert main(["--data-dir", str(data_dir), "resolve", str(tmp_path / "missing.png")]) == 2
