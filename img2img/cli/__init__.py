"""Command line: ``img2img train | predict | eval | export | tasks | new-task | app``.

``parser.py`` declares the options (grouped; docs/cli.md lists them, tests keep the two in step), ``commands.py``
runs them; here ``main`` turns every user error into one line on stderr and a non-zero exit code."""

from __future__ import annotations

import sys
import traceback
from typing import Sequence

from ..errors import Img2ImgError
from .commands import EXIT_USER_ERROR
from .parser import DESCRIPTION, build_parser



def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return EXIT_USER_ERROR
    try:
        return int(args.func(args) or 0)
    except Img2ImgError as exc:
        _fail(str(exc), args.debug)
    except KeyboardInterrupt:
        print("img2img: interrupted", file=sys.stderr)
        return 130
    except OSError as exc:  # the machine's doing (disk full, not a folder, permissions): one line, not a bug
        where = f": {exc.filename}" if exc.filename else ""
        _fail(f"{exc.strerror or exc}{where}", args.debug)
    except Exception as exc:  # a bug of ours: still one line, with the way to the traceback
        _fail(f"internal error: {type(exc).__name__}: {exc} (run with --debug for the traceback)", args.debug)
    return EXIT_USER_ERROR


def _fail(message: str, debug: bool) -> None:
    if debug:
        traceback.print_exc()
    print(f"img2img: error: {message}", file=sys.stderr)


__all__ = ["DESCRIPTION", "EXIT_USER_ERROR", "build_parser", "main"]
