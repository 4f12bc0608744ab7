"""Training under faults: SIGKILL at random moments (checkpoint writes included), disk full, an output path
that cannot be a folder, checkpoints truncated by hand, and NaN losses with ``nan_policy`` stop / rollback.

The numbers these tests check are written up in docs/reliability.md.
"""

from __future__ import annotations

import errno
import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch
from conftest import tiny_config

import img2img
from img2img.cli import main
from img2img.engine import checkpoint as ckpt
from img2img.engine.checkpoint import list_checkpoints, load_checkpoint
from img2img.engine.trainer import Trainer
from img2img.errors import Img2ImgError, TrainingDivergedError
from img2img.weights import load_generator

# fp32 pinned: the kill test compares a resumed run with a straight one bit for bit (bf16 has its own resume test).
# The pix2pix recipe pinned: each of the 20 lives would otherwise load LPIPS and Lite0 again (the run took 10
# minutes instead of 2); exact resume under the default recipe is tests/test_cli.py::test_sigkill_then_resume.
TINY = ["--size", "32", "--batch-size", "2", "--num-workers", "0", "--quiet", "--sample-every", "1000", "--precision", "fp32",
        "--set", "generator.ngf=8", "--set", "generator.max_mult=2", "--set", "discriminator.ndf=8",
        "--set", "discriminator.n_layers=2", "--set", "log_every=1", "--set", "keep_checkpoints=2",
        # uncrop's recipe adds Fourier context blocks and noise inputs; what is tested here needs neither
        "--set", "generator.context_blocks=0", "--set", "generator.noise=false",
        "--set", "loss.perceptual_weight=0", "--set", "discriminator.kind=patch"]
KILLS = 20
STEPS = 50
INTERVAL = 2  # --checkpoint-every: the most steps a kill may cost

# A "zygote": one process that imports torch and img2img once, then forks a fresh training process per life.
# Each life is a real OS process killed with a real SIGKILL; forking skips the 3-5 s of imports per start
# (20 x 5 s would dominate the test). The zygote itself never runs a torch op, so forking it is safe.
ZYGOTE = textwrap.dedent("""
    import json, os, sys
    import torch
    import img2img.cli, img2img.engine.trainer, img2img.data.transforms  # noqa: F401  (the slow imports)
    import torch._dynamo  # noqa: F401  (torch.optim.Adam() imports it on first use: 1-4 s per process)
    from img2img.plugins import load_plugins
    load_plugins()  # imports the built-in plugin modules
    out = sys.stdout
    for line in sys.stdin:
        job = json.loads(line)
        pid = os.fork()
        if pid == 0:
            log = os.open(job["log"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            os.dup2(log, 1)
            os.dup2(log, 2)
            os.environ.update(job["env"])
            torch.set_num_threads(1)
            try:
                code = img2img.cli.main(job["argv"])
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
            os._exit(code)
        out.write(f"PID {pid}\\n")
        out.flush()
        _, status = os.waitpid(pid, 0)
        out.write(f"EXIT {os.waitstatus_to_exitcode(status)}\\n")
        out.flush()
""")


class Zygote:
    def __init__(self) -> None:
        env = {**os.environ, "OMP_NUM_THREADS": "1", "NO_ALBUMENTATIONS_UPDATE": "1"}
        self.proc = subprocess.Popen([sys.executable, "-c", ZYGOTE], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True, env=env)

    def start(self, argv: list[str], log: Path, env: dict[str, str]) -> int:
        self.proc.stdin.write(json.dumps({"argv": argv, "log": str(log), "env": env}) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        assert line.startswith("PID "), f"zygote died: {line!r}"
        return int(line.split()[1])

    def wait(self) -> int:
        line = self.proc.stdout.readline()
        assert line.startswith("EXIT "), f"zygote died: {line!r}"
        return int(line.split()[1])

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


def _logged_steps(run: Path, since: float = 0.0) -> int:
    """The last step with a complete log record written after ``since`` (a time.time()); with log_every=1,
    the step the current process has reached (older records may be the lost steps of an earlier life)."""
    last = 0
    try:
        lines = (run / "log.jsonl").read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return 0
    for line in lines:
        try:
            record = json.loads(line)
            if record["time"] >= since:
                last = max(last, int(record["step"]))
        except (ValueError, KeyError):
            pass  # the torn last line of a killed process
    return last


def _wait_for(condition, deadline: float, what: str) -> None:
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.005)


