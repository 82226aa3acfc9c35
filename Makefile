# `make run` installs and starts the app; `make test` installs and runs the tests. Both use .venv.
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check -q
HOST ?= 127.0.0.1
PORT ?= 7860

.PHONY: run test lint app-deps dev-deps system-deps system-deps-test bench

run: app-deps system-deps
	$(PY) app.py --host $(HOST) --port $(PORT)

test: dev-deps system-deps-test
	$(VENV)/bin/ruff check .
	# The floors of design.md: every import points down (contracts in pyproject.toml).
	$(VENV)/bin/lint-imports
	# pytest exits 5 when it collected no tests: that is a failure, not a pass.
	$(PY) -m pytest -q -ra; rc=$$?; if [ $$rc -eq 5 ]; then echo "pytest ran no tests"; exit 1; fi; exit $$rc

$(PY):
	python3 -m venv $(VENV)

app-deps: $(VENV)/.app-deps
$(VENV)/.app-deps: requirements.txt requirements-offline.txt | $(PY)
	$(PIP) install -r requirements.txt
	$(PIP) install --no-deps --require-hashes -r requirements-offline.txt
	touch $@

dev-deps: $(VENV)/.dev-deps
$(VENV)/.dev-deps: $(VENV)/.app-deps requirements-dev.txt requirements-testdata.txt
	$(PIP) install -r requirements-dev.txt
	$(PIP) install --no-deps --require-hashes -r requirements-testdata.txt
	touch $@

# Debian packages: ffmpeg decodes audio for Whisper; the tests also speak with espeak-ng, drive chromium and
# fine-tune on real pictures from dataset-fashion-mnist; fonts-wqy-microhei draws Chinese.
FASHION_MNIST := /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz
# Chinese characters in the browser tests' pages and in confusion-matrix pictures with Chinese labels.
CHINESE_FONT := /usr/share/fonts/truetype/wqy/wqy-microhei.ttc

system-deps:
	@command -v ffmpeg >/dev/null || $(MAKE) --no-print-directory apt PACKAGES="ffmpeg"

system-deps-test:
	@command -v ffmpeg >/dev/null && command -v espeak-ng >/dev/null && command -v chromium >/dev/null \
		&& test -f $(FASHION_MNIST) && test -f $(CHINESE_FONT) \
		|| $(MAKE) --no-print-directory apt \
			PACKAGES="ffmpeg espeak-ng chromium chromium-driver dataset-fashion-mnist fonts-wqy-microhei"

apt:
	@SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $(PACKAGES) >/dev/null

lint:
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports
