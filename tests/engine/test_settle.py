"""settle_config: the config a run trains with, settled once before anything is built."""

from __future__ import annotations

import pytest

from conftest import tiny_config
from img2img.engine.settle import settle_config
from img2img.errors import ConfigError


def test_settling_leaves_the_request_alone_and_settles_once(monkeypatch):
    from img2img import features

    monkeypatch.setattr(features, "perceptual_available", lambda: False)
    requested = tiny_config(loss__perceptual_weight=None, discriminator__kind="auto")
    with pytest.warns(UserWarning, match="pix2pix recipe"):
        settled = settle_config(requested)
    assert (settled.loss.perceptual_weight, settled.discriminator.kind) == (0.0, "patch")
    assert (requested.loss.perceptual_weight, requested.discriminator.kind) == (None, "auto")
    assert settle_config(settled).to_dict() == settled.to_dict()  # settling a settled config changes nothing


def test_config_errors_come_before_anything_is_built():
    with pytest.raises(ConfigError, match="too small"):
        settle_config(tiny_config(size=16, discriminator__n_layers=3))
    settle_config(tiny_config(model="regression", size=16, discriminator__n_layers=3))  # no discriminator to fit
