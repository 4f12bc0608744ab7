"""FID/KID maths on synthetic features, and the user-supplied TorchScript extractor contract."""

from __future__ import annotations

import warnings

import pytest
import torch
import torch.nn.functional as F

from img2img.errors import WeightsError
from img2img.metrics import fid_from_features, fid_kid, frechet_distance, kid_from_features, load_feature_extractor


def gaussian(n: int, dim: int, seed: int) -> torch.Tensor:
    return torch.randn(n, dim, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def test_frechet_distance_of_diagonal_gaussians_is_analytic():
    mu1, mu2 = torch.tensor([0.0, 1.0, 2.0]), torch.tensor([1.0, 1.0, 0.0])
    var1, var2 = torch.tensor([1.0, 4.0, 9.0]), torch.tensor([4.0, 1.0, 9.0])
    expected = 1.0 + 4.0 + ((var1.sqrt() - var2.sqrt()) ** 2).sum().item()  # |dmu|^2 + sum (s1 - s2)^2
    assert frechet_distance(mu1, torch.diag(var1), mu2, torch.diag(var2)) == pytest.approx(expected, rel=1e-9)


def test_fid_of_identical_sets_is_zero_and_of_a_shift_is_its_squared_length():
    x = gaussian(500, 8, 0)
    shift = torch.linspace(-1, 1, 8, dtype=torch.float64)
    assert fid_from_features(x, x) == pytest.approx(0.0, abs=1e-8)
    # Same samples moved by m: equal covariances, so FID = |m|^2 exactly.
    assert fid_from_features(x + shift, x) == pytest.approx(float(shift.pow(2).sum()), rel=1e-8)
    # Centred, then scaled by 2: same mean and S2 = 4 S1, so FID = tr(S1 + S2 - 2 (S1 S2)^(1/2)) = tr(S1).
    centred = x - x.mean(0)
    assert fid_from_features(2 * centred, centred) == pytest.approx(float(torch.cov(x.T).trace()), rel=1e-8)


def test_kid_is_near_zero_for_one_distribution_and_grows_with_a_shift():
    a, b = gaussian(400, 16, 1), gaussian(400, 16, 2)
    same = kid_from_features(a, b, subset_size=200, subsets=10)
    shifted = kid_from_features(a + 1.0, b, subset_size=200, subsets=10)
    assert abs(same) < 0.02 < shifted
    assert kid_from_features(a, b, subset_size=200, subsets=10) == same  # seeded subsets


class TinyExtractor(torch.nn.Module):
    """Pooled colours as "features": enough to exercise loading, resizing and the FID/KID plumbing."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.adaptive_avg_pool2d(x, 4).flatten(1)


class FourDimensional(torch.nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.adaptive_avg_pool2d(x, 4)


def _save(module: torch.nn.Module, path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.jit.script(module).save(str(path))


def test_scripted_extractor_from_a_local_file(tmp_path):
    _save(TinyExtractor(), tmp_path / "features.pt")
    extractor = load_feature_extractor(tmp_path / "features.pt")
    images = torch.rand(6, 3, 24, 24, generator=torch.Generator().manual_seed(0)) * 2 - 1
    same = fid_kid(extractor, images, images)
    assert set(same) == {"fid", "kid"} and same["fid"] == pytest.approx(0.0, abs=1e-6)
    darker = fid_kid(extractor, (images - 0.5).clamp(-1, 1), images)
    assert darker["fid"] > same["fid"] + 1e-3


def test_bad_extractor_files_are_one_clear_error(tmp_path):
    with pytest.raises(WeightsError, match="not found"):
        load_feature_extractor(tmp_path / "missing.pt")
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"\x00not torchscript\n")
    with pytest.raises(WeightsError, match="not a TorchScript module") as info:
        load_feature_extractor(junk)
    assert "\n" not in str(info.value)
    _save(FourDimensional(), tmp_path / "maps.pt")
    with pytest.raises(WeightsError, match=r"\(N, D\)"):
        load_feature_extractor(tmp_path / "maps.pt")


@pytest.mark.parametrize("n_fake, n_real", [(40, 40), (30, 60), (64, 64)])
def test_fid_with_fewer_images_than_dimensions_equals_the_covariance_formula(n_fake, n_real):
    # Below D images fid_from_features takes the n x m route (nuclear norm of A B^T); it must be the same number.
    fake, real = gaussian(n_fake, 128, 3) * 1.5 + 0.2, gaussian(n_real, 128, 4)
    reference = frechet_distance(fake.mean(0), torch.cov(fake.T), real.mean(0), torch.cov(real.T))
    assert fid_from_features(fake, real) == pytest.approx(reference, rel=1e-7)
    assert fid_from_features(fake, fake) == pytest.approx(0.0, abs=1e-6)
