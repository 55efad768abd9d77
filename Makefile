# synack: the two quick-start commands are `make demo` and `make test`.
PY      ?= python3
VENV    ?= .venv
BIN     := $(VENV)/bin
SAMPLE  ?= sample_pcaps/01_clean_close.pcap
APT_PKGS := tshark tcpdump chromium chromium-driver fonts-wqy-zenhei

.PHONY: setup demo test system-deps lint docs bench clean

$(BIN)/.installed: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

setup: $(BIN)/.installed

demo: setup
	$(BIN)/synack analyze $(SAMPLE)
	$(BIN)/synack states $(SAMPLE) --conn 0

# Debian packages the tests need (tshark is the reference the tests compare against).
system-deps:
	@missing=""; for p in $(APT_PKGS); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get update -qq && apt-get install -y -qq $$missing >/dev/null; \
	fi

test: setup system-deps
	$(BIN)/python -m pytest -q -n 2 -p no:cacheprovider

lint: setup
	$(BIN)/ruff check analyzer tests benchmarks sample_pcaps
	$(BIN)/mypy

bench: setup
	$(BIN)/python benchmarks/run_bench.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache

# docs/checks.md is generated from the check registry (tests/test_checks_catalogue.py
# fails when it is stale).
docs:
	$(PY) -m analyzer.checks.catalogue > docs/checks.md
