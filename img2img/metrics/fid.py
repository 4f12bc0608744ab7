"""FID and KID, only with a feature extractor the user supplies as a local file.

No network is downloaded and torchvision is not a dependency, so the toolkit ships no Inception weights.
``img2img eval --fid-weights FILE`` takes a TorchScript module (``torch.jit.save``) with this contract:

- input: a float batch (N, 3, 299, 299), RGB in [0, 1] (the module does its own normalisation);
- output: features (N, D), e.g. the 2048-d pool3 features of InceptionV3 used by published FIDs.

One way to make such a file, in any environment that has pytorch-fid or torchvision (not this one)::

    model = pytorch_fid.inception.InceptionV3([3]).eval()
    wrapped = torch.jit.trace(lambda x: model(x)[0].flatten(1), torch.rand(1, 3, 299, 299))
    wrapped.save("inception-fid.pt")

TorchScript runs no Python from the file, but load only files you trust all the same. Numbers are only
comparable to other papers' FIDs with the same extractor, the same image count and the same resizing.
Without the flag, eval reports FID/KID as unavailable.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor

from ..errors import WeightsError
from ..seeding import make_generator, stable_seed
from .psnr_ssim import to_unit

INPUT_SIZE = 299
KID_SUBSET = 1000  # subset size and count of Binkowski et al. 2018 (capped by the set sizes)
KID_SUBSETS = 100


def load_feature_extractor(path: str | Path, device: str | torch.device = "cpu") -> torch.jit.ScriptModule:
    """Load the user's TorchScript feature extractor and check it on one dummy image.

    Raises :class:`WeightsError` (one line) for a missing file, a file that is not TorchScript, or a module
    that does not map (N, 3, 299, 299) images to (N, D) features.
    """
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"--fid-weights: file not found: {path}")
    try:
        with warnings.catch_warnings():
            # Recent torch deprecates TorchScript in favour of torch.export; it is still the one portable,
            # pickle-free format a user can produce for an Inception network without torchvision here.
            warnings.simplefilter("ignore", DeprecationWarning)
            module = torch.jit.load(str(path), map_location=device)
    except Exception as exc:  # torch raises RuntimeError, ValueError or zipfile errors for foreign files
        raise WeightsError(f"--fid-weights {path} is not a TorchScript module ({_one_line(exc)})") from exc
    module.eval()
    try:
        with torch.inference_mode():
            probe = module(torch.full((2, 3, INPUT_SIZE, INPUT_SIZE), 0.5, device=device))
    except Exception as exc:
        raise WeightsError(f"--fid-weights {path} fails on a (2, 3, 299, 299) batch ({_one_line(exc)})") from exc
    if not isinstance(probe, Tensor) or probe.dim() != 2 or probe.shape[0] != 2:
        shape = tuple(probe.shape) if isinstance(probe, Tensor) else type(probe).__name__
        raise WeightsError(f"--fid-weights {path} must return (N, D) features for N images, got {shape}")
    return module


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 160 else text[:157] + "..."


@torch.inference_mode()
def extract_features(extractor: torch.nn.Module, images: Tensor, batch_size: int = 32) -> Tensor:
    """Features (N, D) in float64 of images (NCHW in [-1, 1]), resized bilinearly to 299x299."""
    device = next(iter(extractor.parameters()), torch.empty(0)).device
    chunks = []
    for start in range(0, images.shape[0], batch_size):
        batch = to_unit(images[start : start + batch_size]).to(device)
        if batch.shape[1] == 1:
            batch = batch.expand(-1, 3, -1, -1)
        batch = F.interpolate(batch, size=(INPUT_SIZE, INPUT_SIZE), mode="bilinear", align_corners=False)
        chunks.append(extractor(batch).double().cpu())
    return torch.cat(chunks)


def _sqrtm_psd(matrix: Tensor) -> Tensor:
    """Square root of a symmetric positive semi-definite matrix by eigendecomposition."""
    values, vectors = torch.linalg.eigh(matrix)
    return (vectors * values.clamp_min(0).sqrt()) @ vectors.T


def frechet_distance(mu1: Tensor, sigma1: Tensor, mu2: Tensor, sigma2: Tensor) -> float:
    """||mu1 - mu2||^2 + tr(S1 + S2 - 2 (S1 S2)^(1/2)) between two Gaussians, in float64.

    tr((S1 S2)^(1/2)) is computed as the trace of (S1^(1/2) S2 S1^(1/2))^(1/2): the same eigenvalues, but of a
    symmetric matrix, so a symmetric eigensolver suffices and no complex parts appear from round-off.
    """
    mu1, mu2, sigma1, sigma2 = (t.double() for t in (mu1, mu2, sigma1, sigma2))
    root1 = _sqrtm_psd(sigma1)
    middle = root1 @ sigma2 @ root1
    middle = (middle + middle.T) / 2  # remove round-off asymmetry before eigh
    trace_cross = torch.linalg.eigvalsh(middle).clamp_min(0).sqrt().sum()
    value = (mu1 - mu2).pow(2).sum() + sigma1.trace() + sigma2.trace() - 2 * trace_cross
    return max(float(value), 0.0)


def fid_from_features(fake: Tensor, real: Tensor) -> float:
    """FID between two feature sets (N, D): the Fréchet distance of Gaussians fitted to each."""
    fake, real = fake.double(), real.double()
    if fake.shape[0] < 2 or real.shape[0] < 2:
        raise ValueError("FID needs at least 2 images per set")
    if max(fake.shape[0], real.shape[0]) <= fake.shape[1]:
        return _frechet_distance_low_rank(fake, real)
    return frechet_distance(fake.mean(0), torch.cov(fake.T), real.mean(0), torch.cov(real.T))


def _frechet_distance_low_rank(fake: Tensor, real: Tensor) -> float:
    """:func:`frechet_distance` of the two sets' Gaussians when there are fewer images than dimensions.

    With S1 = A^T A and S2 = B^T B (A, B the centred sets over sqrt(n - 1)), the nonzero eigenvalues of
    S1^(1/2) S2 S1^(1/2) are the squared singular values of A B^T, so tr((S1 S2)^(1/2)) is the nuclear norm of
    that n x m matrix: the same value without two D x D eigendecompositions (1.8 s for D = 1280 on one core,
    which training-time validation pays at every checkpoint).
    """
    a = (fake - fake.mean(0)) / (fake.shape[0] - 1) ** 0.5
    b = (real - real.mean(0)) / (real.shape[0] - 1) ** 0.5
    trace_cross = torch.linalg.svdvals(a @ b.T).sum()
    value = (fake.mean(0) - real.mean(0)).pow(2).sum() + a.pow(2).sum() + b.pow(2).sum() - 2 * trace_cross
    return max(float(value), 0.0)


def kid_from_features(fake: Tensor, real: Tensor, subset_size: int = KID_SUBSET, subsets: int = KID_SUBSETS,
                      seed: int = 0) -> float:
    """KID: the unbiased MMD^2 with the cubic polynomial kernel (x.y/D + 1)^3, averaged over random subsets.

    Unbiased, so it can be slightly negative for two samples of one distribution; 0 means "no difference".
    """
    fake, real = fake.double(), real.double()
    size = min(subset_size, fake.shape[0], real.shape[0])
    if size < 2:
        raise ValueError("KID needs at least 2 images per set")
    dim = fake.shape[1]
    gen = make_generator(stable_seed("kid", seed))
    estimates = []
    for _ in range(subsets):
        a = fake[torch.randperm(fake.shape[0], generator=gen)[:size]]
        b = real[torch.randperm(real.shape[0], generator=gen)[:size]]
        k_aa = (a @ a.T / dim + 1) ** 3
        k_bb = (b @ b.T / dim + 1) ** 3
        k_ab = (a @ b.T / dim + 1) ** 3
        off_diagonal = size * (size - 1)
        mmd = ((k_aa.sum() - k_aa.trace()) + (k_bb.sum() - k_bb.trace())) / off_diagonal - 2 * k_ab.mean()
        estimates.append(float(mmd))
    return sum(estimates) / len(estimates)


def fid_kid(extractor: torch.nn.Module, fake: Tensor, real: Tensor, seed: int = 0) -> dict[str, float]:
    """``{"fid": ..., "kid": ...}`` between generated and real images (NCHW in [-1, 1]) with the user's extractor."""
    fake_features = extract_features(extractor, fake)
    real_features = extract_features(extractor, real)
    return {"fid": fid_from_features(fake_features, real_features),
            "kid": kid_from_features(fake_features, real_features, seed=seed)}
