# The README's commands. Everything runs in a project-local virtualenv (.venv)
# that these targets create, so a fresh machine needs only Rust and Python 3.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-rust test-python lint build bench fuzz clean conformance \
	conformance-servers conformance-clients

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
# 10, and 12/13 with permessage-deflate: 517 cases, about 8 minutes per testee)
# against ferrobahn's asyncio testee server (reports in reports/servers/) and its
# asyncio and Twisted testee clients (reports in reports/clients/): index.html,
# index.json. `make test` runs the quick mode (tests/test_conformance*.py).
conformance: conformance-servers conformance-clients

conformance-servers: build
	@mkdir -p reports/servers; rm -f reports/servers/testee.url
	@$(BIN)/python examples/testee/asyncio_echo_server.py 0 > reports/servers/testee.url & pid=$$!; \
	for i in $$(seq 100); do [ -s reports/servers/testee.url ] && break; sleep 0.1; done; \
	$(BIN)/python -m ferrobahn.testsuite fuzzingclient "$$(head -n1 reports/servers/testee.url)" \
	  --mode full --outdir reports/servers --agent ferrobahn-asyncio --strict --quiet; \
	rc=$$?; kill $$pid; rm -f reports/servers/testee.url; exit $$rc

# The tester as a server (fuzzingserver): each testee client asks for the case count,
# runs every case and asks for the reports; the server then exits with the verdict.
CONFORMANCE_CLIENTS := examples/testee/asyncio_client.py examples/testee/twisted_client.py
conformance-clients: build
	@mkdir -p reports/clients; rm -f reports/clients/server.out
	@$(BIN)/python -m ferrobahn.testsuite fuzzingserver --port 0 --mode full --strict --quiet \
	  --exit-after $(words $(CONFORMANCE_CLIENTS)) --outdir reports/clients \
	  > reports/clients/server.out & pid=$$!; \
	for i in $$(seq 100); do [ -s reports/clients/server.out ] && break; sleep 0.1; done; \
	for client in $(CONFORMANCE_CLIENTS); do \
	  $(BIN)/python $$client "$$(head -n1 reports/clients/server.out)" > /dev/null \
	    || { kill $$pid; exit 1; }; done; \
	wait $$pid; rc=$$?; tail -n +2 reports/clients/server.out; rm reports/clients/server.out; \
	exit $$rc

# Benchmarks, not part of `make test`: ferrobahn (on asyncio and on Twisted) next to
# picows, aiohttp, websockets, AutobahnPython and wsproto (the `bench` extra) and the
# plain-TCP floor: echo CPU per round trip (each library's own pairs, then one reference
# client and one reference server; uvloop and asyncio), 1,000 idle connections and
# handshakes per second, streaming, compressed echo, micro-benchmarks, the core from
# Rust alone. benchmarks/report.py runs them, prints every table as it goes and writes
# docs/benchmarks.md and docs/echo-ratio-to-picows.png. Quick (about 6 minutes);
# BENCH_FULL=1 runs longer.
bench: $(STAMP)
	VIRTUAL_ENV=$(abspath $(VENV)) $(BIN)/maturin develop --quiet --release --extras test,bench
	$(BIN)/python benchmarks/report.py $(if $(filter 1,$(BENCH_FULL)),--full)

# Each fuzz target for FUZZ_SECONDS (default 300) with cargo-fuzz.
FUZZ_SECONDS ?= 300
# cargo-fuzz needs nightly-only flags; RUSTC_BOOTSTRAP lets the stable toolchain accept them.
fuzz:
	cd fuzz && export RUSTC_BOOTSTRAP=1 && for t in $$(cargo fuzz list); do \
	  cargo fuzz run $$t -- -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=512 || exit 1; done

clean:
	rm -rf $(VENV) target
