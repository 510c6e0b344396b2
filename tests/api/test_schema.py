"""The OpenAPI document: complete (a description, a success example and the error envelope on
every ``/v1`` operation, the Bearer scheme) and honest (schemathesis over every operation, on
a real server on loopback, with an admin key and a user key, finds no 5xx)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from schemathesis import Case

from cameoguard.api.app import create_app
from cameoguard.provenance.keys import DevCAPaths
from cameoguard.settings import Settings
from tests.api.test_app import ENDPOINTS, _auth, running

#: examples per operation in the fuzzing phase; every case is sent with both keys
EXAMPLES = 100

CONFIG: dict[str, Any] = {
    "seed": 7,  # the same cases on every run, so a failure here is reproducible
    "generation": {
        "max-examples": EXAMPLES,
        "database": "none",  # no example database in .hypothesis/: every run is the same
        # the test sends a real key on every case (the matrix test covers missing and bad keys)
        "with-security-parameters": False,
        # unknown query parameters and JSON fields are ignored, as HTTP APIs do: not negative data
        "allow-extra-parameters": False,
    },
    "phases": {"stateful": {"enabled": False}},
    # Schema-valid is not valid here: a file field takes any bytes in the schema, but an empty
    # or undecodable file is a 400/415, and an id of the right shape is a 404 when unknown.
    "checks": {"positive_data_acceptance": {"enabled": False}},
}

# The document the server serves (FastAPI's ``app.openapi()``: settings only configure what
# happens at startup, not the routes); test_the_served_document_is_complete checks they match.
# Loaded here rather than with schemathesis.pytest.from_fixture, whose lazy loader reads
# ``Function._nodeid``, which pytest 9.2 no longer has.
DOCUMENT = create_app(Settings(data_dir=Path("/nonexistent"))).openapi()
schema = schemathesis.openapi.from_dict(DOCUMENT, config=schemathesis.Config.from_dict(CONFIG))


@pytest.fixture(scope="module")
def served(
    tmp_path_factory: pytest.TempPathFactory, dev_ca: DevCAPaths
) -> Iterator[tuple[str, dict[str, str]]]:
    """One server for every operation, with no rate limit in the way (it has its own test)."""
    with pytest.MonkeyPatch.context() as env:
        for name in list(os.environ):
            if name.startswith("CAMEOGUARD_"):
                env.delenv(name)
        settings = Settings(
            data_dir=tmp_path_factory.mktemp("schema") / "data",
            signing_cert=dev_ca.signer_chain,
            signing_key=dev_ca.signer_key,
            trust_anchors=dev_ca.trust_anchors,
            api_rate_per_minute=1_000_000,
            # webhooks configured but no host allowed: any webhook is a 400, never a 503
            webhook_secret="schemathesis",
        )
    with running(settings) as (client, keys):
        yield str(client.base_url), keys


@pytest.mark.slow
@schema.parametrize()
def test_no_operation_answers_a_server_error(
    case: Case, served: tuple[str, dict[str, str]]
) -> None:
    """Each case (examples, coverage and fuzzing phases) sent with an admin key and a user
    key; every response check: no 5xx, documented statuses, content types and headers, the
    answer's schema, invalid data refused, undeclared methods refused with Allow."""
    base_url, keys = served
    for role in ("admin", "user"):
        case.call_and_validate(base_url=base_url, headers=_auth(keys[role]))


