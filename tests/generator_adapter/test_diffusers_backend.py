"""The diffusers backend: registered and clear without the extra; a real tiny pipeline with it.

Without ``cameoguard[diffusers]`` the backend must still register, import nothing heavy and
explain what is missing (the model folder, or the packages). With diffusers installed, a tiny
randomly initialised Stable Diffusion pipeline is built and saved into ``tmp_path`` (no
download) and rendered through the backend.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from cameoguard.errors import (
    BadInputError,
    ConfigurationError,
    GenerationCancelledError,
    ModelUnavailableError,
)
from cameoguard.generator_adapter.backends.base import (
    BackendRequest,
    CancelToken,
    available_backends,
    create_backend,
)
from cameoguard.generator_adapter.backends.diffusers_backend import DiffusersBackend
from cameoguard.media import Limits, MediaKind, load_image, probe
from cameoguard.settings import Settings
from tests.conftest import REPO

LIMITS = Limits(64 << 20, 80_000_000, 300.0, 600.0)
HAVE_DIFFUSERS = importlib.util.find_spec("diffusers") is not None


def image_request(workdir: Path, limits: Limits = LIMITS, **kwargs: Any) -> BackendRequest:
    return BackendRequest("a red kite over hills", MediaKind.IMAGE, workdir, limits, **kwargs)


def fake_pipeline_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "pipeline"
    folder.mkdir()
    (folder / "model_index.json").write_text(json.dumps({"_class_name": "StableDiffusionPipeline"}))
    return folder


def test_registered_and_created_from_settings(tmp_path: Path) -> None:
    assert "diffusers" in available_backends()
    settings = Settings(diffusers_model_path=tmp_path / "model")
    with create_backend("diffusers", settings) as backend:
        assert isinstance(backend, DiffusersBackend)
        assert backend.model_path == tmp_path / "model"
        described = backend.describe()
        assert described["kinds"] == ["image"]
        assert described["needs_cameo"] is False and described["needs_target"] is False


def test_importing_loads_neither_diffusers_nor_torch() -> None:
    code = (
        "import sys; import cameoguard.generator_adapter.backends.diffusers_backend; "
        "heavy = sorted({'diffusers', 'torch', 'transformers'} & set(sys.modules)); "
        "print(heavy); sys.exit(1 if heavy else 0)"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                          text=True, timeout=120, check=False)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr


def test_no_model_path_names_the_setting(tmp_path: Path) -> None:
    with DiffusersBackend(None) as backend, pytest.raises(ModelUnavailableError) as caught:
        backend.generate(image_request(tmp_path))
    assert "CAMEOGUARD_DIFFUSERS_MODEL_PATH" in str(caught.value)
    assert "nothing is downloaded" in str(caught.value)


def test_missing_folder_names_the_setting(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-model"
    with DiffusersBackend(missing) as backend, pytest.raises(ModelUnavailableError) as caught:
        backend.generate(image_request(tmp_path))
    assert str(missing) in str(caught.value) and "does not exist" in str(caught.value)
    assert "CAMEOGUARD_DIFFUSERS_MODEL_PATH" in str(caught.value)


def test_folder_without_model_index_is_refused(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with (
        DiffusersBackend(tmp_path / "empty") as backend,
        pytest.raises(ModelUnavailableError, match=r"has no model_index\.json"),
    ):
        backend.generate(image_request(tmp_path))


@pytest.mark.skipif(HAVE_DIFFUSERS, reason="diffusers is installed")
def test_without_the_extra_says_what_to_install(tmp_path: Path) -> None:
    folder = fake_pipeline_folder(tmp_path)
    with DiffusersBackend(folder) as backend, pytest.raises(ConfigurationError) as caught:
        backend.generate(image_request(tmp_path))
    assert not isinstance(caught.value, ModelUnavailableError)
    assert "cameoguard[diffusers]" in str(caught.value)


def test_only_pictures_are_made(tmp_path: Path) -> None:
    backend = DiffusersBackend(fake_pipeline_folder(tmp_path))
    with pytest.raises(BadInputError, match="makes pictures"):
        backend.generate(BackendRequest("x", MediaKind.VIDEO, tmp_path, LIMITS))


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"steps": 0}, "steps option must be a whole number"),
        ({"seed": "seven"}, "seed option"),
        ({"width": 100}, "multiple of 8"),
        ({"width": 8192, "height": 8192}, "CAMEOGUARD_MAX_PIXELS"),
        ({"guidance": -1}, "guidance option"),
        ({"negative_prompt": 3}, "negative_prompt option must be text"),
    ],
)
def test_bad_options_are_refused_before_loading(
    tmp_path: Path, options: dict[str, Any], message: str
) -> None:
    backend = DiffusersBackend(tmp_path / "not-even-there")
    limits = Limits(64 << 20, 50_000_000, 300.0, 600.0)
    with pytest.raises(BadInputError, match=message):
        backend.generate(image_request(tmp_path, limits, options=options))


# --- a real (tiny, random) pipeline, when diffusers is installed ------------------------------


def tiny_pipeline(folder: Path) -> Path:
    """A randomly initialised Stable Diffusion pipeline small enough to run in a second."""
    diffusers = pytest.importorskip("diffusers")
    transformers = pytest.importorskip("transformers")
    import torch

    torch.manual_seed(0)
    vocab_dir = folder.parent / "vocab"
    vocab_dir.mkdir(parents=True, exist_ok=True)
    letters = [chr(c) for c in range(ord("a"), ord("z") + 1)]
    tokens = ["<|startoftext|>", "<|endoftext|>", "!", *letters, *(f"{c}</w>" for c in letters)]
    (vocab_dir / "vocab.json").write_text(json.dumps({t: i for i, t in enumerate(tokens)}))
    (vocab_dir / "merges.txt").write_text("#version: 0.2\n")
    tokenizer = transformers.CLIPTokenizer(
        str(vocab_dir / "vocab.json"), str(vocab_dir / "merges.txt"), model_max_length=16
    )
    text_encoder = transformers.CLIPTextModel(
        transformers.CLIPTextConfig(
            bos_token_id=0, eos_token_id=1, pad_token_id=1, hidden_size=32,
            intermediate_size=37, num_attention_heads=4, num_hidden_layers=2,
            vocab_size=len(tokens), max_position_embeddings=16,
        )
    )  # fmt: skip
    unet = diffusers.UNet2DConditionModel(
        block_out_channels=(4, 8), layers_per_block=1, sample_size=16, in_channels=4,
        out_channels=4, down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"), cross_attention_dim=32,
        norm_num_groups=2, attention_head_dim=2,
    )  # fmt: skip
    vae = diffusers.AutoencoderKL(
        block_out_channels=[4, 8], in_channels=3, out_channels=3, latent_channels=4,
        down_block_types=["DownEncoderBlock2D"] * 2, up_block_types=["UpDecoderBlock2D"] * 2,
        norm_num_groups=2,
    )  # fmt: skip
    scheduler = diffusers.DDIMScheduler(
        beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", clip_sample=False,
        set_alpha_to_one=False,
    )  # fmt: skip
    pipeline = diffusers.StableDiffusionPipeline(
        vae=vae, text_encoder=text_encoder, tokenizer=tokenizer, unet=unet, scheduler=scheduler,
        safety_checker=None, feature_extractor=None, requires_safety_checker=False,
    )  # fmt: skip
    pipeline.save_pretrained(str(folder))
    return folder


# third-party deprecation notices are not this package's warnings
THIRD_PARTY_WARNINGS = [
    "ignore::FutureWarning",
    "ignore::DeprecationWarning",
    "ignore::UserWarning",
]


@pytest.mark.filterwarnings(*THIRD_PARTY_WARNINGS)
def test_renders_with_a_real_pipeline(tmp_path: Path) -> None:
    folder = tiny_pipeline(tmp_path / "tiny-sd")
    progress: list[float] = []
    options = {"seed": 7, "steps": 3, "guidance": 2.0, "width": 64, "height": 48}
    with DiffusersBackend(folder, device="cpu") as backend:
        first = backend.generate(
            image_request(
                tmp_path / "one", options=options, progress=lambda f, _m: progress.append(f)
            )
        )
        second = backend.generate(image_request(tmp_path / "two", options=options))
    assert first.path == tmp_path / "one" / "raw.png"
    info = probe(first.path, LIMITS)
    assert (info.kind, info.width, info.height) == (MediaKind.IMAGE, 64, 48)
    assert first.kind is MediaKind.IMAGE
    assert first.model == "StableDiffusionPipeline/tiny-sd"
    assert first.details["pipeline"] == "StableDiffusionPipeline"
    assert (first.details["steps"], first.details["seed"]) == (3, 7)
    assert progress[-1] == 1.0 and len(progress) >= 3
    assert np.array_equal(load_image(first.path, LIMITS), load_image(second.path, LIMITS))


@pytest.mark.filterwarnings(*THIRD_PARTY_WARNINGS)
def test_cancel_between_steps_writes_nothing(tmp_path: Path) -> None:
    folder = tiny_pipeline(tmp_path / "tiny-sd")
    token = CancelToken()
    workdir = tmp_path / "work"
    request = image_request(
        workdir,
        options={"steps": 4, "width": 32, "height": 32},
        cancel=token,
        progress=lambda fraction, _m: token.cancel() if fraction > 0 else None,
    )
    with DiffusersBackend(folder, device="cpu") as backend, pytest.raises(GenerationCancelledError):
        backend.generate(request)
    assert not workdir.exists() or list(workdir.iterdir()) == []
