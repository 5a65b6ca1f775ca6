# sobelcli: every target installs what it needs first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip --disable-pip-version-check -q
export PIP_NO_INPUT := 1

.PHONY: install demo test lint format bench bench-quick clean

install: $(VENV)/.installed

# What the demo needs: sobelcli and its runtime dependencies, nothing else.
$(VENV)/.runtime: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip
	$(PIP) install .
	touch $@

# Everything: the Dask extra, the test and the lint tools. The "compat" editable install puts
# the work tree on sys.path with a .pth line, where the default one imports a finder that adds
# 15-20 ms to every start (bench: whole runs, --help); plain -e where setuptools lacks it.
$(VENV)/.installed: $(VENV)/.runtime
	$(PIP) install -e '.[dask,test,lint]' --config-settings editable_mode=compat \
		|| $(PIP) install -e '.[dask,test,lint]'
	touch $@

$(VENV)/.bench-installed: $(VENV)/.installed
	$(PIP) install -e '.[bench]' --config-settings editable_mode=compat \
		|| $(PIP) install -e '.[bench]'
	touch $@

demo: $(VENV)/.runtime
	@mkdir -p out
	$(BIN)/sobelcli edges sample_images/astronaut.png -o out/astronaut_edges.png
	$(BIN)/sobelcli gradcheck sample_images/camera.png --all --quiet
	$(BIN)/sobelcli maximize -o out/maximize.png --seed 0 --plot out/maximize_loss.png --quiet
	@echo "demo: open out/astronaut_edges.png (edges), out/maximize.png and out/maximize_loss.png"

test: install
	$(BIN)/python -m pytest -n 2 -q

lint: install
	$(BIN)/ruff check sobelcli tests bench
	$(BIN)/ruff format --check sobelcli tests bench
	$(BIN)/mypy sobelcli

format: install
	$(BIN)/ruff format sobelcli tests bench
	$(BIN)/ruff check --fix sobelcli tests bench

bench: $(VENV)/.bench-installed
	$(BIN)/python bench/run.py

bench-quick: $(VENV)/.bench-installed
	$(BIN)/python bench/run.py --quick

clean:
	rm -rf $(VENV) out build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache .hypothesis
