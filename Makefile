# Two entry points, both self-contained on a fresh clone:
#   make demo   installs everything into .venv and runs the main job
#   make test   installs everything into .venv and runs the test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export NO_ALBUMENTATIONS_UPDATE := 1

.PHONY: install demo test test-fast clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# constraints.txt pins the CPU build of torch, so pip never pulls CUDA wheels here.
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(BIN)/img2img train --task uncrop --size 64 --steps 200 --out runs/demo-uncrop-$$(date +%Y%m%d-%H%M%S)
	@echo "sample grids: runs/demo-uncrop-*/samples/ (condition | cGAN samples | target)"

test: install
	$(BIN)/python -m pytest -q

clean:
	rm -rf $(VENV) runs build *.egg-info
