"""sketch2photo's example sketches drawn by code (examples.py): the app's example inputs."""

from __future__ import annotations

from img2img_plugins.sketch2photo.examples import draw_example_sketches
from img2img_plugins.sketch2photo.user_drawings import is_blank_sketch


def test_example_sketches_are_drawn_and_distinct() -> None:
    examples = draw_example_sketches(128)
    assert len(examples) == 3
    for sketch in examples:
        assert sketch.shape == (1, 1, 128, 128)
        assert set(sketch.unique().tolist()) <= {-1.0, 1.0}
        assert not is_blank_sketch(sketch)
        ink = (sketch < 0).float().mean()
        assert 0.01 < ink < 0.2  # line drawings, not filled shapes
    for i in range(3):
        for j in range(i + 1, 3):
            assert (examples[i] != examples[j]).float().mean() > 0.02
