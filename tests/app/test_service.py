"""The app's gradio-free layer: input checks, the model cache and what one click produces."""

from __future__ import annotations

import base64
import io
import threading

import numpy as np
import pytest
from PIL import Image

from app_helpers import TASKS, pair_weights, pixel_std, tiny_weights as _tiny_weights
from img2img.app.service import (
    MAX_PIXELS,
    AppService,
    InputError,
    LatestOnly,
    MAX_DATA_URL_CHARS,
    MissingWeightsError,
    decode_data_url,
    has_ink,
    read_image,
)
from img2img.errors import Img2ImgError


@pytest.fixture(scope="session")
def tiny_weights(tmp_path_factory, host):
    return _tiny_weights(tmp_path_factory, host)


@pytest.fixture(scope="session")
def service(tiny_weights, host) -> AppService:
    return AppService(host, tiny_weights, device="cpu")


def _png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


# -- inputs ----------------------------------------------------------------------------------------
def test_unreadable_bytes_give_a_message_not_a_traceback():
    with pytest.raises(InputError, match="cannot read the image") as err:
        read_image(b"this is not an image at all")
    assert "Traceback" not in str(err.value) and "img2img-upload-" not in str(err.value)


def test_truncated_png_and_empty_upload_are_refused():
    data = _png_bytes(Image.new("RGB", (64, 64), (10, 200, 30)))
    with pytest.raises(InputError, match="cannot read the image"):
        read_image(data[: len(data) // 2])
    with pytest.raises(InputError, match="empty"):
        read_image(b"")


def test_no_input_and_tiny_input_are_refused():
    with pytest.raises(InputError, match="no input image"):
        read_image(None)
    with pytest.raises(InputError, match="at least 16 px"):
        read_image(Image.new("RGB", (8, 300)))


def test_huge_image_is_downscaled_with_a_note():
    image, notes = read_image(Image.new("RGB", (3000, 2000), (120, 30, 30)))
    assert image.width * image.height <= MAX_PIXELS
    assert abs(image.width / image.height - 1.5) < 0.01  # aspect ratio kept
    assert len(notes) == 1 and "3000x2000" in notes[0] and "downscaled" in notes[0]


def test_absurd_declared_size_is_refused_before_decoding(tmp_path):
    # A 1-bit PNG of 10000x10000 is tiny on disk but declares 100 megapixels.
    path = tmp_path / "bomb.png"
    Image.new("1", (10_000, 10_000)).save(path)
    with pytest.raises(InputError, match="exceeds the limit"):
        read_image(str(path))


def test_rgba_and_arrays_become_rgb_on_white():
    clear = Image.new("RGBA", (32, 32), (0, 0, 0, 0))
    image, _ = read_image(clear)
    assert image.mode == "RGB" and image.getpixel((5, 5)) == (255, 255, 255)
    array = np.zeros((20, 30, 3), dtype=np.uint8)
    assert read_image(array)[0].size == (30, 20)


def test_a_canvas_data_url_reads_like_an_upload_and_nothing_else_is_taken_for_one():
    drawn = Image.new("RGBA", (256, 256), (0, 0, 0, 0))
    drawn.paste((0, 0, 0, 255), (40, 100, 220, 104))
    url = "data:image/png;base64," + base64.b64encode(_png_bytes(drawn)).decode()
    image, _ = read_image(decode_data_url(url))
    assert image.mode == "RGB" and image.size == (256, 256) and has_ink(image)
    assert image.getpixel((10, 10)) == (255, 255, 255)  # transparent paper is white
    # A path (the server must never open a file a browser names), a non-image, junk base64, an absurd length.
    for bad in ("/etc/passwd", "data:text/plain;base64,aGk=", "data:image/png,notbase64", "data:image/png;base64,@@",
                "data:image/png;base64," + "A" * MAX_DATA_URL_CHARS, None, {"composite": None}):
        with pytest.raises(InputError):
            decode_data_url(bad)


def test_has_ink_tells_a_drawing_from_an_empty_canvas():
    assert not has_ink(Image.new("RGBA", (64, 64), (0, 0, 0, 0)))  # transparent: the Sketchpad's empty page
    assert not has_ink(Image.new("RGB", (64, 64), "white"))
    drawn = Image.new("RGB", (64, 64), "white")
    drawn.putpixel((10, 10), (0, 0, 0))
    assert has_ink(drawn)


def test_blank_sketch_gives_the_tasks_message(service):
    blank = service.choose_input({"composite": Image.new("RGB", (512, 512), "white")}, None)
    with pytest.raises(Img2ImgError, match="sketch is empty"):
        service.generate("sketch2photo", blank)


def test_canvas_with_ink_wins_over_upload(service):
    drawn = Image.new("RGB", (64, 64), "white")
    drawn.putpixel((3, 3), (0, 0, 0))
    uploaded = Image.new("RGB", (64, 64), "red")
    assert service.choose_input({"composite": drawn}, uploaded) is drawn
    assert service.choose_input({"composite": Image.new("RGB", (64, 64), "white")}, uploaded) is uploaded
    with pytest.raises(InputError, match="no input image"):
        service.choose_input(None, None)


def test_paint_canvas_wins_once_it_differs_from_its_fill(service):
    fill = service.task("facades").app.palette[0][1]
    blank = Image.new("RGB", (64, 64), fill)
    painted = blank.copy()
    painted.paste((0, 127, 254), (10, 10, 20, 30))  # a window
    uploaded = Image.new("RGB", (64, 64), "red")
    assert service.choose_input({"composite": painted}, uploaded, fill) is painted
    assert service.choose_input({"composite": blank}, uploaded, fill) is uploaded
    assert service.choose_input({"composite": blank}, None, fill) is blank  # an all-wall facade is an input


def test_facades_translates_a_painted_map_snapped_to_the_palette(service):
    painted = Image.new("RGB", (64, 64), (5, 50, 250))  # wall, off by a few levels as after a resize
    painted.paste((0, 127, 254), (10, 10, 20, 30))
    result = service.generate("facades", painted, seed=1, k=2)
    assert len(result.samples) == 2 and result.baseline is not None
    condition = np.asarray(result.condition).reshape(-1, 3)
    assert {tuple(c) for c in np.unique(condition, axis=0)} <= {(0, 48, 254), (0, 127, 254)}


@pytest.mark.parametrize("bad", [{"k": 0}, {"k": 99}, {"seed": -1}, {"noise_scale": -0.5}, {"k": "many"}])
def test_out_of_range_numbers_are_refused(service, bad):
    image = service.examples("restore")[0]
    with pytest.raises(InputError):
        service.generate("restore", image, **bad)


# -- outputs ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("task", TASKS)
def test_output_sizes_and_counts(service, task):
    image = service.examples(task)[0]
    result = service.generate(task, image, seed=0, k=3)
    expected = result.condition.size
    assert len(result.samples) == 3 and len(result.interpolation) == 7
    assert all(s.size == expected for s in [*result.samples, result.baseline, *result.interpolation])
    if task == "uncrop":  # the default control grows the right side by a quarter
        assert expected == (image.width + image.width // 4, image.height)
    elif task == "restore":
        assert expected == image.size
    assert set(result.timings_ms) == {"cGAN", "MSE baseline", "interpolation"}
    assert all(ms > 0 for ms in result.timings_ms.values())
    assert result.device.startswith("CPU")
    assert "ms" in result.summary() and "CPU" in result.summary()


def test_cgan_samples_differ_between_seeds_and_repeat_for_one_seed(service):
    image = service.examples("restore")[0]
    a = service.generate("restore", image, seed=1, k=2)
    b = service.generate("restore", image, seed=2, k=2)
    again = service.generate("restore", image, seed=1, k=2)
    pixels = lambda r: np.stack([np.asarray(s, dtype=np.int16) for s in r.samples])  # noqa: E731
    assert np.abs(pixels(a) - pixels(b)).max() > 0
    assert np.array_equal(pixels(a), pixels(again))
    assert np.abs(pixels(a)[0] - pixels(a)[1]).max() > 0  # K samples of one click differ too


def test_baseline_is_deterministic_across_seeds(service):
    image = service.examples("uncrop")[0]
    first = service.generate("uncrop", image, seed=5).baseline
    second = service.generate("uncrop", image, seed=77, noise_scale=2.0).baseline
    assert np.array_equal(np.asarray(first), np.asarray(second))


def test_interpolation_starts_at_the_first_sample(service):
    # The walk begins at seed's latent, so its first frame is the gallery's first sample.
    image = service.examples("sketch2photo")[0]
    result = service.generate("sketch2photo", image, seed=9, k=2, seed_b=20)
    assert np.array_equal(np.asarray(result.interpolation[0]), np.asarray(result.samples[0]))
    assert np.abs(np.asarray(result.interpolation[0], dtype=np.int16)
                  - np.asarray(result.interpolation[-1], dtype=np.int16)).max() > 0


def test_controls_reach_the_task(service):
    image = service.examples("uncrop")[0]
    result = service.generate("uncrop", image, controls={"sides": "all", "amount": 0.5, "unknown": 1})
    assert result.condition.size == (image.width * 2, image.height * 2)
    restored = service.generate("restore", image, controls={"degrade_first": True, "severity": "heavy"})
    plain = service.generate("restore", image)
    assert not np.array_equal(np.asarray(restored.condition), np.asarray(plain.condition))


def test_examples_are_made_by_code_and_not_blank(service):
    for task in TASKS:
        pictures = service.examples(task)
        assert pictures and all(pixel_std(p) > 5 for p in pictures)


# -- weights ----------------------------------------------------------------------------------------
def test_models_load_once_even_under_concurrent_first_use(tiny_weights, host):
    fresh = AppService(host, tiny_weights, device="cpu")
    seen = []
    threads = [threading.Thread(target=lambda: seen.append(fresh.models("uncrop"))) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({id(m) for m in seen}) == 1
    assert seen[0].cgan is not None and seen[0].regression is not None


def test_missing_weights_say_which_and_how_to_train(tmp_path, host):
    empty = AppService(host, tmp_path, device="cpu")
    message = empty.weights_message("restore")
    assert "restore-cgan.safetensors" in message and "restore-regression.safetensors" in message
    assert "img2img train --task restore --model cgan" in message
    with pytest.raises(MissingWeightsError, match="img2img train --task restore"):
        empty.generate("restore", empty.examples("restore")[0])
    assert "img2img train --task paired --data YOUR_PAIRS --model cgan" in empty.weights_message("paired")


def test_warm_up_loads_every_task_with_weights_and_reports_the_rest(tmp_path, tiny_weights, host):
    for name in ("uncrop-cgan.safetensors", "uncrop-regression.safetensors"):
        (tmp_path / name).write_bytes((tiny_weights / name).read_bytes())
    service = AppService(host, tmp_path, device="cpu", backend="torch")
    status = service.warm_up()  # must not raise for the tasks without weights
    assert status["uncrop"] == "ready" and "uncrop" in service._models
    assert status["restore"].startswith("MissingWeightsError") and "restore" not in service._models
    assert set(status) == set(service.task_names())


def test_only_the_cgan_present_still_generates_with_a_note(tmp_path, tiny_weights, host):
    (tmp_path / "uncrop-cgan.safetensors").write_bytes((tiny_weights / "uncrop-cgan.safetensors").read_bytes())
    partial = AppService(host, tmp_path, device="cpu")
    result = partial.generate("uncrop", partial.examples("uncrop")[0], k=2)
    assert len(result.samples) == 2 and result.baseline is None
    assert any("uncrop-regression.safetensors" in note for note in result.notes)


def test_corrupt_weights_are_a_readable_error(tmp_path, host):
    (tmp_path / "uncrop-cgan.safetensors").write_bytes(b"not safetensors")
    broken = AppService(host, tmp_path, device="cpu")
    with pytest.raises(Img2ImgError):
        broken.generate("uncrop", broken.examples("uncrop")[0])


def test_latent_walk_alone_equals_the_walk_generate_makes(service):
    # The UI asks for the walk in a second call; it must show the same frames generate() would.
    image = service.examples("uncrop")[0]
    result = service.generate("uncrop", image, seed=4, k=3, seed_b=8, controls={"amount": 0.5})
    frames, ms = service.latent_walk("uncrop", image, seed=4, k=3, seed_b=8, controls={"amount": 0.5})
    assert ms > 0 and len(frames) == len(result.interpolation) == 7
    for mine, theirs in zip(frames, result.interpolation):
        assert np.array_equal(np.asarray(mine), np.asarray(theirs))
    skipped = service.generate("uncrop", image, seed=4, k=3, interpolation_steps=0)
    assert skipped.interpolation == [] and "interpolation" not in skipped.timings_ms


# -- realism and the live preview ---------------------------------------------------------------------
@pytest.fixture(scope="session")
def paired(tmp_path_factory, host) -> AppService:
    """restore's cGAN fine-tuned from its baseline (a pair); the other tasks trained from scratch."""
    return AppService(host, pair_weights(tmp_path_factory, host), device="cpu")


def test_realism_runs_only_for_a_fine_tuned_pair_and_says_why_not(paired):
    assert paired.realism_problem("restore") is None
    assert "not fine-tuned from a baseline" in paired.realism_problem("uncrop")
    image = paired.examples("uncrop")[0]
    assert paired.generate("uncrop", image, k=1, interpolation_steps=0, realism=1).samples  # 1: as ever
    with pytest.raises(InputError, match="realism is fixed at 1 for task 'uncrop'.*not fine-tuned"):
        paired.generate("uncrop", image, k=1, realism=0.5)
    with pytest.raises(InputError, match="realism must be"):
        paired.generate("restore", paired.examples("restore")[0], realism=1.5)


def test_realism_ends_are_the_baseline_and_the_cgan_and_switching_reads_no_file(paired, monkeypatch):
    image = paired.examples("restore")[0]
    at = {a: paired.generate("restore", image, seed=2, k=2, interpolation_steps=0, realism=a) for a in (0, 0.5, 1)}
    # At 0 the samples are the baseline's answer (to ONNX Runtime's rounding: the baseline may run with it).
    assert np.abs(np.asarray(at[0].samples[0], np.int16) - np.asarray(at[0].baseline, np.int16)).max() <= 1
    plain = paired.generate("restore", image, seed=2, k=2, interpolation_steps=0)
    assert [p.tobytes() for p in at[1].samples] == [p.tobytes() for p in plain.samples]
    assert at[0.5].samples[0].tobytes() not in (at[0].samples[0].tobytes(), at[1].samples[0].tobytes())
    assert any("realism 0.5" in note for note in at[0.5].notes)
    # Moving the slider reads no file: the pair was read when the task's models loaded.
    monkeypatch.setattr("img2img.weights.load_file", lambda *a, **k: pytest.fail("a weights file was read"))
    monkeypatch.setattr("img2img.weights.safe_open", lambda *a, **k: pytest.fail("a weights file was read"))
    for a in (0.25, 0.75, 0.25):
        paired.generate("restore", image, k=1, interpolation_steps=0, realism=a)
    # A cGAN fine-tuned from its baseline gains a latent (zero-started), so the walk exists at every realism.
    frames, _ = paired.latent_walk("restore", image, realism=0.25)
    assert len(frames) > 1


def test_preview_is_one_sample_at_the_models_size_shown_at_the_input_size(service):
    drawn = Image.new("RGB", (256, 256), "white")
    drawn.paste((0, 0, 0), (60, 60, 200, 64))
    picture, ms = service.preview("sketch2photo", drawn, seed=5)
    assert picture.size == (256, 256) and ms > 0
    cgan = service.models("sketch2photo").cgan
    runs = []
    original = type(cgan.generator).__call__
    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.setattr(type(cgan.generator), "__call__", lambda g, y, z=None: runs.append(tuple(y.shape)) or original(g, y, z))
    try:
        again, _ = service.preview("sketch2photo", drawn, seed=5)
    finally:
        monkeypatch.undo()
    train = cgan.info.train_size
    assert runs == [(1, 1, train, train)]  # one sample, at the training size
    assert again.tobytes() == picture.tobytes()  # a fixed seed: the same drawing gives the same preview
    with pytest.raises(Img2ImgError, match="sketch is empty"):
        service.preview("sketch2photo", Image.new("RGB", (256, 256), "white"))


def test_latest_only_runs_one_call_per_key_and_lets_only_the_newest_wait():
    """The live preview's gate: strokes 1..5 sent while stroke 0's preview runs: 0 and 5 run, 1..4 give way."""
    gate = LatestOnly()
    release, started, ran = threading.Event(), threading.Event(), []

    def slow():
        started.set()
        release.wait(5)
        ran.append(0)
        return 0

    answers = {}
    first = threading.Thread(target=lambda: answers.setdefault(0, gate.run("tab", slow)))
    first.start()
    started.wait(5)
    others = []
    for i in range(1, 6):
        call = (lambda i=i: answers.setdefault(i, gate.run("tab", lambda: ran.append(i) or i)))
        others.append(threading.Thread(target=call))
        others[-1].start()
        while gate.waiting() != 1 or (i > 1 and gate.superseded < i - 1):
            threading.Event().wait(0.001)
    assert gate.run("another tab", lambda: "at once") == "at once"  # other keys do not wait
    release.set()
    for thread in [first, *others]:
        thread.join(5)
    assert ran == [0, 5] and answers[0] == 0 and answers[5] == 5
    assert all(answers[i] is LatestOnly.SUPERSEDED for i in range(1, 5))
    assert gate.peak_waiting == 1 and gate.superseded == 4 and gate.runs == 3 and gate.waiting() == 0
