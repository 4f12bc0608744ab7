"""The app over HTTP, as a script would use it: gradio_client against a server started in this process."""

from __future__ import annotations

import pytest

pytest.importorskip("gradio", reason="the app needs the 'app' extra: pip install 'img2img[app]'")
gradio_client = pytest.importorskip("gradio_client")

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

import img2img  # noqa: E402
from app_helpers import TASKS, pair_weights, pixel_std, start_app, tiny_weights  # noqa: E402
from img2img.plugins import load_plugins  # noqa: E402

# gradio's queue uses pandas options that pandas 3 deprecates; not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore:.*(no_silent_downcasting|copy keyword).*")


class Invert(img2img.Task):
    """A third-party task with no weights anywhere: its tab must still appear and explain itself."""

    name = "invert-test"
    description = "Inverts colours (a test plugin)."

    def make_condition(self, x, generator):
        return -x


class InvertPlugin:
    @img2img.hookimpl
    def register_tasks(self, register):
        register(Invert())


@pytest.fixture(scope="module")
def app_url(tmp_path_factory, host):
    weights = tiny_weights(tmp_path_factory, host)
    plugins = load_plugins(allow=list(TASKS))  # only tasks with tiny weights, plus the weightless one
    plugins.add_plugin(InvertPlugin(), "invert-test")
    demo, url = start_app(weights, plugins, tmp_path_factory.mktemp("gradio"))
    yield url
    demo.close()


@pytest.fixture(scope="module")
def client(app_url, tmp_path_factory):
    return gradio_client.Client(app_url, verbose=False, download_files=str(tmp_path_factory.mktemp("downloads")))


@pytest.fixture(scope="module")
def example_files(host, tmp_path_factory):
    """Each task's first code-made example, saved as a PNG to upload."""
    folder = tmp_path_factory.mktemp("examples")
    paths = {}
    for name in TASKS:
        from img2img.data.io import tensor_to_pil

        paths[name] = folder / f"{name}.png"
        tensor_to_pil(host.get(name).examples()[0][0]).save(paths[name])
    return paths


def _call(client, task, path, seed=0, seed_b=1, k=4, noise=1.0, endpoint="generate", **controls):
    """Call /generate_<task> (or /walk_<task>) with keyword arguments, so the test does not depend on
    parameter order."""
    kwargs = {"image": gradio_client.handle_file(str(path)), "seed": seed, "seed_b": seed_b, "k": k,
              "noise_scale": noise, **controls}
    if task == "sketch2photo":
        kwargs["sketch"] = None  # an empty canvas: the upload is used
    return client.predict(api_name=f"/{endpoint}_{task}", **kwargs)


