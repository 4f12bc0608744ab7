from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image

from img2img.cli import main
from img2img.engine.checkpoint import list_checkpoints

TINY = ["--size", "32", "--batch-size", "2", "--num-workers", "0", "--quiet",
        "--set", "generator.ngf=8", "--set", "generator.max_mult=2", "--set", "discriminator.ndf=8",
        "--set", "discriminator.n_layers=2"]


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(code: int, err: str, fragment: str) -> None:
    assert code != 0
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("img2img: error: ") and fragment in lines[0], err
    assert "Traceback" not in err


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    """A 4-step tiny uncrop run shared by the predict tests."""
    out = tmp_path_factory.mktemp("run") / "r"
    assert main(["train", "--task", "uncrop", "--steps", "4", "--out", str(out), *TINY]) == 0
    return out


def test_train_leaves_checkpoint_weights_grid_and_log(trained):
    assert list_checkpoints(trained / "checkpoints")
    assert (trained / "uncrop-cgan.safetensors").is_file()
    assert list((trained / "samples").glob("*.png"))
    records = [json.loads(line) for line in (trained / "log.jsonl").read_text().splitlines()]
    assert records[-1]["step"] == 4 and "val/psnr" in records[-1]  # the last step validates
    assert (trained / "uncrop-cgan-best.safetensors").is_file()
    assert json.loads((trained / "config.json").read_text())["generator"]["ngf"] == 8


def test_predict_writes_k_samples_of_the_grown_size(trained, tmp_path, capsys):
    Image.new("RGB", (40, 30), (200, 40, 40)).save(tmp_path / "in.png")
    code, out, _ = run(capsys, "predict", "--task", "uncrop", "--weights", str(trained / "uncrop-cgan.safetensors"),
                       "--input", str(tmp_path / "in.png"), "--output", str(tmp_path / "out"), "--samples", "2",
                       "--option", "sides=left+right", "--option", "amount=0.5")
    assert code == 0 and "wrote 2 image(s)" in out
    for k in range(2):
        assert Image.open(tmp_path / f"out_{k}.png").size == (80, 30)


def test_predict_max_side_keeps_the_output_size_and_refuses_a_negative_value(trained, tmp_path, capsys):
    Image.new("RGB", (90, 60), (40, 120, 40)).save(tmp_path / "in.png")
    weights = str(trained / "uncrop-cgan.safetensors")
    for max_side in ("16", "0"):  # scaled down for the generator / full resolution: the same output size
        code, out, _ = run(capsys, "predict", "--task", "uncrop", "--weights", weights, "--input",
                           str(tmp_path / "in.png"), "--output", str(tmp_path / f"out{max_side}.png"),
                           "--samples", "1", "--max-side", max_side)
        assert code == 0 and Image.open(tmp_path / f"out{max_side}.png").size == (90 + 22, 60)
    code, _, err = run(capsys, "predict", "--task", "uncrop", "--weights", weights, "--input",
                       str(tmp_path / "in.png"), "--output", str(tmp_path / "neg.png"), "--max-side", "-1")
    assert_one_line_error(code, err, "must be a size in pixels >= 0")
    assert not (tmp_path / "neg.png").exists()


def test_predict_folder_skips_unreadable_and_refuses_overwrite(trained, tmp_path, capsys):
    src = tmp_path / "photos dir ü"
    src.mkdir()
    Image.new("RGB", (33, 17), "blue").save(src / "a.jpg")
    (src / "broken.png").write_bytes(b"not a png at all")
    weights = str(trained / "uncrop-cgan.safetensors")
    code, out, err = run(capsys, "predict", "--task", "uncrop", "--weights", weights, "--input", str(src),
                         "--output", str(tmp_path / "out"))
    assert code == 0 and "wrote 1 image(s)" in out and "skipping" in err and "broken.png" in err
    assert Image.open(tmp_path / "out" / "a.png").size == (33 + 8, 17)
    code, _, err = run(capsys, "predict", "--task", "uncrop", "--weights", weights, "--input", str(src),
                       "--output", str(tmp_path / "out"))
    assert_one_line_error(code, err, "exists; use --force")