def _flatten(tree, prefix: str = ""):
    """(dotted key, tensor) for every tensor in a nested state dict."""
    if isinstance(tree, torch.Tensor):
        yield prefix, tree
    elif isinstance(tree, dict):
        for key, value in tree.items():
            yield from _flatten(value, f"{prefix}.{key}")
    elif isinstance(tree, (list, tuple)):
        for i, value in enumerate(tree):
            yield from _flatten(value, f"{prefix}.{i}")


def _stray_temporaries(run: Path) -> list[Path]:
    return sorted(run.rglob(".tmp-*"))


@pytest.mark.slow
def test_twenty_sigkills_then_same_weights_as_an_uninterrupted_run(tmp_path):
    rng = random.Random(20240601)
    zygote = Zygote()
    argv = ["train", "--task", "uncrop", "--steps", str(STEPS), "--checkpoint-every", str(INTERVAL), *TINY]
    env = {ckpt.FAULT_DELAY_ENV: "0.05"}  # 50 ms between fsync and rename: a window a kill can land in
    run = tmp_path / "killed"
    modes: list[str] = []
    lost: list[int] = []
    history: list[str] = []
    try:
        zygote.start([*argv, "--out", str(tmp_path / "straight")], tmp_path / "straight.log", env)
        assert zygote.wait() == 0, (tmp_path / "straight.log").read_text()

        resumed_at = 0
        for life in range(KILLS):
            log = tmp_path / f"life{life:02d}.log"
            born = time.time() - 0.002  # log times are rounded to 1 ms
            pid = zygote.start([*argv, "--out", str(run), "--resume"], log, env)
            started = time.monotonic()
            deadline = started + 60
            mode = rng.choice(["start-up", "training", "training", "checkpoint write", "checkpoint write"])
            # Most lives first complete a checkpoint of their own, so the run moves on between kills.
            progress = resumed_at + INTERVAL + 1
            if mode == "start-up":  # anywhere from plugin loading to the first steps
                time.sleep(rng.uniform(0.0, 0.8))
            elif mode == "training":  # between two steps or inside one
                target = resumed_at + rng.randint(1, 2 * INTERVAL + 1)
                _wait_for(lambda: _logged_steps(run, born) >= target, deadline, f"step {target}")
                time.sleep(rng.uniform(0.0, 0.1))
            else:  # while a checkpoint is on its way to disk (temp file written, not yet renamed), or just after
                ckdir = run / "checkpoints"
                _wait_for(lambda: _logged_steps(run, born) >= progress and any(ckdir.glob(".tmp-*.pt")), deadline,
                          "a checkpoint write")
                time.sleep(rng.uniform(0.0, 0.06))
            reached = max(resumed_at, _logged_steps(run, born))
            os.kill(pid, signal.SIGKILL)
            assert zygote.wait() == -signal.SIGKILL, f"life {life} ended before its kill ({mode}): {log.read_text()}"
            modes.append(mode)

            # Every checkpoint left on disk loads, and so do the inference weights.
            for path in list_checkpoints(run / "checkpoints"):
                assert load_checkpoint(path)["step"] == int(path.stem.split("_")[1])
            if (run / "uncrop-cgan.safetensors").exists():
                load_generator(run / "uncrop-cgan.safetensors", expected_task="uncrop")
            saved = list_checkpoints(run / "checkpoints")
            resumed_at = int(saved[-1].stem.split("_")[1]) if saved else 0
            lost.append(reached - resumed_at)
            history.append(f"{mode}: reached {reached}, resumes at {resumed_at}")
            assert reached - resumed_at <= INTERVAL, (life, mode, reached, resumed_at)

        pid = zygote.start([*argv, "--out", str(run), "--resume"], tmp_path / "final.log", env)
        assert zygote.wait() == 0, (tmp_path / "final.log").read_text()
        if resumed_at:
            assert f"at step {resumed_at}" in (tmp_path / "final.log").read_text()
    finally:
        zygote.close()

    assert _stray_temporaries(run) == []
    a = load_checkpoint(tmp_path / "straight" / "checkpoints" / f"step_{STEPS:08d}.pt")
    b = load_checkpoint(run / "checkpoints" / f"step_{STEPS:08d}.pt")
    for part in ("ema", "D", "G", "opt_G", "opt_D"):
        flat_a, flat_b = dict(_flatten(a[part])), dict(_flatten(b[part]))
        assert flat_a.keys() == flat_b.keys() and flat_a, part
        for key in flat_a:
            assert torch.equal(flat_a[key], flat_b[key]), (part, key)
    ga, _ = load_generator(tmp_path / "straight" / "uncrop-cgan.safetensors")
    gb, _ = load_generator(run / "uncrop-cgan.safetensors")
    assert all(torch.equal(x, y) for x, y in zip(ga.state_dict().values(), gb.state_dict().values()))
    print(f"\nkills by moment: { {m: modes.count(m) for m in sorted(set(modes))} }; steps lost per kill: {lost}; "
          f"last kill at step {resumed_at} of {STEPS}\n" + "\n".join(history))


