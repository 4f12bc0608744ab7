"""Hostile weights through predict, eval (--cgan), the app service and --resume: wrong shapes, another task's
model, absurd architecture metadata, and pickle payloads that would create a file when unpickled. Each is a
clear one-line error, and the payload never runs (its marker file never appears)."""

from __future__ import annotations

import builtins
import io
import json
import pickle
import shutil
from pathlib import Path

import pytest
import torch
from conftest import tiny_config
from PIL import Image
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from img2img.app.service import AppService
from img2img.cli import main
from img2img.engine.checkpoint import list_checkpoints
from img2img.errors import Img2ImgError


class _Payload:
    """Unpickling this calls ``open(marker, "w")``: the file appears iff the pickle was executed."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return builtins.open, (self.marker, "w")


def raw_pickle(marker: Path) -> bytes:
    return pickle.dumps({"G": _Payload(marker)})


def torch_pickle(marker: Path) -> bytes:
    buffer = io.BytesIO()
    torch.save({"G": _Payload(marker), "step": 1, "config": {}}, buffer)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def weights(tmp_path_factory, host) -> Path:
    """Tiny uncrop cgan + regression and a restore cgan (another task's model)."""
    from img2img.engine.trainer import Trainer

    folder = tmp_path_factory.mktemp("weights")
    for task, model in (("uncrop", "cgan"), ("uncrop", "regression"), ("restore", "cgan")):
        cfg = tiny_config(task=task, model=model, steps=1, checkpoint_every=1000, log_every=1000)
        path = Trainer(cfg, host.get(task), tmp_path_factory.mktemp(f"run-{task}-{model}"), progress=False).fit()
        shutil.copy(path, folder / path.name)
    return folder


def test_the_payload_really_runs_when_unpickled_carelessly(tmp_path):
    """Guards the test itself: if this file appears, the markers below would too on any unsafe load."""
    marker = tmp_path / "ran.txt"
    pickle.loads(raw_pickle(marker)).get("G").close()
    assert marker.exists()
    marker.unlink()
    torch.load(io.BytesIO(torch_pickle(marker)), weights_only=False)["G"].close()
    assert marker.exists()


def _wrong_shapes(weights: Path, target: Path) -> Path:
    path = weights / "uncrop-cgan.safetensors"
    with safe_open(str(path), framework="pt") as f:
        metadata = f.metadata()
    tensors = load_file(str(path))
    key = next(k for k, v in tensors.items() if v.dim() == 4)
    tensors[key] = tensors[key][:, :-1].contiguous()  # one input channel fewer
    save_file(tensors, str(target), metadata=metadata)
    return target


def _absurd_architecture(weights: Path, target: Path) -> Path:
    """The real tensors, but metadata claiming ngf=100000 (40 trillion parameters if built for real)."""
    path = weights / "uncrop-cgan.safetensors"
    with safe_open(str(path), framework="pt") as f:
        metadata = dict(f.metadata())
    config = json.loads(metadata["generator_config"])
    metadata["generator_config"] = json.dumps({**config, "ngf": 100_000, "max_mult": 8})
    save_file(load_file(str(path)), str(target), metadata=metadata)
    return target


# (case, file name, builder(weights, tmp, marker) -> path, fragment of the one-line error)
CASES = [
    ("pickle-as-pt", "model.pt", lambda w, p, m: _plant(p, raw_pickle(m)), "pickled weights are not loaded"),
    ("torch-zip-as-pt", "model.pth", lambda w, p, m: _plant(p, torch_pickle(m)), "pickled weights are not loaded"),
    ("pickle-as-safetensors", "uncrop-cgan.safetensors", lambda w, p, m: _plant(p, raw_pickle(m)),
     "not a valid .safetensors"),
    ("torch-zip-as-safetensors", "uncrop-cgan.safetensors", lambda w, p, m: _plant(p, torch_pickle(m)),
     "not a valid .safetensors"),
    ("wrong-shapes", "uncrop-cgan.safetensors", lambda w, p, m: _wrong_shapes(w, p),
     "does not match its own architecture config"),
    ("absurd-architecture", "uncrop-cgan.safetensors", lambda w, p, m: _absurd_architecture(w, p),
     "does not match its own architecture config"),
    ("another-task", "uncrop-cgan.safetensors",
     lambda w, p, m: Path(shutil.copy(w / "restore-cgan.safetensors", p)), "holds a 'restore' model, not 'uncrop'"),
]


def _plant(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _one_line_error(code: int, err: str, fragment: str) -> None:
    lines = [line for line in err.splitlines() if line.strip()]
    assert code != 0 and len(lines) == 1, err
    assert lines[0].startswith("img2img: error: ") and fragment in lines[0] and "Traceback" not in err, err


@pytest.mark.parametrize("surface", ["predict", "eval", "service"])
@pytest.mark.parametrize("case, name, build, fragment", CASES, ids=[c[0] for c in CASES])
def test_hostile_weights(case, name, build, fragment, surface, weights, host, tmp_path, capsys):
    marker = tmp_path / "payload-ran.txt"
    planted = tmp_path / "planted"
    planted.mkdir()
    path = build(weights, planted / name, marker)
    if surface == "predict":
        Image.new("RGB", (40, 32), "red").save(tmp_path / "in.png")
        code = main(["predict", "--task", "uncrop", "--weights", str(path), "--input", str(tmp_path / "in.png"),
                     "--output", str(tmp_path / "out.png")])
        _one_line_error(code, capsys.readouterr().err, fragment)
        assert not (tmp_path / "out.png").exists()
    elif surface == "eval":
        code = main(["eval", "--task", "uncrop", "--cgan", str(path), "--regression",
                     str(weights / "uncrop-regression.safetensors"), "--limit", "2", "--samples", "2", "--quiet"])
        _one_line_error(code, capsys.readouterr().err, fragment)
    else:
        if path.suffix != ".safetensors":
            pytest.skip("the app only looks for <task>-<model>.safetensors")
        shutil.copy(weights / "uncrop-regression.safetensors", planted)
        with pytest.raises(Img2ImgError, match=fragment.replace("(", r"\(").replace(")", r"\)")) as err:
            AppService(host, planted, device="cpu").generate("uncrop", Image.new("RGB", (40, 32), "red"), k=1)
        assert "\n" not in str(err.value)
    assert not marker.exists(), "the pickle payload was executed"


def test_pickle_planted_as_the_newest_checkpoint_is_skipped_on_resume(tmp_path, capsys):
    run = tmp_path / "run"
    tiny = ["--size", "32", "--batch-size", "2", "--num-workers", "0", "--quiet", "--set", "generator.ngf=8",
            "--set", "generator.max_mult=2", "--set", "discriminator.ndf=8", "--set", "discriminator.n_layers=2"]
    assert main(["train", "--task", "uncrop", "--steps", "2", "--checkpoint-every", "2", "--out", str(run), *tiny]) == 0
    marker = tmp_path / "payload-ran.txt"
    (run / "checkpoints" / "step_00000099.pt").write_bytes(torch_pickle(marker))
    with pytest.warns(UserWarning, match="step_00000099.pt is unreadable"):
        code = main(["train", "--task", "uncrop", "--steps", "4", "--checkpoint-every", "2", "--out", str(run),
                     "--resume", *tiny])
    assert code == 0 and "at step 2" in capsys.readouterr().err
    assert not marker.exists(), "the pickle payload was executed"
    assert "step_00000099.pt" in [p.name for p in list_checkpoints(run / "checkpoints")]  # reported, never deleted
