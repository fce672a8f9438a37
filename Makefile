# The README's commands. Everything runs in a project-local virtualenv (.venv)
# that these targets create, so a fresh machine needs only Rust and Python 3.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-rust test-python lint build bench fuzz clean conformance

test: test-rust lint test-python

# An echo server and a client exchanging messages of several sizes.
demo: build
	$(BIN)/python examples/asyncio/demo.py

$(STAMP):
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip "maturin>=1.5,<2"
	touch $(STAMP)

# Builds the extension into python/ferrobahn/ and installs the package
# (editable) with its test extras; quick when nothing changed.
build: $(STAMP)
	VIRTUAL_ENV=$(abspath $(VENV)) $(BIN)/maturin develop --quiet --release --extras test

test-rust:
	cargo test --quiet
	cargo clippy --all-targets --quiet -- -D warnings
	cargo fmt --check

lint: build
	$(BIN)/ruff check python tests examples benchmarks
	$(BIN)/ruff format --check python tests examples benchmarks
	$(BIN)/mypy

test-python: build
	$(BIN)/pytest

# The conformance tester's full mode (Autobahn|Testsuite groups 1-7, 9 up to 16 MiB,
# 10) against ferrobahn's asyncio testee server; reports in reports/servers/
# (index.html, index.json). `make test` runs the quick mode (tests/test_conformance.py).
conformance: build
	@mkdir -p reports/servers; rm -f reports/servers/testee.url
	@$(BIN)/python examples/testee/asyncio_echo_server.py 0 > reports/servers/testee.url & pid=$$!; \
	for i in $$(seq 100); do [ -s reports/servers/testee.url ] && break; sleep 0.1; done; \
	$(BIN)/python -m ferrobahn.testsuite fuzzingclient "$$(head -n1 reports/servers/testee.url)" \
	  --mode full --outdir reports/servers --agent ferrobahn-asyncio --strict --quiet; \
	rc=$$?; kill $$pid; rm -f reports/servers/testee.url; exit $$rc

# Benchmarks, not part of `make test`: the core's hot loops from Python
# (pytest-benchmark) and from Rust alone, then echo round trips against websockets.
bench: build
	$(BIN)/pytest benchmarks/ --benchmark-only
	cargo run --release --quiet --example core_throughput
	$(BIN)/python benchmarks/echo.py

# Each fuzz target for FUZZ_SECONDS (default 300) with cargo-fuzz.
FUZZ_SECONDS ?= 300
# cargo-fuzz needs nightly-only flags; RUSTC_BOOTSTRAP lets the stable toolchain accept them.
fuzz:
	cd fuzz && export RUSTC_BOOTSTRAP=1 && for t in $$(cargo fuzz list); do \
	  cargo fuzz run $$t -- -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=512 || exit 1; done

clean:
	rm -rf $(VENV) target
