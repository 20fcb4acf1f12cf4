# tradewatch: `make run` for the live demo, `make test` for the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint install broker-start broker-stop schemas clean

$(STAMP): pyproject.toml
	@scripts/check-prereqs $(PYTHON) $(VENV)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# setuptools warns at every editable install that a folder named like a package may shadow it:
	# that folder is the package itself here.
	PYTHONWARNINGS="ignore:Editable installation" $(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## run: local Kafka broker + worker + live demo feed, alerts on screen; Ctrl-C stops it all
run: $(STAMP)
	scripts/run-demo

## test: lint, types and the whole suite against a real local broker (what .ci/run calls)
test: $(STAMP)
	scripts/run-tests

lint: $(STAMP)
	$(BIN)/ruff check streams schemas alerts tools tests benchmarks ops
	$(BIN)/mypy

schemas: $(STAMP)
	$(BIN)/python -m schemas.export

broker-start:
	scripts/kafka-local start

broker-stop:
	scripts/kafka-local stop

clean:
	rm -rf .local .tradewatch .pytest_cache .mypy_cache .ruff_cache
