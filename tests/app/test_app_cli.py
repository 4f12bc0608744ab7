"""``img2img app`` and the promise that the core never needs gradio."""

from __future__ import annotations

import subprocess
import sys

import pytest

from img2img.cli import EXIT_USER_ERROR, main


def test_core_and_service_do_not_import_gradio():
    code = ("import sys, img2img, img2img.cli, img2img.inference, img2img.app, img2img.app.service; "
            "sys.exit('gradio' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], timeout=120).returncode == 0


def test_app_without_gradio_says_how_to_install_it(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "gradio", None)  # makes `import gradio` raise ImportError
    assert main(["app"]) == EXIT_USER_ERROR
    err = capsys.readouterr().err.strip()
    assert err == "img2img: error: the app needs gradio: pip install 'img2img[app]'"


def test_app_help_lists_its_options(capsys):
    with pytest.raises(SystemExit):
        main(["app", "--help"])
    out = capsys.readouterr().out
    for flag in ("--host", "--port", "--share", "--weights-dir"):
        assert flag in out
    assert "127.0.0.1" in out


def test_app_refuses_a_missing_weights_dir(tmp_path, capsys):
    pytest.importorskip("gradio")
    assert main(["app", "--weights-dir", str(tmp_path / "nope")]) == EXIT_USER_ERROR
    assert "is not a folder" in capsys.readouterr().err