def test_predict_realism_walks_from_the_baseline_to_its_fine_tuned_cgan(trained, tmp_path, capsys):
    base = tmp_path / "base"
    assert main(["train", "--task", "uncrop", "--model", "regression", "--steps", "2", "--out", str(base), *TINY]) == 0
    tuned = tmp_path / "tuned"
    assert main(["train", "--task", "uncrop", "--steps", "2", "--init", str(base / "uncrop-regression.safetensors"),
                 "--out", str(tuned), *TINY]) == 0
    # a baseline fine-tunes from a baseline too, although the task's defaults give its cGAN noise inputs
    assert main(["train", "--task", "uncrop", "--model", "regression", "--steps", "2", "--init",
                 str(base / "uncrop-regression.safetensors"), "--out", str(tmp_path / "again"), *TINY]) == 0
    capsys.readouterr()
    Image.new("RGB", (40, 30), (200, 40, 40)).save(tmp_path / "in.png")
    cgan, regression = str(tuned / "uncrop-cgan.safetensors"), str(base / "uncrop-regression.safetensors")
    predict = ["predict", "--task", "uncrop", "--input", str(tmp_path / "in.png"), "--backend", "torch"]
    pictures = {}
    for a in ("0", "0.5", "1"):
        code, out, _ = run(capsys, *predict, "--weights", cgan, "--baseline", regression, "--realism", a,
                           "--output", str(tmp_path / f"a{a}.png"))
        assert code == 0 and f"at realism {float(a):g}" in out
        pictures[a] = Image.open(tmp_path / f"a{a}.png").tobytes()
    for model, weights in (("regression", regression), ("cgan", cgan)):
        assert run(capsys, *predict, "--weights", weights, "--output", str(tmp_path / f"{model}.png"))[0] == 0
    assert pictures["0"] == Image.open(tmp_path / "regression.png").tobytes()
    assert pictures["1"] == Image.open(tmp_path / "cgan.png").tobytes()
    assert pictures["0.5"] not in (pictures["0"], pictures["1"])
    # Refused in one line: a cGAN trained from scratch, a value out of range, a baseline without --realism.
    code, _, err = run(capsys, *predict, "--weights", str(trained / "uncrop-cgan.safetensors"), "--baseline",
                       regression, "--realism", "0.5", "--output", str(tmp_path / "x.png"))
    assert_one_line_error(code, err, "not fine-tuned from a baseline")
    code, _, err = run(capsys, *predict, "--weights", cgan, "--realism", "2", "--output", str(tmp_path / "x.png"))
    assert_one_line_error(code, err, "realism must be from 0")
    code, _, err = run(capsys, *predict, "--weights", cgan, "--baseline", regression, "--output", str(tmp_path / "x.png"))
    assert_one_line_error(code, err, "give --realism A too")


def test_tasks_lists_uncrop(capsys):
    code, out, _ = run(capsys, "tasks")
    assert code == 0 and any(line.split()[0] == "uncrop" for line in out.splitlines())
    code, out, _ = run(capsys, "tasks", "--json")
    rows = json.loads(out)
    assert {"name": "uncrop", "plugin": "uncrop", "status": "ok"}.items() <= rows[[r["name"] for r in rows].index("uncrop")].items()


def test_tasks_name_shows_options_and_controls(capsys):
    code, out, _ = run(capsys, "tasks", "restore")
    assert code == 0 and out.startswith("restore: Restore damaged photos")
    lines = out.splitlines()
    options, controls = lines.index(next(l for l in lines if l.startswith("options"))), lines.index(
        next(l for l in lines if l.startswith("controls")))
    assert any(l.split()[0] == "severity=medium" and "clean" in l and "mixed" in l for l in lines[options:controls])
    assert any(l.split()[0] == "degrade_first=false" for l in lines[controls:])
    code, out, _ = run(capsys, "tasks", "uncrop", "--json")
    row = json.loads(out)
    assert row["options"]["mask"] == "mixed" and set(row["option_help"]) <= set(row["options"])
    assert [c["name"] for c in row["controls"]] == ["sides", "amount"]
    code, _, err = run(capsys, "tasks", "uncorp")
    assert_one_line_error(code, err, "unknown task 'uncorp'")


