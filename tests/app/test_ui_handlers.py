"""The UI's handlers called directly, without a server: how a canvas tab turns widget values into calls."""

from __future__ import annotations

import base64
import io

import numpy as np
import pytest

gr = pytest.importorskip("gradio", reason="the app needs the 'app' extra: pip install 'img2img[app]'")

from PIL import Image  # noqa: E402

from app_helpers import tiny_weights as _tiny_weights  # noqa: E402
from img2img.app.service import AppService  # noqa: E402
from img2img.app.ui import _runner  # noqa: E402


@pytest.fixture(scope="module")
def service(tmp_path_factory, host) -> AppService:
    return AppService(host, _tiny_weights(tmp_path_factory, host), device="cpu")


@pytest.fixture(scope="module")
def handlers(service):
    run, walk, preview, example_preview = _runner(service, service.task("sketch2photo"), has_canvas=True)
    return {"run": run, "walk": walk, "preview": preview, "example_preview": example_preview}


def _drawing() -> Image.Image:
    drawn = Image.new("RGB", (256, 256), "white")
    drawn.paste((0, 0, 0), (50, 100, 210, 104))
    drawn.paste((0, 0, 0), (120, 60, 124, 200))
    return drawn


def _data_url(image: Image.Image) -> str:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def _editor(image: Image.Image | None) -> dict:
    return {"background": image, "layers": [], "composite": image}


# sketch, upload, seed, seed_b, k, noise_scale, realism (sketch2photo has no controls), then the state.
def _generate(handler, canvas, upload=None, state=None):
    return handler(canvas, upload, 3, 4, 2, 1.0, 1.0, state)


def _pixels(path: str) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


def test_generate_with_an_empty_canvas_value_uses_the_drawing_the_preview_received(handlers):
    """The race: a Generate click that reaches the server with an empty canvas value (Gradio could send one
    while a canvas event was still running) works on the user's drawing, not on nothing."""
    drawing = _drawing()
    picture, kept = handlers["preview"](_data_url(drawing), 3, 1.0, None)
    assert picture is not None and np.array_equal(np.asarray(kept), np.asarray(drawing))
    direct = _generate(handlers["run"], _editor(drawing))
    for empty in (None, _editor(None)):
        fallback = _generate(handlers["run"], empty, state=kept)
        assert [_pixels(s).tobytes() for s in fallback[0]] == [_pixels(s).tobytes() for s in direct[0]]
        assert np.array_equal(_pixels(fallback[3]), _pixels(direct[3]))  # the same condition
    walk, text = handlers["walk"](None, None, 3, 4, 2, 1.0, 1.0, kept)
    assert walk is not None and "7 frames" in text


def test_the_canvas_and_an_upload_still_win_over_the_kept_drawing(handlers, tmp_path):
    kept = _drawing()
    other = Image.new("RGB", (256, 256), "white")
    other.paste((0, 0, 0), (30, 30, 230, 34))
    drawn = _generate(handlers["run"], _editor(other), state=kept)
    assert np.array_equal(_pixels(drawn[3]), _pixels(_generate(handlers["run"], _editor(other))[3]))
    other.save(tmp_path / "upload.png")
    uploaded = _generate(handlers["run"], None, str(tmp_path / "upload.png"), state=kept)
    assert np.array_equal(_pixels(uploaded[3]), _pixels(drawn[3]))


def test_generate_with_nothing_at_all_asks_for_a_drawing(handlers):
    with pytest.raises(gr.Error, match="no input image"):
        _generate(handlers["run"], None)


def test_preview_of_a_non_drawing_keeps_the_state_and_shows_nothing(handlers):
    for junk in ("", "/etc/passwd", "data:image/png;base64,AAAA"):
        picture, kept = handlers["preview"](junk, 0, 1.0, None)
        assert picture is None and isinstance(kept, type(gr.skip()))
    blank, kept = handlers["preview"](_data_url(Image.new("RGB", (256, 256), "white")), 0, 1.0, None)
    assert blank is None and kept is not None  # an empty canvas: no picture, but it is the drawing now
    assert handlers["example_preview"](_drawing(), 0, 1.0) is not None
    assert handlers["example_preview"](None, 0, 1.0) is None
