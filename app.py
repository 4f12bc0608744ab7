"""Run the img2img demo: ``python app.py [--host 127.0.0.1] [--port 7860] [--share] [--weights-dir DIR]``.

Thin on purpose: the UI lives in img2img/app/ and the options in ``img2img app`` (img2img/cli/)."""

import sys

from img2img.cli import main

if __name__ == "__main__":
    sys.exit(main(["app", *sys.argv[1:]]))
