"""scripts/switch_output.py: the same parameters with another output function, nothing overwritten."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import torch
from safetensors import safe_open

from img2img.config import GeneratorConfig
from img2img.models import UNetGenerator
from img2img.weights import load_generator, save_generator

spec = importlib.util.spec_from_file_location("switch_output", Path(__file__).parents[1] / "scripts" / "switch_output.py")
switch_output = importlib.util.module_from_spec(spec)
spec.loader.exec_module(switch_output)


def _weights(tmp_path: Path, residual: bool = False) -> Path:
    cfg = GeneratorConfig(in_channels=3, out_channels=3, ngf=8, max_mult=4, nz=8, dropout=0.0, residual=residual)
    torch.manual_seed(0)
    g = UNetGenerator(cfg, size=32)
    with torch.no_grad():
        for p in g.parameters():
            p.add_(torch.randn_like(p) * 0.3)  # outputs that reach the ends of [-1, 1]
    return save_generator(tmp_path / f"g{int(residual)}.safetensors", g, task="restore", model="cgan", train_size=32,
                          step=7, dtype=torch.float16)


def test_the_switch_keeps_the_parameters_and_changes_only_the_ending(tmp_path, capsys):
    source, target = _weights(tmp_path), tmp_path / "clip.safetensors"
    assert switch_output.main([str(source), str(target)]) == 0
    before, info = load_generator(source)
    after, switched = load_generator(target)
    assert after.config.output == "clip" and before.config.output == "tanh" and switched.step == info.step == 7
    assert all(torch.equal(a, b) for a, b in zip(before.state_dict().values(), after.state_dict().values()))
    with safe_open(target, "pt") as stored:
        assert all(stored.get_tensor(key).dtype != torch.float32 for key in stored.keys())  # still fp16
    y, z = torch.rand(2, 3, 32, 32) * 2 - 1, torch.randn(2, 8)
    with torch.no_grad():
        pre = torch.atanh(before(y, z).clamp(-0.999, 0.999))  # what the last layer gave, before the tanh
        inside = pre.abs() < 0.99
        assert inside.any() and torch.allclose(after(y, z)[inside], pre[inside], atol=2e-3)
        assert after(y, z).abs().max() <= 1


def test_it_refuses_in_one_line_to_overwrite_or_to_switch_a_residual_generator(tmp_path, capsys):
    source = _weights(tmp_path)
    taken = tmp_path / "taken.safetensors"
    taken.write_bytes(b"mine")
    assert switch_output.main([str(source), str(taken)]) == 1
    assert taken.read_bytes() == b"mine" and "exists" in capsys.readouterr().err
    assert switch_output.main([str(_weights(tmp_path, residual=True)), str(tmp_path / "r.safetensors")]) == 1
    err = capsys.readouterr().err
    assert "residual" in err and err.count("\n") == 1 and not (tmp_path / "r.safetensors").exists()