def _success(operation: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    return min((s, r) for s, r in operation["responses"].items() if s.startswith("2"))


def _missing(example: Any, real: Any, where: str = "") -> list[str]:
    """Where a real answer has a key (with a value) that the example lacks, nested; a list is
    compared by its first item."""
    if isinstance(real, dict) and isinstance(example, dict):
        return [
            gap
            for key, value in real.items()
            if value not in (None, [], {})
            for gap in (
                [f"{where}.{key}"]
                if key not in example
                else _missing(example[key], value, f"{where}.{key}")
            )
        ]
    if isinstance(real, list) and real and isinstance(example, list) and example:
        return _missing(example[0], real[0], f"{where}[0]")
    return []


def test_the_served_document_is_complete(served: tuple[str, dict[str, str]]) -> None:
    """Every /v1 operation has a summary and a description, the Bearer scheme, an example of
    its success answer, and the error envelope (with an example) for 401 and every other
    error it documents; every request field that is not a file has an example."""
    import httpx

    base_url, _ = served
    spec = httpx.get(f"{base_url}/openapi.json").json()
    assert spec == DOCUMENT  # what schemathesis tests is what the server serves
    assert spec["components"]["securitySchemes"]["ApiKey"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "cg_ + 43 characters",
        "description": spec["components"]["securitySchemes"]["ApiKey"]["description"],
    }
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    envelope = {"$ref": "#/components/schemas/ErrorEnvelope"}
    operations = [
        (method.upper(), path, operation)
        for path, item in spec["paths"].items()
        if path.startswith("/v1/")
        for method, operation in item.items()
    ]
    assert len(operations) == len(ENDPOINTS)  # the authorization matrix lists each once
    for method, path, operation in operations:
        where = f"{method} {path}"
        assert operation.get("summary") and len(operation.get("description", "")) > 20, where
        assert operation["security"] == [{"ApiKey": []}], where
        status, success = _success(operation)
        assert success.get("description") and success.get("content"), where
        for media, content in success["content"].items():
            if content.get("schema", {}).get("format") == "binary":
                continue  # the bytes of a signed file or manifest store: nothing to show
            assert "example" in content or content.get("examples"), (where, status, media)
        assert "401" in operation["responses"], where
        for code, answer in operation["responses"].items():
            if code.startswith(("4", "5")):
                (only,) = answer["content"].values()
                assert only["schema"] == envelope, (where, code)
                error = only["example"]["error"]
                assert error["code"] and len(error["message"]) > 10, (where, code)
        body = operation.get("requestBody", {}).get("content", {})
        for media, content in body.items():
            ref = content["schema"]["$ref"].rsplit("/", 1)[-1]
            for name, field in spec["components"]["schemas"][ref]["properties"].items():
                if "contentMediaType" in str(field) or "binary" in str(field):
                    continue  # an uploaded file
                assert field.get("examples"), (where, media, name)


def test_the_examples_have_the_shape_of_real_answers(
    served: tuple[str, dict[str, str]], tmp_path: Path
) -> None:
    """The examples are real answers: a fresh answer of the same endpoint has the same keys."""
    import httpx

    from cameoguard.media import save_image
    from tests.consent.conftest import astronaut

    base_url, keys = served
    photo = save_image(astronaut(), tmp_path / "photo.jpg").read_bytes()
    with httpx.Client(base_url=base_url, headers=_auth(keys["platform"]), timeout=60) as client:
        answers = {
            ("GET", "/v1/me"): client.get("/v1/me"),
            ("POST", "/v1/verify"): client.post(
                "/v1/verify", files={"file": ("photo.jpg", photo, "image/jpeg")}
            ),
            ("POST", "/v1/matches/byBinding"): client.post(
                "/v1/matches/byBinding",
                json={"alg": "io.cameoguard.watermark.tiled-stft.v1", "value": "g_0123456789ab"},
            ),
            ("GET", "/v1/consent/grants/{grant_id}"): client.get("/v1/consent/grants/gr_x"),
        }
    for (method, path), answer in answers.items():
        operation = DOCUMENT["paths"][path][method.lower()]
        documented = operation["responses"][str(answer.status_code)]
        example = documented["content"]["application/json"]["example"]
        if answer.status_code < 400:
            assert _missing(example, answer.json()) == [], (method, path)
        else:  # the error envelope, with the code the example names
            assert answer.json()["error"]["code"] == example["error"]["code"], (method, path)


def test_405_and_401_say_what_the_path_takes(served: tuple[str, dict[str, str]]) -> None:
    """Found by schemathesis: a 405 had no Allow header, and where two routes share a path
    (GET and POST /v1/cameos) Allow named only the first; a 401 names the Bearer scheme."""
    import httpx

    base_url, keys = served
    wrong = httpx.delete(f"{base_url}/v1/cameos", headers=_auth(keys["user"]))
    assert wrong.status_code == 405 and wrong.headers["Allow"] == "GET, POST"
    assert wrong.json()["error"] == {
        "code": "http.405",
        "message": "DELETE is not allowed on /v1/cameos; it takes GET, POST",
    }
    anonymous = httpx.get(f"{base_url}/v1/me")
    assert anonymous.status_code == 401 and anonymous.headers["WWW-Authenticate"] == "Bearer"
