# faasplane: the user-facing commands. `make up` and `make test` are the two the README leads with.
SHELL := /bin/bash
.DEFAULT_GOAL := help
STACK ?= dev
OUT ?= build/render/$(STACK)
UV ?= uv
PY := $(UV) run --frozen python

.PHONY: help up down test test-fast lint render review function bench sync

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

sync: ## create .venv from the lock file
	$(UV) sync --frozen

up: ## the dev stack on a local kind cluster (docker, kind, pulumi needed)
	scripts/up.sh

down: ## destroy the dev stack, delete the kind cluster and its registry
	scripts/down.sh

test: sync ## the whole test suite (the command CI runs)
	$(UV) run --frozen pytest

test-fast: sync ## the suite without the tests that start Prometheus, Alertmanager or NATS
	$(UV) run --frozen pytest -m "not live"

lint: sync ## ruff over the project
	$(UV) run --frozen ruff check .

render: sync ## offline render of STACK into OUT (no cluster, no Pulumi CLI)
	$(PY) -m components.render --stack $(STACK) --out $(OUT)

review: render ## render STACK, then run the policy pack over it
	$(PY) -m policies.check $(OUT) --config policies/config/$(STACK).json

function: sync ## scaffold functions/NAME from template LANG
	@test -n "$(NAME)" -a -n "$(LANG)" || { echo "usage: make function NAME=<name> LANG=<template>" >&2; exit 2; }
	$(PY) -m components.new $(NAME) --lang $(LANG)

bench: sync ## run the benchmarks (tables on stdout, JSON in benchmarks/results/)
	$(PY) -m benchmarks.render
	$(PY) -m benchmarks.scaler
	$(PY) -m benchmarks.reaction --json benchmarks/results/reaction.json