@pytest.mark.parametrize(
    "argv, fragment",
    [
        (["train", "--task", "nope"], "unknown task 'nope'"),
        (["train", "--task", "uncrop", "--data", "/definitely/missing"], "data folder not found"),
        (["train", "--task", "uncrop", "--set", "generator.ngf=many"], "generator.ngf must be an integer"),
        (["train", "--task", "uncrop", "--set", "generator.colour=3"], "unknown config key 'generator.colour'"),
        (["train", "--task", "uncrop", "--set", "loss.adversarial=wasserstein"], "loss.adversarial must be one of"),
        (["train", "--task", "uncrop", "--set", "loss.mode_seeking_distance=l2"], "loss.mode_seeking_distance must be one of"),
        (["train", "--task", "uncrop", "--set", "loss.mode_seeking_blur=-1"], "loss.mode_seeking_blur must be between"),
        (["train", "--task", "uncrop", "--set", "generator.nz=0", "--set", "generator.noise=false", "--set",
          "generator.film=true"], "generator.film needs a latent"),
        (["train", "--task", "uncrop", "--set", "generator.nz=0"], "generator.noise needs a latent"),
        (["train", "--task", "uncrop", "--size", "30"], "size must be a multiple of 8"),
        (["train", "--task", "uncrop", "--set", "task_options.mask=circles"], "task_options.mask must be one of"),
        (["train", "--task", "uncrop", "--config", "/missing.json"], "config file not found"),
        (["predict", "--task", "uncrop", "--weights", "/missing.safetensors", "--input", "/x", "--output", "/y"],
         "input not found"),
    ],
)
def test_bad_input_is_one_clear_line(capsys, argv, fragment):
    code, _, err = run(capsys, *argv)
    assert_one_line_error(code, err, fragment)


def test_empty_data_folder(tmp_path, capsys):
    code, _, err = run(capsys, "train", "--task", "uncrop", "--data", str(tmp_path), "--out", str(tmp_path / "r"), *TINY)
    assert_one_line_error(code, err, "no images found")


def test_incompatible_and_unsafe_weights(trained, tmp_path, capsys):
    Image.new("RGB", (16, 16)).save(tmp_path / "in.png")
    base = ["predict", "--task", "uncrop", "--input", str(tmp_path / "in.png"), "--output", str(tmp_path / "o.png")]
    (tmp_path / "model.pt").write_bytes(b"\x80\x04")
    code, _, err = run(capsys, *base, "--weights", str(tmp_path / "model.pt"))
    assert_one_line_error(code, err, "pickled weights are not loaded")
    (tmp_path / "junk.safetensors").write_bytes(b"\x00" * 64)
    code, _, err = run(capsys, *base, "--weights", str(tmp_path / "junk.safetensors"))
    assert_one_line_error(code, err, "not a valid .safetensors")
    code, _, err = run(capsys, *base, "--weights", str(tmp_path / "nothing.safetensors"))
    assert_one_line_error(code, err, "weights file not found")


def test_refuses_to_reuse_a_run_folder_without_resume(trained, capsys):
    code, _, err = run(capsys, "train", "--task", "uncrop", "--steps", "2", "--out", str(trained), *TINY)
    assert_one_line_error(code, err, "already holds a training run")


def test_resume_extends_a_finished_run(tmp_path, capsys):
    out = tmp_path / "r"
    assert main(["train", "--task", "uncrop", "--steps", "2", "--out", str(out), "--checkpoint-every", "1", *TINY]) == 0
    code, _, err = run(capsys, "train", "--task", "uncrop", "--steps", "3", "--out", str(out), "--resume", *TINY)
    assert code == 0 and "resuming" in err and "at step 2" in err
    assert list_checkpoints(out / "checkpoints")[-1].name == "step_00000003.pt"


def test_until_stops_early_and_resume_finishes_the_same_schedule(tmp_path, capsys):
    import torch
    from safetensors.torch import load_file

    from img2img.weights import read_info

    out = tmp_path / "r"
    fast = [*TINY, "--set", "loss.perceptual_weight=0", "--set", "discriminator.kind=patch", "--set", "val_images=0"]
    code, stdout, _ = run(capsys, "train", "--task", "uncrop", "--steps", "4", "--until", "2", "--out", str(out),
                          "--checkpoint-every", "3", *fast)
    assert code == 0 and "stopped at step 2 of 4 (--resume goes on)" in stdout
    assert list_checkpoints(out / "checkpoints")[-1].name == "step_00000002.pt"  # written at the stop too
    assert read_info(out / "uncrop-cgan.safetensors").step == 2
    code, stdout, err = run(capsys, "train", "--task", "uncrop", "--steps", "4", "--out", str(out),
                            "--checkpoint-every", "3", "--resume", *fast)
    assert code == 0 and "at step 2" in err and "done: 4 steps" in stdout
    straight = tmp_path / "s"
    assert main(["train", "--task", "uncrop", "--steps", "4", "--out", str(straight), "--checkpoint-every", "3", *fast]) == 0
    resumed, whole = load_file(out / "uncrop-cgan.safetensors"), load_file(straight / "uncrop-cgan.safetensors")
    assert resumed.keys() == whole.keys() and all(torch.equal(resumed[k], whole[k]) for k in whole)


