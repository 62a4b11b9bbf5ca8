# Two commands do all set-up on a fresh Debian machine: `make demo` and `make test`.
VENV := .venv
BIN := $(VENV)/bin
SOUNDFONT := /usr/share/sounds/sf2/TimGM6mb.sf2
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: setup system demo test lint bench

setup: system $(VENV)/.installed

# FluidSynth and a small General MIDI soundfont render audio; Chromium runs the studio's browser tests.
system:
	@if ! command -v fluidsynth >/dev/null || [ ! -f $(SOUNDFONT) ] || ! command -v chromium >/dev/null; then \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends \
	    fluidsynth timgm6mb-soundfont chromium; \
	fi

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

demo: setup
	$(BIN)/divertimento demo --out demo-out

test: setup
	$(BIN)/ruff check divertimento tests benchmarks
	$(BIN)/pytest -q -n 2 --dist loadfile  # two workers for the two cores; a file stays on one (its module fixtures once)

# the benchmarks read the default prepared dataset; made once if missing
bench: setup
	@[ -f data/default/manifest.json ] || $(BIN)/divertimento prepare --out data/default
	$(BIN)/python benchmarks/bench_prepare.py
	$(BIN)/python benchmarks/bench_train_generate.py
	$(BIN)/python benchmarks/bench_metrics.py data/default
	$(BIN)/python benchmarks/bench_server_load.py
