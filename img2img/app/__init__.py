"""The Gradio demo app. Nothing in the core imports this package; gradio is only needed for :mod:`.ui`
(``pip install 'img2img[app]'``). :mod:`.service` is gradio-free and holds the logic."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .service import AppService, GenerateResult, InputError, MissingWeightsError, read_image

if TYPE_CHECKING:
    import gradio


def gradio_missing() -> str | None:
    """Why the app cannot run here (gradio not importable), or None. Asked before :mod:`.ui` is used: a ui module
    imported earlier in the process would otherwise hide a gradio that is gone."""
    try:
        import gradio  # noqa: F401
    except ImportError:
        return "the app needs gradio: pip install 'img2img[app]'"
    return None


def build_app(*args: Any, **kwargs: Any) -> "gradio.Blocks":
    """See :func:`img2img.app.ui.build_app`; imported on call so that the service works without gradio."""
    from .ui import build_app as _build

    return _build(*args, **kwargs)


__all__ = ["AppService", "GenerateResult", "InputError", "MissingWeightsError", "build_app", "gradio_missing",
           "read_image"]
