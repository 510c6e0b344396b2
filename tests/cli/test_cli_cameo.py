"""CLI: cameo enroll|list|show|permit|restrict|authorize|grant|revoke|delete|identify|protect
and audit verify|log, with --json and clear errors."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from cameoguard.media import save_image
from tests.consent.conftest import astronaut

from .test_cli import _run


def cli(capsys: pytest.CaptureFixture[str], data: Path, *args: str) -> tuple[int, str, str]:
    return _run(capsys, "--data-dir", str(data), *args)


def test_protect_identify_and_refusals_without_shared_data(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    photo = save_image(astronaut(), tmp_path / "eileen.png")
    code, out, err = cli(capsys, data, "cameo", "protect", "--name", "Eileen Collins",
                         "--reason", "opted out", str(photo), "--json")  # fmt: skip
    assert code == 0, err
    person = json.loads(out)
    assert person["id"].startswith("p_") and person["name"] == "Eileen Collins"
    code, out, _ = cli(capsys, data, "cameo", "protected", "--json")
    assert [p["id"] for p in json.loads(out)] == [person["id"]]
    code, out, _ = cli(capsys, data, "cameo", "identify", str(photo), "--json")
    result = json.loads(out)
    assert code == 0 and result["subjects"][0]["id"] == person["id"]
    assert result["faces"][0]["match"]["kind"] == "protected"
    code, out, _ = cli(capsys, data, "cameo", "identify", str(photo))
    assert "protected" in out and "match" in out
    # Enrolling needs 3 photos; the same photo three times is refused with the reasons.
    code, _, err = cli(capsys, data, "cameo", "enroll", "--owner", "me", "--name", "x", str(photo))
    assert code == 2 and "needs 3 to 20 photos, got 1" in err and "Traceback" not in err
    code, _, err = cli(capsys, data, "cameo", "enroll", "--owner", "me", "--name", "x",
                       str(photo), "--video", str(photo))  # fmt: skip
    assert code == 2 and "either photos or --video" in err
    code, _, err = cli(capsys, data, "cameo", "revoke", "c_000000000000")
    assert code == 2 and "no cameo with id 'c_000000000000'" in err
    code, out, _ = cli(capsys, data, "cameo", "authorize", "--requester", "bob", "--prompt", "hi",
                       "c_000000000000", "--json")  # fmt: skip
    assert code == 1 and json.loads(out)["denials"][0]["reason"] == "unknown_cameo"
    code, out, _ = cli(capsys, data, "cameo", "list", "--json")
    assert code == 0 and json.loads(out) == []
    code, out, _ = cli(capsys, data, "audit", "verify", "--json")
    check = json.loads(out)
    assert code == 0 and check["ok"] and check["entries"] == 2  # protect + authorize
    code, out, _ = cli(capsys, data, "audit", "log", "--json")
    assert [e["action"] for e in json.loads(out)] == ["protected.add", "consent.authorize"]


def test_a_cameo_from_enrollment_to_deletion(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], shared_data: Path
) -> None:
    data = tmp_path / "data"
    obama = shared_data / "faces/face_recognition/obama"
    photos = [str(obama / n) for n in ("obama2.jpg", "obama3.jpg", "obama1_knn_test.jpg")]
    code, out, err = cli(capsys, data, "cameo", "enroll", "--owner", "barack", "--name",
                         "Barack", *photos, "--json")  # fmt: skip
    assert code == 0, err
    cameo = json.loads(out)
    cid = cameo["id"]
    assert cameo["name"] == "Barack" and cameo["tier"] == "only_me"
    code, out, _ = cli(capsys, data, "cameo", "list", "--json")
    assert [(c["id"], c["name"]) for c in json.loads(out)] == [(cid, "Barack")]
    code, out, _ = cli(capsys, data, "cameo", "list")
    assert cid in out and "Barack" in out
    code, _, err = cli(capsys, data, "cameo", "permit", cid, "--tier", "everyone", "--as", "bob")
    assert code == 1 and "does not own cameo" in err
    code, out, _ = cli(capsys, data, "cameo", "permit", cid, "--tier", "approved", "--approve",
                       "michelle", "--as", "barack", "--json")  # fmt: skip
    assert code == 0 and json.loads(out)["approved"] == ["michelle"]
    code, out, _ = cli(capsys, data, "cameo", "restrict", cid, "--forbid", "topic:politics",
                       "--as", "barack", "--json")  # fmt: skip
    assert json.loads(out)["restrictions"] == ["topic:politics"]
    code, out, _ = cli(capsys, data, "cameo", "authorize", "--requester", "michelle", "--prompt",
                       "a birthday cake", cid, "--json")  # fmt: skip
    grant = json.loads(out)["grants"][0]["grant_id"]
    assert code == 0
    code, _, _ = cli(capsys, data, "cameo", "authorize", "--requester", "michelle", "--prompt",
                     "an election speech", cid)  # fmt: skip
    assert code == 1
    code, out, _ = cli(capsys, data, "cameo", "grant", grant, "--json")
    assert code == 0 and json.loads(out)["state"] == "active"
    code, out, _ = cli(capsys, data, "cameo", "revoke", cid, "--as", "barack", "--json")
    assert code == 0 and json.loads(out)["status"] == "revoked"
    code, out, _ = cli(capsys, data, "cameo", "grant", grant, "--json")
    assert code == 1 and json.loads(out)["state"] == "revoked"
    code, out, _ = cli(capsys, data, "cameo", "show", cid, "--json")
    shown = json.loads(out)
    assert [e["action"] for e in shown["audit"]][:3] == ["cameo.enroll", "cameo.permit",
                                                          "cameo.restrict"]  # fmt: skip
    group = shared_data / "faces/face_recognition/multi_face/obama_and_biden.jpg"
    code, out, _ = cli(capsys, data, "cameo", "identify", str(group), "--json")
    matched = json.loads(out)["subjects"]
    assert matched[0]["id"] == cid and matched[0]["status"] == "revoked"
    code, out, _ = cli(capsys, data, "cameo", "delete", cid, "--as", "barack", "--json")
    assert code == 0 and json.loads(out)["removed_samples"] == 3
    code, out, _ = cli(capsys, data, "audit", "verify")
    assert code == 0 and "audit log intact" in out
    with sqlite3.connect(data / "cameoguard.db") as connection:
        connection.execute("UPDATE consent_audit SET actor = 'mallory' WHERE seq = 1")
    code, out, _ = cli(capsys, data, "audit", "verify")
    assert code == 1 and "entry 1 (cameo.enroll) was modified" in out