@pytest.mark.parametrize("value", ["0", "-3"])
def test_until_must_be_positive(tmp_path, capsys, value):
    code, _, err = run(capsys, "train", "--task", "uncrop", "--until", value, "--out", str(tmp_path / "r"), *TINY)
    assert_one_line_error(code, err, "--until must be > 0")
    assert not (tmp_path / "r").exists()


def test_debug_shows_the_traceback(capsys):
    code, _, err = run(capsys, "train", "--task", "nope", "--debug")
    assert code != 0 and "Traceback" in err


def _cli(*argv: str) -> list[str]:
    return [sys.executable, "-m", "img2img", *argv]


@pytest.mark.slow
def test_sigkill_then_resume(tmp_path):
    """A run killed with SIGKILL mid-training resumes from its newest checkpoint with --resume."""
    out = tmp_path / "killed"
    argv = _cli("train", "--task", "uncrop", "--steps", "400", "--checkpoint-every", "5", "--out", str(out), *TINY)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(list_checkpoints(out / "checkpoints")) < 2:
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    saved = list_checkpoints(out / "checkpoints")
    assert saved, "no checkpoint before the kill"
    killed_at = int(saved[-1].stem.split("_")[1])
    resume = subprocess.run(_cli("train", "--task", "uncrop", "--steps", str(killed_at + 5), "--checkpoint-every", "5",
                                 "--out", str(out), "--resume", *TINY), env=env, capture_output=True, text=True,
                            timeout=300)
    assert resume.returncode == 0, resume.stderr
    assert f"at step {killed_at}" in resume.stderr
    assert list_checkpoints(out / "checkpoints")[-1].name == f"step_{killed_at + 5:08d}.pt"