# -- disk full, output path not a folder, truncated checkpoints -------------------------------------------
CLI_TINY = TINY[:-4] + ["--set", "keep_checkpoints=2"]  # without log_every=1


def _one_line_error(code: int, err: str, fragment: str) -> None:
    """A non-zero exit and exactly one error line (besides the run's one-line summary and 'resuming ...')."""
    info = ("uncrop/cgan:", "resuming ", "img2img: nothing to resume")
    lines = [line for line in err.splitlines() if line.strip() and not line.startswith(info)]
    assert code != 0, err
    assert len(lines) == 1 and lines[0].startswith("img2img: error: ") and fragment in lines[0], err
    assert "Traceback" not in err


def _train(out: Path, steps: int, *extra: str) -> list[str]:
    return ["train", "--task", "uncrop", "--steps", str(steps), "--checkpoint-every", "2", "--out", str(out),
            *CLI_TINY, *extra]


@pytest.fixture
def two_checkpoints(tmp_path) -> Path:
    run = tmp_path / "run"
    assert main(_train(run, 4)) == 0
    assert [p.name for p in list_checkpoints(run / "checkpoints")] == ["step_00000002.pt", "step_00000004.pt"]
    return run


class _FillingFile:
    """Wraps a real file: writes fail with ENOSPC once ``limit`` bytes are written (the disk filled up)."""

    def __init__(self, f, limit: int) -> None:
        self._f, self._left = f, limit

    def write(self, data) -> int:
        self._left -= len(data)
        if self._left < 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return self._f.write(data)

    def __getattr__(self, name):
        return getattr(self._f, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self._f.close()


class _DiskFullOs:
    """Stands in for the ``os`` module of img2img.atomic: only its ``os.fdopen`` files fill up."""

    def __init__(self, limit: int) -> None:
        self._limit = limit

    def fdopen(self, fd, *args, **kwargs):
        return _FillingFile(os.fdopen(fd, *args, **kwargs), self._limit)

    def __getattr__(self, name):
        return getattr(os, name)


def _filling_atomic_write(limit: int):
    """An ``atomic_write`` whose file fills up after ``limit`` bytes; patched into one module at a time so
    that only that module's writes (checkpoints or weights) hit the full disk."""
    import img2img.atomic as atomic

    def write(path, writer, before_rename=None):
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(atomic, "os", _DiskFullOs(limit))
            return atomic.atomic_write(path, writer, before_rename)

    return write


@pytest.mark.parametrize("target", ["checkpoint", "weights"])
def test_disk_full_is_one_line_and_keeps_the_previous_files(two_checkpoints, monkeypatch, capsys, target):
    run = two_checkpoints
    before = {p.name: p.read_bytes() for p in list_checkpoints(run / "checkpoints")}
    weights_before = (run / "uncrop-cgan.safetensors").read_bytes()
    module = ckpt if target == "checkpoint" else sys.modules["img2img.weights"]
    monkeypatch.setattr(module, "atomic_write", _filling_atomic_write(10_000))
    capsys.readouterr()
    code = main(_train(run, 6, "--resume"))
    _, err = capsys.readouterr()
    _one_line_error(code, err, "No space left on device")
    monkeypatch.undo()
    # The checkpoints from before are intact (bytes), nothing partial is left, and the run resumes.
    after = {p.name: p.read_bytes() for p in list_checkpoints(run / "checkpoints")}
    for name, data in before.items():
        if name in after:
            assert after[name] == data
    assert _stray_temporaries(run) == []
    if target == "weights":
        assert load_generator(run / "uncrop-cgan.safetensors")[1].step == 4  # the old file, not a torn one
        assert (run / "uncrop-cgan.safetensors").read_bytes() == weights_before
    assert main(_train(run, 6, "--resume")) == 0
    assert list_checkpoints(run / "checkpoints")[-1].name == "step_00000006.pt"


def test_output_path_under_a_regular_file_is_one_line(tmp_path, capsys):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the run folder's parent should be")
    code = main(_train(blocker / "run", 2))
    _, err = capsys.readouterr()
    _one_line_error(code, err, "Not a directory")
    code = main(_train(blocker, 2))
    _, err = capsys.readouterr()
    _one_line_error(code, err, "exists and is not a folder")
    assert blocker.read_text().startswith("a file where")


def test_checkpoint_folder_replaced_by_a_file_is_one_line(two_checkpoints, capsys):
    run = two_checkpoints
    for path in list_checkpoints(run / "checkpoints"):
        path.unlink()
    (run / "checkpoints").rmdir()
    (run / "checkpoints").write_text("")  # now mkdir/mkstemp in it fail (root ignores chmod; this it cannot)
    code = main(_train(run, 2, "--resume"))
    _, err = capsys.readouterr()
    _one_line_error(code, err, "cannot write checkpoint to")
    assert _stray_temporaries(run) == []


def test_truncated_checkpoints_by_hand(two_checkpoints, capsys):
    run = two_checkpoints
    newest = list_checkpoints(run / "checkpoints")[-1]
    newest.write_bytes(newest.read_bytes()[:5000])
    with pytest.warns(UserWarning, match="step_00000004.pt is unreadable"):
        code = main(_train(run, 6, "--resume"))
    _, err = capsys.readouterr()
    assert code == 0 and "at step 2" in err
    assert [p.name for p in list_checkpoints(run / "checkpoints")][-1] == "step_00000006.pt"
    for path in list_checkpoints(run / "checkpoints"):
        path.write_bytes(b"")  # every checkpoint emptied: nothing to resume from
    with pytest.warns(UserWarning):
        code = main(_train(run, 8, "--resume"))
    _, err = capsys.readouterr()
    _one_line_error(code, err, "no readable checkpoint")


# -- NaN / inf losses: nan_policy -------------------------------------------------------------------------
class _Exploding(img2img.Task):
    """A task whose extra loss is NaN at the listed (1-based) calls, or at every call from ``from_call`` on."""

    name = "exploding"
    description = "a loss that explodes on cue"

    def __init__(self, at: tuple[int, ...] = (), from_call: int | None = None) -> None:
        super().__init__()
        self.at, self.from_call, self.calls = at, from_call, 0

    def make_condition(self, x, generator):
        return x

    def loss_terms(self):
        def exploding(fake, real, y):
            self.calls += 1
            bad = self.calls in self.at or (self.from_call is not None and self.calls >= self.from_call)
            return fake.mean() * (float("nan") if bad else 0.0)

        return [img2img.LossTerm("exploding", exploding)]


def _task(cached_uncrop, **kwargs):
    task = _Exploding(**kwargs)
    task.build_dataset = cached_uncrop.build_dataset  # 16 cached scenes: no rendering
    return task


def test_nan_policy_stop_is_the_default(cached_uncrop, tmp_path):
    cfg = tiny_config(task="exploding", steps=6, checkpoint_every=1)
    assert cfg.nan_policy == "stop"
    with pytest.raises(TrainingDivergedError, match="step 3: loss term 'exploding' is nan"):
        Trainer(cfg, _task(cached_uncrop, at=(3,)), tmp_path, progress=False).fit()
    assert list_checkpoints(tmp_path / "checkpoints")[-1].name == "step_00000002.pt"


def test_nan_policy_rollback_reloads_halves_the_lr_and_finishes(cached_uncrop, tmp_path):
    cfg = tiny_config(task="exploding", steps=6, checkpoint_every=2, nan_policy="rollback")
    trainer = Trainer(cfg, _task(cached_uncrop, at=(4,)), tmp_path, progress=False)
    with pytest.warns(UserWarning, match="step 4.*rolled back to step 2 with the learning rate x0.5"):
        trainer.fit()
    assert trainer.step == 6 and trainer.rollbacks == 1
    assert trainer.sched_G.base_lrs == [cfg.optim.lr / 2] and trainer.sched_D.base_lrs == [cfg.optim.lr / 2]
    state = load_checkpoint(tmp_path / "checkpoints" / "step_00000006.pt")
    assert state["nan_rollbacks"] == 1 and state["sched_G"]["base_lrs"] == [cfg.optim.lr / 2]
    steps = [json.loads(line)["step"] for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert steps == sorted(steps), "records of the rolled-back steps were dropped, not duplicated"
    # A resume keeps the lowered rate and the count.
    resumed = Trainer(tiny_config(task="exploding", steps=8, checkpoint_every=2, nan_policy="rollback"),
                      _task(cached_uncrop), tmp_path, resume=True, progress=False)
    assert resumed.rollbacks == 1 and resumed.sched_G.base_lrs == [cfg.optim.lr / 2]


def test_nan_policy_rollback_gives_up_after_n(cached_uncrop, tmp_path):
    cfg = tiny_config(task="exploding", steps=10, checkpoint_every=1, nan_policy="rollback", nan_max_rollbacks=2)
    trainer = Trainer(cfg, _task(cached_uncrop, from_call=3), tmp_path, progress=False)
    with pytest.warns(UserWarning, match="rolled back"), \
            pytest.raises(TrainingDivergedError, match="gave up after 2 rollback"):
        trainer.fit()
    assert trainer.rollbacks == 3
    assert load_checkpoint(list_checkpoints(tmp_path / "checkpoints")[-1])["step"] == 2


def test_nan_before_the_first_checkpoint_cannot_roll_back(cached_uncrop, tmp_path):
    cfg = tiny_config(task="exploding", steps=10, checkpoint_every=5, nan_policy="rollback")
    with pytest.raises(TrainingDivergedError, match="no checkpoint to roll back to"):
        Trainer(cfg, _task(cached_uncrop, at=(2,)), tmp_path, progress=False).fit()


@pytest.mark.parametrize("assignment, fragment", [
    ("nan_policy=skip", "nan_policy must be one of stop, rollback"),
    ("nan_max_rollbacks=0", "nan_max_rollbacks must be > 0"),
])
def test_nan_policy_is_validated_on_the_command_line(tmp_path, capsys, assignment, fragment):
    code = main(_train(tmp_path / "r", 2, "--set", assignment))
    _, err = capsys.readouterr()
    _one_line_error(code, err, fragment)


def test_nan_policy_rollback_from_the_command_line(tmp_path, capsys):
    assert main(_train(tmp_path / "r", 2, "--set", "nan_policy=rollback", "--set", "nan_max_rollbacks=5")) == 0
    saved = json.loads((tmp_path / "r" / "config.json").read_text())
    assert saved["nan_policy"] == "rollback" and saved["nan_max_rollbacks"] == 5


def test_checkpoint_write_error_is_an_img2img_error(tmp_path, monkeypatch):
    monkeypatch.setattr(ckpt, "atomic_write", _filling_atomic_write(0))
    with pytest.raises(Img2ImgError, match="No space left on device; the previous checkpoint is intact"):
        ckpt.save_checkpoint({"step": 1, "config": {}}, tmp_path, 1, keep=2)
    assert list(tmp_path.iterdir()) == []
