# faasplane: the user-facing commands. `make up` and `make test` are the two the README leads with.
SHELL := /bin/bash
.DEFAULT_GOAL := help
STACK ?= dev
OUT ?= build/render/$(STACK)
UV ?= uv
PY := $(UV) run --frozen python

TIERS ?=

.PHONY: help up down test test-fast e2e loop lint render review function bench sync tools engine engine-down \
	cluster-up cluster-down

help: ## list the targets
	@# The name column as wide as the longest target name, so every description starts in one column.
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' \
		'{ name[NR] = $$1; text[NR] = $$2; if (length($$1) > width) width = length($$1) } \
		END { format = "  make %-" width "s  %s\n"; for (i = 1; i <= NR; i++) printf format, name[i], text[i] }'

sync: ## create .venv from the lock file
	$(UV) sync --frozen

up: ## the dev stack on a local kind cluster (docker, kind, pulumi needed)
	STACK=$(STACK) scripts/up.sh

down: ## destroy the dev stack, delete the kind cluster and its registry
	STACK=$(STACK) scripts/down.sh

test: sync ## the whole test suite (the command CI runs)
	$(UV) run --frozen pytest

test-fast: sync ## the unit tier: the suite without the tiers that run real tools (Pulumi, Prometheus, NATS, Kubernetes, kind...)
	$(UV) run --frozen pytest -m "not (engine or monitoring or functions or queue or cluster or e2e_kind)"

e2e: sync ## the whole make up -> load -> scale -> make down cycle on kind (docker, kind, pulumi needed)
	FAASPLANE_E2E_KIND=1 $(UV) run --frozen pytest -m e2e_kind tests/e2e_kind -s

loop: sync ## the full alert-to-scale loop on loopback, by hand (real Prometheus and Alertmanager)
	$(PY) -m tests.loop.harness

tools: ## build the pinned real tools from Go modules into the tools cache (TIERS="engine monitoring queue cluster")
	python3 -m scripts.tools $(TIERS)

engine: sync ## the real Pulumi engine on STACK, offline (CLUSTER=1: on make cluster-up): preview, up, preview --expect-no-changes
	$(PY) -m scripts.engine up --stack $(STACK) $(if $(filter 1 yes true,$(CLUSTER)),--cluster)

engine-down: sync ## pulumi destroy of the engine stack STACK (CLUSTER=1: the one deployed to make cluster-up)
	$(PY) -m scripts.engine down --stack $(STACK) $(if $(filter 1 yes true,$(CLUSTER)),--cluster)

cluster-up: sync ## a Kubernetes control plane on loopback (etcd, API server, controllers, kwok) in build/cluster
	$(PY) -m scripts.cluster up

cluster-down: sync ## stop the loopback control plane and remove what cluster-up wrote to build/cluster
	$(PY) -m scripts.cluster down

lint: sync ## ruff over the project
	$(UV) run --frozen ruff check .

render: sync ## offline render of STACK into OUT (no cluster, no Pulumi CLI)
	$(PY) -m faasplane.components.render --stack $(STACK) --out $(OUT)

review: render ## render STACK, then run the policy pack over it
	$(PY) -m faasplane.policies.check $(OUT) --config policies/config/$(STACK).json

function: sync ## scaffold functions/NAME from template LANG
	@# LANG is also the locale variable: only a LANG given on the command line names a template.
	@test -n "$(NAME)" -a "$(origin LANG)" = "command line" || \
		{ echo "usage: make function NAME=<name> LANG=<template>" >&2; exit 2; }
	env LANG=C.UTF-8 $(PY) -m faasplane.components.function.scaffold "$(NAME)" --lang "$(LANG)"

bench: sync ## run the benchmarks (tables on stdout, JSON in benchmarks/results/)
	$(PY) -m benchmarks.render
	$(PY) -m benchmarks.scaler
	$(PY) -m benchmarks.reaction --json benchmarks/results/reaction.json
	$(PY) -m benchmarks.engine
	$(PY) -m benchmarks.functions
