"""The face stack installs and imports beside the pinned torch (the consent issue builds on it)."""

from __future__ import annotations

import numpy as np
import pytest


def test_mtcnn_runs_offline_on_the_pinned_torch() -> None:
    torch = pytest.importorskip("torch")
    torchvision = pytest.importorskip("torchvision")
    facenet = pytest.importorskip("facenet_pytorch")
    assert torch.__version__.startswith("2.14.1")
    assert torchvision.__version__.startswith("0.29.1")
    boxes = torchvision.ops.nms(torch.tensor([[0.0, 0, 10, 10], [1, 1, 10, 10]]),
                                torch.tensor([0.9, 0.8]), 0.5)  # fmt: skip
    assert boxes.tolist() == [0]  # torchvision's C++ ops load beside this torch
    detector = facenet.MTCNN(keep_all=True, device="cpu")  # weights ship in the wheel
    blank = np.zeros((160, 160, 3), dtype=np.uint8)
    found, _ = detector.detect(blank)
    assert found is None  # no face in a blank image; absence is a result
