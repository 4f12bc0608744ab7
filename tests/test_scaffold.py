"""`img2img new-task`: the generated package installs, is discovered and passes the conformance kit as is.

The package is installed with ``pip install --target`` into the test's own tmp folder, not editable into the
shared venv: an editable install would be visible to every other process using the venv while the test runs
(the other xdist worker, a concurrent run), and a test killed before its uninstall would leave an entry point
pointing at a deleted folder, i.e. a broken plugin in every later run. The --target folder is put on
PYTHONPATH of a child pytest, where importlib.metadata sees its dist-info (entry points) like site-packages.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from img2img.cli import main
from img2img.scaffold import ScaffoldError, plugin_names, scaffold_plugin


def _pip_available() -> bool:
    return subprocess.run([sys.executable, "-m", "pip", "--version"], capture_output=True).returncode == 0


def test_generated_plugin_installs_is_discovered_and_conforms(tmp_path, capsys):
    if not _pip_available():
        pytest.skip("pip is not available in this environment")
    package = tmp_path / "img2img-hello-world"
    assert main(["new-task", "hello-world", "--dir", str(package)]) == 0
    assert "created" in capsys.readouterr().out
    site = tmp_path / "site"
    install = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-index", "--no-deps",
         "--no-build-isolation", "--target", str(site), str(package)],
        capture_output=True, text=True, timeout=300)
    assert install.returncode == 0, install.stdout + install.stderr
    assert (site / "img2img_hello_world-0.1.0.dist-info" / "entry_points.txt").is_file()

    # The generated tests: check_task on the task, and discovery through the entry point.
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep),
           "NO_ALBUMENTATIONS_UPDATE": "1", "OMP_NUM_THREADS": "1"}
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"], cwd=package,
                            capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "4 passed" in result.stdout  # the kit, discovery, the loss-term stub and the metric stub


def test_generated_files(tmp_path):
    target = scaffold_plugin("edge_map", tmp_path / "pkg", check_registered=False)
    files = sorted(p.relative_to(target).as_posix() for p in target.rglob("*") if p.is_file())
    assert files == [".gitignore", "README.md", "img2img_edge_map/__init__.py", "pyproject.toml",
                     "tests/test_edge_map.py"]
    pyproject = (target / "pyproject.toml").read_text()
    assert '[project.entry-points.img2img]\nedge_map = "img2img_edge_map"' in pyproject
    assert 'name = "img2img-edge_map"' in pyproject
    source = (target / "img2img_edge_map" / "__init__.py").read_text()
    compile(source, "generated", "exec")
    assert "class EdgeMapTask(img2img.Task):" in source and "@img2img.hookimpl" in source
    assert "check_task(EdgeMapTask(), tmp_path=tmp_path)" in (target / "tests" / "test_edge_map.py").read_text()


def test_the_generated_task_conforms_in_process(tmp_path, monkeypatch):
    """The same check without pip: load the generated module, run the kit on it and the generated stub tests
    of its loss term and metric (fast, always runs)."""
    import importlib.util

    from img2img.plugins import PluginHost
    from img2img.testing import check_task

    target = scaffold_plugin("inproc", tmp_path / "pkg", check_registered=False)
    spec = importlib.util.spec_from_file_location("img2img_inproc_under_test", target / "img2img_inproc" / "__init__.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    host = PluginHost()
    host.add_plugin(module, "inproc")
    assert host.names() == ["inproc"] and not host.broken
    check_task(host.get("inproc"), train=False)
    task = host.get("inproc")
    assert [t.name for t in task.loss_terms()] == ["colour"] and list(task.metrics()) == ["colour_shift"]
    monkeypatch.setitem(sys.modules, "img2img_inproc", module)
    spec = importlib.util.spec_from_file_location("generated_tests", target / "tests" / "test_inproc.py")
    tests = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tests)
    stubs = [name for name in vars(tests) if name.startswith(("test_loss_term", "test_metric"))]
    assert len(stubs) == 2
    for name in stubs:
        getattr(tests, name)()


@pytest.mark.parametrize("name, package, cls", [
    ("my-task", "img2img_my_task", "MyTask"),
    ("denoise", "img2img_denoise", "DenoiseTask"),
    ("fix_photo2", "img2img_fix_photo2", "FixPhoto2Task"),
    ("style-task", "img2img_style_task", "StyleTask"),
])
def test_names_are_derived(name, package, cls):
    names = plugin_names(name)
    assert (names.package, names.class_name, names.distribution) == (package, cls, f"img2img-{name}")
    assert names.package.isidentifier() and names.class_name.isidentifier()


@pytest.mark.parametrize("bad", ["My-Task", "2fast", "with space", "", "_lead", "x" * 65, "über"])
def test_bad_names_are_one_line_errors(bad, tmp_path, capsys):
    assert main(["new-task", bad, "--dir", str(tmp_path / "p")]) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("img2img: error: task name") and "lowercase" in err[0]
    assert not (tmp_path / "p").exists()


def test_refuses_a_folder_in_use(tmp_path, capsys):
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "keep.txt").write_text("mine")
    assert main(["new-task", "fresh", "--dir", str(tmp_path / "taken")]) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "already exists and is not empty" in err[0]
    assert sorted(p.name for p in (tmp_path / "taken").iterdir()) == ["keep.txt"]
    (tmp_path / "empty").mkdir()
    assert scaffold_plugin("fresh", tmp_path / "empty", check_registered=False) == tmp_path / "empty"


def test_refuses_an_installed_task_name(tmp_path):
    with pytest.raises(ScaffoldError, match="task called 'uncrop' is already installed"):
        scaffold_plugin("uncrop", tmp_path / "p")


def test_default_folder_is_named_after_the_distribution(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert scaffold_plugin("cwdtask", check_registered=False) == tmp_path / "img2img-cwdtask"
