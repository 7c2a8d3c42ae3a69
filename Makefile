# Nimbus — see README.md. Every target installs what it is missing first (scripts/ensure-deps.sh).
SHELL := /bin/bash
.DEFAULT_GOAL := help
B ?=

.PHONY: help deps build check typecheck lint format test test-fast test-unit test-store test-integration test-e2e bench start clean

help:
	@echo "make start      build and start nimbusd (state in ./var, UI on http://localhost:2633)"
	@echo "make test       install what is missing and run every test tier (what CI runs)"
	@echo "make test-fast  quick tiers: unit + store on SQLite"
	@echo "make check      type-check, lint, format check"
	@echo "make bench      all benchmarks (make bench B=template runs one)"
	@echo "make build      compile TypeScript to dist/"

deps:
	@scripts/ensure-deps.sh

build: deps
	npx tsc -p tsconfig.build.json

typecheck: deps
	npx tsc -p tsconfig.json --noEmit

lint: deps
	npx eslint .

format: deps
	npx prettier --write .

check: typecheck lint
	npx prettier --check .

test: check build
	scripts/test.sh all

test-fast: deps
	scripts/test.sh unit store-sqlite api

test-unit: deps
	scripts/test.sh unit

test-store: deps
	scripts/test.sh store-sqlite store-pg

test-integration: deps
	scripts/test.sh integration

test-e2e: deps
	scripts/test.sh e2e

bench: deps
	scripts/bench.sh $(B)

start: build
	node --max-semi-space-size=2 dist/nimbusd.js --home ./var

clean:
	rm -rf dist coverage