def test_python_dash_m_runs(tmp_path):
    result = subprocess.run(_cli("tasks"), capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and "uncrop" in result.stdout


def test_config_file_then_flags_then_set(tmp_path, capsys):
    (tmp_path / "c.json").write_text(json.dumps({"task": "uncrop", "steps": 2, "generator": {"ngf": 4},
                                                  "loss": {"adversarial": "hinge"}}))
    out = tmp_path / "r"
    code = main(["train", "--config", str(tmp_path / "c.json"), "--out", str(out), *TINY, "--set", "generator.ngf=6"])
    assert code == 0
    saved = json.loads((out / "config.json").read_text())
    assert saved["steps"] == 2 and saved["loss"]["adversarial"] == "hinge"
    assert saved["generator"]["ngf"] == 6  # --set wins over the file


def test_bf16_autocast_path_trains(tmp_path):
    out = tmp_path / "r"
    assert main(["train", "--task", "uncrop", "--steps", "1", "--precision", "bf16", "--out", str(out), *TINY]) == 0
    assert json.loads((out / "config.json").read_text())["precision"] == "bf16"


def test_config_json_records_the_resolved_task_options(trained):
    from img2img.weights import read_info

    saved = json.loads((trained / "config.json").read_text())["task_options"]
    assert saved == read_info(trained / "uncrop-cgan.safetensors").task_options
    assert saved and "mask" in saved  # the task's defaults, although the command set none


def test_help_prints_whole_sentences(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "Every user error is one line on stderr and a non-zero exit code; --debug shows the traceback." in text


def test_unknown_names_are_listed_with_the_valid_ones(capsys, tmp_path):
    code, _, err = run(capsys, "train", "--task", "restore", "--set", "loss.task_weights.exposre=2", "--out",
                       str(tmp_path / "r"), *TINY)
    assert_one_line_error(code, err, "unknown terms ['exposre'] of task 'restore' (its cgan terms: gradient, overshoot)")
    for bad in ("abc", "-1", "true"):
        code, _, err = run(capsys, "train", "--task", "restore", "--set", f"loss.task_weights.overshoot={bad}", "--out",
                           str(tmp_path / "r"), *TINY)
        assert_one_line_error(code, err, "loss.task_weights.overshoot must be a number >= 0 (0 = off), got")
    code, _, err = run(capsys, "train", "--task", "uncrop", "--set", "optim.learning_rate=1")
    assert_one_line_error(code, err, "unknown config key 'optim.learning_rate' (known: optim.lr, optim.lr_d,")
    assert not (tmp_path / "r").exists()


def test_predict_without_shipped_weights_says_how_to_get_them(tmp_path, capsys, monkeypatch):
    import img2img
    from img2img.plugins import PluginHost, TaskInfo

    class Lowlight(img2img.Task):
        name = "lowlight"
        description = "Brightens under-exposed photos."

        def make_condition(self, x, generator):
            return x * 0.3

    host = PluginHost()
    host.tasks["lowlight"] = TaskInfo(Lowlight(), "lowlight", "0.1")
    monkeypatch.setattr("img2img.plugins.load_plugins", lambda *a, **k: host)
    monkeypatch.delenv("IMG2IMG_WEIGHTS_DIR", raising=False)
    Image.new("RGB", (32, 32)).save(tmp_path / "in.png")
    argv = ["predict", "--task", "lowlight", "--input", str(tmp_path / "in.png"), "--output", str(tmp_path / "o.png")]
    code, _, err = run(capsys, *argv)
    assert_one_line_error(code, err, "no cgan weights for task 'lowlight' shipped with img2img; train them with "
                                     "`img2img train --task lowlight --model cgan --out runs/lowlight-cgan` and pass "
                                     "--weights FILE (runs/lowlight-cgan/lowlight-cgan.safetensors)")
    assert "weights/" not in err.split("runs/")[0]  # not the path of a file inside img2img's checkout
    code, _, err = run(capsys, "export", "--task", "lowlight", "--model", "regression", "--out", str(tmp_path / "l.onnx"))
    assert_one_line_error(code, err, "no regression weights for task 'lowlight' shipped with img2img")
    with pytest.raises(img2img.errors.WeightsError, match="and pass weights=PATH"):
        img2img.load_model("lowlight")
    monkeypatch.setenv("IMG2IMG_WEIGHTS_DIR", str(tmp_path))
    code, _, err = run(capsys, *argv)
    assert_one_line_error(code, err, f"no cgan weights for task 'lowlight' in {tmp_path}; train them")
    assert not (tmp_path / "o.png").exists()


def _noise_photos(folder: Path, count: int) -> Path:
    folder.mkdir(parents=True)
    for i in range(count):
        Image.effect_noise((40, 40), 60 + i).convert("RGB").save(folder / f"p{i:02d}.png")
    return folder


def test_train_on_several_folders(tmp_path, capsys):
    a, b = _noise_photos(tmp_path / "a", 6), _noise_photos(tmp_path / "b", 5)
    out = tmp_path / "r"
    code, _, _ = run(capsys, "train", "--task", "uncrop", "--data", str(a), "--data", str(b), "--steps", "2",
                     "--out", str(out), *TINY)
    assert code == 0
    assert json.loads((out / "config.json").read_text())["data"] == [str(a), str(b)]
    code, _, err = run(capsys, "train", "--task", "uncrop", "--data", str(a), "--data", str(tmp_path / "gone"),
                       "--out", str(tmp_path / "r2"), *TINY)
    assert_one_line_error(code, err, f"data folder not found: {tmp_path / 'gone'}")
    assert not (tmp_path / "r2").exists()


def test_config_file_data_may_be_a_list_or_a_string(tmp_path, capsys):
    a, b = _noise_photos(tmp_path / "a", 6), _noise_photos(tmp_path / "b", 5)
    for data in ([str(a), str(b)], str(a)):
        (tmp_path / "c.json").write_text(json.dumps({"task": "uncrop", "steps": 1, "data": data}))
        out = tmp_path / f"r{len(data)}"
        assert run(capsys, "train", "--config", str(tmp_path / "c.json"), "--out", str(out), *TINY)[0] == 0
        assert json.loads((out / "config.json").read_text())["data"] == data
    weighted = [{"path": str(a), "weight": 2.5}, str(b)]
    (tmp_path / "c.json").write_text(json.dumps({"task": "uncrop", "steps": 1, "data": weighted}))
    assert run(capsys, "train", "--config", str(tmp_path / "c.json"), "--out", str(tmp_path / "rw"), *TINY)[0] == 0
    assert json.loads((tmp_path / "rw" / "config.json").read_text())["data"] == weighted
    for bad, fragment in (([], "data must name at least one folder"), ([str(a), 3], "data[1] must be a folder path"),
                          ([{"path": str(a), "weight": 0}], "data[0].weight must be a number > 0"),
                          ([{"path": str(a), "wieght": 2}], "data[0] must be a folder path or"),
                          ([{"path": str(tmp_path / "gone"), "weight": 2}], "data folder not found")):
        (tmp_path / "c.json").write_text(json.dumps({"task": "uncrop", "data": bad}))
        code, _, err = run(capsys, "train", "--config", str(tmp_path / "c.json"), "--out", str(tmp_path / "x"), *TINY)
        assert_one_line_error(code, err, fragment)
