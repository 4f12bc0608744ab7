"""Two gloo processes on the CPU against one process with the same global batch.

What "the same global batch" means here: rank r takes stream positions r, r + 2, ... (ResumableSampler), so per
step the two ranks' batches of B together are exactly the single run's batch of 2B. Each loss term is a mean
over the batch, and DDP averages the two ranks' gradients, so the updates are equal in exact arithmetic if
nothing else differs between the runs. Three things would differ, and the config switches them off:
latents and dropout are seeded per rank (nz=0, dropout 0), the mode-seeking pairs are formed inside each
rank's batch (needs nz > 0, so off too), and conditions built in the step (self-supervised tasks, and
sketch2photo's embedded scenes) are drawn per rank; so the run uses the paired task on a tiny aligned A|B
folder, whose conditions come from the data, augmented with per-sample seeds. What is left is float summation
order: tiny in fp32, but under bf16 autocast a different order of the same sums rounds to 8-bit mantissas
differently (on a native-bf16 CPU a loss came out 0.69546 against 0.69539), so each precision has its own tolerance.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from img2img.engine.trainer import Trainer

WORLD = 2


def _aligned_folder(root: Path) -> Path:
    """Ten 64x32 A|B images of noise: the paired task reads them as (y, x) pairs."""
    from PIL import Image

    gen = torch.Generator().manual_seed(0)
    root.mkdir(parents=True)
    for i in range(10):
        pixels = (torch.rand(32, 64, 3, generator=gen) * 255).to(torch.uint8).numpy()
        Image.fromarray(pixels).save(root / f"{i:02d}.png")
    return root


# Per precision: (rel, abs) for the logged losses, and the largest allowed distance between the two runs' weights
# as a fraction of how far training moved them (|W_ddp - W_single| / |W_single - W_init|, per network).
# Measured on the CPU: fp32 losses 1e-7 apart, weights 2e-6 of the update; bf16 losses 2e-4 apart, weights 0.18 (G)
# and 0.07 (D) of the update, since Adam's early steps are about lr * sign(gradient) and rounding flips the sign of
# near-zero gradients. A DDP that did not average gradients (each rank training on its own half batch) is 0.75 (G)
# and 0.65 (D) away, far outside both.
TOLERANCE = {"fp32": ((1e-4, 1e-5), {"G": 1e-3, "D": 1e-3}),
             "bf16": ((2e-3, 1e-4), {"G": 0.4, "D": 0.2})}


def _config(batch_size: int, data: Path, precision: str):
    from conftest import tiny_config

    cfg = tiny_config(task="paired", data=str(data), batch_size=batch_size, steps=4, checkpoint_every=2,
                      precision=precision, val_images=2)  # rank 0 validates while rank 1 waits
    cfg.task_options = {"direction": "AtoB"}
    cfg.generator.nz = 0
    cfg.generator.dropout = 0.0
    return cfg


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank: int, port: int, out: str, data: str, resume_at: int, precision: str) -> None:
    import os

    torch.set_num_threads(1)
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE=str(WORLD),
                      LOCAL_RANK=str(rank), NO_ALBUMENTATIONS_UPDATE="1")
    from img2img.plugins import load_plugins

    task = load_plugins().get("paired")
    try:
        # Stop at resume_at, then a fresh Trainer resumes from rank 0's checkpoint: --resume, distributed.
        Trainer(_config(2, Path(data), precision), task, Path(out), progress=False).fit(until=resume_at)
        trainer = Trainer(_config(2, Path(data), precision), task, Path(out), resume=True, progress=False)
        assert trainer.step == resume_at
        trainer.fit()
        torch.save({"G": trainer.G.state_dict(), "D": trainer.D.state_dict()}, Path(out) / f"rank{rank}.pt")
    finally:
        dist.destroy_process_group()


def _losses(run: Path) -> list[dict[str, float]]:
    rows = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    return [{k: v for k, v in r.items() if k.startswith("loss/")} for r in rows if any(k.startswith("loss/") for k in r)]


@pytest.mark.slow
@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_two_gloo_ranks_match_one_process_with_the_same_global_batch(tmp_path, host, precision):
    (rel, abs_), moved = TOLERANCE[precision]
    multi, data = tmp_path / "multi", _aligned_folder(tmp_path / "pairs")
    mp.spawn(_worker, args=(_free_port(), str(multi), str(data), 2, precision), nprocs=WORLD, join=True)
    ranks = [torch.load(multi / f"rank{r}.pt") for r in range(WORLD)]
    for net in ("G", "D"):
        for key, value in ranks[0][net].items():
            assert torch.equal(value, ranks[1][net][key]), f"{net}.{key} differs between ranks"
    assert not list(multi.glob("rank*/")) and (multi / "paired-cgan.safetensors").is_file()
    # Validation ran on rank 0 alone: one val/ record per checkpoint step, and the best weights.
    val_steps = [r["step"] for r in map(json.loads, (multi / "log.jsonl").read_text().splitlines()) if "val/l1" in r]
    assert val_steps == [2, 4] and (multi / "paired-cgan-best.safetensors").is_file()

    single = tmp_path / "single"
    trainer = Trainer(_config(2 * WORLD, data, precision), host.get("paired"), single, progress=False)
    init = {"G": _copy(trainer.G.state_dict()), "D": _copy(trainer.D.state_dict())}
    trainer.fit()
    expected, got = _losses(single), _losses(multi)
    assert len(expected) == len(got) == 2  # log_every 2, 4 steps
    for e, g in zip(expected, got):
        assert e.keys() == g.keys()
        for k in e:
            assert g[k] == pytest.approx(e[k], rel=rel, abs=abs_), k
    for net, module in (("G", trainer.G), ("D", trainer.D)):
        state = module.state_dict()
        apart = _distance(ranks[0][net], state) / _distance(init[net], state)
        assert apart < moved[net], f"{net}: the runs' weights are {apart:.3g} of the update apart"
        if precision == "fp32":
            for key, value in state.items():
                torch.testing.assert_close(ranks[0][net][key], value, rtol=rel, atol=abs_, msg=f"{net}.{key}")


def _copy(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in state.items()}


def _distance(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> float:
    """Euclidean distance between two state dicts over their floating-point tensors."""
    return sum(float(((a[k].float() - v.float()) ** 2).sum()) for k, v in b.items() if v.is_floating_point()) ** 0.5
