"""benchmarks/gpu_check.py is run for real only when a GPU is lent; its --dry-run walks the same lines on the CPU
with tiny networks, so the script cannot rot between those sessions."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "gpu_check.py"


def _module():
    spec = importlib.util.spec_from_file_location("gpu_check", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["gpu_check"] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_dry_run_passes_every_line_for_every_task(tmp_path, capsys, host):
    gpu_check = _module()
    assert gpu_check.main(["--dry-run", "--out", str(tmp_path)]) == 0
    table = capsys.readouterr().out
    rows = [line for line in table.splitlines() if line.startswith("| ") and not line.startswith("| check")]
    checks = {line.split(" | ")[0][2:]: line.split(" | ")[1] for line in rows}
    for task in host.names():
        for check in (f"train {task} cgan", f"train {task} regression", f"predict {task}", f"eval {task}",
                      f"export {task} ONNX", f"app generate {task}"):
            matching = [status for name, status in checks.items() if name.startswith(check)]
            assert matching == ["pass"], (check, table)
    assert checks["kill a training run, resume it"] == "pass"
    assert checks["torchrun 2 processes (nccl)"] == "skip"  # no GPUs in a dry run
    assert "0 failed" in table
    so_far = (tmp_path / "table.md").read_text()  # rewritten after every line: a cut run keeps its numbers
    assert "| kill a training run, resume it | pass |" in so_far and "| train uncrop cgan" in so_far


def test_without_a_gpu_it_says_so_in_one_line(capsys):
    gpu_check = _module()
    if gpu_check.torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    assert gpu_check.main([]) == 2
    assert "use --dry-run" in capsys.readouterr().err


def test_a_failing_line_is_reported_not_raised(tmp_path):
    gpu_check = _module()
    s = gpu_check.Settings(device=gpu_check.torch.device("cpu"), precision="fp32", size=32, batch=2, steps=2,
                           dry_run=True, out=tmp_path)
    with gpu_check.line(s, "something that breaks"):
        raise RuntimeError("the reason\nand a long traceback-ish tail")
    assert s.lines[0].status == "fail" and s.lines[0].detail == "RuntimeError: the reason"
    assert "| something that breaks | fail |" in gpu_check.table(s) and "0 passed, 1 failed" in gpu_check.table(s)
