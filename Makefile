# Two entry points: `make demo` and `make test`. Both create .venv when it is missing.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# The CPU build of PyTorch for this kind of machine; pyproject.toml itself only asks for torch>=2.2.
TORCH_SPEC ?= torch==2.13.0
MUSICNN_SPEC ?= musicnn==0.1.0

.PHONY: demo test install install-dev default-model tagger-graph screenshot clean

# install: what the quick start needs (predict, tag, classify, ingest, serve): the core and the [library] extra;
# no PyTorch. install-dev: everything (training, the tests), with the CPU build of PyTorch.
$(VENV)/.installed: pyproject.toml Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[library]"
	touch $@
	@echo "genrefuse is installed in $(VENV); put it on your PATH with: source $(VENV)/bin/activate"

$(VENV)/.installed-dev: $(VENV)/.installed
	$(PY) -m pip install -q "$(TORCH_SPEC)"
	$(PY) -m pip install -q -e ".[dev]"
	# the musicnn wheel's TensorFlow checkpoint, for the PyTorch port and `make tagger-graph` (read without
	# TensorFlow; its declared dependencies pin old numpy and TensorFlow, hence --no-deps)
	$(PY) -m pip install -q --no-deps "$(MUSICNN_SPEC)"
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

demo: $(VENV)/.installed-dev
	$(VENV)/bin/genrefuse demo $(ARGS)

# Rebuild the packaged default model (src/genrefuse/default_model) from ../shared/data: GTZAN's 443
# fault-filtered training tracks (their table rows and published musicnn taggrams) and the real recordings of
# real-train and real-dev (analysed once, cached in ~/.cache/genrefuse/real-rows), judged by cross-validation
# grouped by artist. Seeded; the time and peak memory it took are in docs/model.md.
SHARED ?= ../shared/data
default-model: $(VENV)/.installed-dev
	$(PY) -m genrefuse.training.default_model --shared $(SHARED) --out src/genrefuse/default_model

# Rebuild the musicnn tagger's ONNX graph that ships in the package (src/genrefuse/pretrained/tagger_graph)
# from the musicnn wheel's weights through the PyTorch port (about 5 s).
tagger-graph: $(VENV)/.installed-dev
	$(PY) -m genrefuse.pretrained.graph --calibration $(SHARED)/real-train

screenshot: $(VENV)/.installed-dev      # docs/page.png: the packaged model on the shared GTZAN clips, in Chromium
	$(PY) docs/screenshot.py --clips $(SHARED)/gtzan-clips --out docs/page.png

test: $(VENV)/.installed-dev
	$(PY) -m pytest -n 2 --dist loadgroup $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info .pytest_cache