def _pixels(path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"), dtype=np.int16)


def test_every_task_has_a_named_endpoint(client):
    endpoints = client.view_api(return_format="dict", print_info=False)["named_endpoints"]
    assert {f"/{e}_{t}" for t in (*TASKS, "invert-test") for e in ("generate", "walk")} <= set(endpoints)
    for endpoint in ("/generate_uncrop", "/walk_uncrop"):
        names = [p["parameter_name"] for p in endpoints[endpoint]["parameters"]]
        assert names == ["image", "sides", "amount", "seed", "seed_b", "k", "noise_scale", "realism"]
    names = [p["parameter_name"] for p in endpoints["/preview_sketch2photo"]["parameters"]]
    assert names == ["sketch", "seed", "realism"]


@pytest.mark.parametrize("task", TASKS)
def test_endpoint_returns_images_of_the_right_size(client, example_files, task):
    samples, baseline, compare, condition, status = _call(client, task, example_files[task], k=3)
    walk, walk_status = _call(client, task, example_files[task], k=3, endpoint="walk")
    size = Image.open(condition).size
    expected = {"uncrop": (320, 256)}.get(task, (256, 256))  # uncrop grows the right side by a quarter
    assert size == expected
    assert len(samples) == 3
    for path in [*(s["image"] for s in samples), baseline, *compare]:
        assert Image.open(path).size == size
    assert Image.open(walk).size == (7 * size[0] + 6 * 4, size[1])  # seven frames, 4 px apart
    assert pixel_std(samples[0]["image"]) > 0
    assert "ms" in status and "CPU" in status
    assert "7 frames" in walk_status and "ms" in walk_status


def test_cgan_samples_differ_between_seeds_and_baseline_is_deterministic(client, example_files):
    first = _call(client, "restore", example_files["restore"], seed=3, k=2)
    second = _call(client, "restore", example_files["restore"], seed=4, k=2)
    assert np.abs(_pixels(first[0][0]["image"]) - _pixels(second[0][0]["image"])).max() > 0
    assert np.array_equal(_pixels(first[1]), _pixels(second[1]))


def test_controls_change_the_result(client, example_files):
    wide = _call(client, "uncrop", example_files["uncrop"], k=1, sides="left+right", amount=0.5)
    assert Image.open(wide[3]).size == (512, 256)


def test_missing_weights_tab_answers_with_the_training_command(client, example_files):
    with pytest.raises(gradio_client.exceptions.AppError, match="img2img train --task invert-test"):
        client.predict(gradio_client.handle_file(str(example_files["restore"])), 0, 1, 2, 1.0,
                       api_name="/generate_invert-test")


def test_unreadable_upload_is_a_message(client, tmp_path):
    junk = tmp_path / "junk.png"
    junk.write_bytes(b"definitely not a png")
    with pytest.raises(gradio_client.exceptions.AppError, match="(?i)cannot read|not a recognised"):
        _call(client, "restore", junk)


# -- realism and the live preview ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def pair_client(tmp_path_factory, host, app_url):
    """An app whose restore weights are a fine-tuned pair (the other tasks' are not)."""
    import os
    from pathlib import Path

    weights = pair_weights(tmp_path_factory, host)
    # The same gradio cache folder as the first app: both serve from this process, which has one.
    demo, url = start_app(weights, load_plugins(allow=list(TASKS)), Path(os.environ["GRADIO_TEMP_DIR"]))
    yield gradio_client.Client(url, verbose=False, download_files=str(tmp_path_factory.mktemp("pair-downloads")))
    demo.close()


def test_realism_parameter_moves_from_the_baseline_to_the_cgan(pair_client, example_files):
    answers = {a: _call(pair_client, "restore", example_files["restore"], k=1, realism=a) for a in (0.0, 0.5, 1.0)}
    samples = {a: _pixels(answer[0][0]["image"]) for a, answer in answers.items()}
    assert np.abs(samples[0.0] - _pixels(answers[0.0][1])).max() <= 1  # at 0: the baseline's answer
    assert not np.array_equal(samples[0.5], samples[0.0]) and not np.array_equal(samples[0.5], samples[1.0])
    assert "realism 0.5" in answers[0.5][4]
    plain = _call(pair_client, "restore", example_files["restore"], k=1)  # realism left out: 1, the cGAN
    assert np.array_equal(_pixels(plain[0][0]["image"]), samples[1.0])


def test_realism_on_a_tab_without_a_pair_is_a_message(pair_client, example_files):
    with pytest.raises(gradio_client.exceptions.AppError, match="realism is fixed at 1 for task .*uncrop.*not fine-tuned from a baseline"):
        _call(pair_client, "uncrop", example_files["uncrop"], k=1, realism=0.5)


def _data_url(image: Image.Image) -> str:
    import base64
    import io

    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def test_preview_endpoint_answers_a_drawing_with_one_picture(client, tmp_path):
    # The preview takes the canvas as the browser sends it: a PNG data URL, not the editor's three files.
    drawn = Image.new("RGB", (256, 256), "white")
    drawn.paste((0, 0, 0), (60, 120, 200, 124))
    picture = client.predict(sketch=_data_url(drawn), seed=0, api_name="/preview_sketch2photo")
    assert Image.open(picture).size == (256, 256) and pixel_std(picture) > 0
    empty = _data_url(Image.new("RGB", (256, 256), "white"))
    assert client.predict(sketch=empty, seed=0, api_name="/preview_sketch2photo") is None  # no toast, no picture
    # Anything but a data URL is no drawing: a path is never opened.
    drawn.save(tmp_path / "sketch.png")
    assert client.predict(sketch=str(tmp_path / "sketch.png"), seed=0, api_name="/preview_sketch2photo") is None
