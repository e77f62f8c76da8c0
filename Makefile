# Developer entry points. The logic lives in scripts/; see README.md.
.DEFAULT_GOAL := help
.PHONY: help demo test venv build install sanity lint docs docs-site ee changelog unit integration cluster-test compat molecule clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-13s %s\n", $$1, $$2}'

demo: ## run playbooks/demo.yml against a local test cluster
	scripts/demo.sh

test: ## every gate: unit, cluster, integration, sanity, lint, docs, changelog, molecule
	scripts/test.sh

venv: ## create or update .venv from test-requirements.txt
	scripts/venv.sh

build: venv ## build the tarball and install it into .cache/collections
	scripts/build.sh

install: build ## alias of build

unit: build ## pytest tests/unit against the built collection
	scripts/pytest-stage.sh unit tests/unit

cluster-test: venv ## pytest the local test cluster (tests/cluster/tests)
	scripts/pytest-stage.sh cluster tests/cluster/tests

integration: build ## pytest tests/integration on the local test cluster
	scripts/pytest-stage.sh integration tests/integration

sanity: venv ## ansible-test sanity, zero ignores
	scripts/sanity.sh

lint: venv ## ansible-lint, profile production
	scripts/lint.sh

docs: venv ## antsibull-docs lint-collection-docs --plugin-docs
	scripts/docs-lint.sh

docs-site: build ## HTML docsite (antsibull-docs + Sphinx) in .cache/docs-site/build/html
	scripts/docs-site.sh

ee: build ## ansible-builder create/introspect accept meta/execution-environment.yml
	scripts/ee-check.sh

compat: ## unit + integration tests on every other supported ansible-core
	scripts/test.sh $(shell bash -c 'source scripts/versions.sh; printf "compat-%s " "$${COMPAT_CORES[@]}"')

changelog: venv ## antsibull-changelog lint
	scripts/changelog.sh

molecule: build ## molecule test for every role with scenarios
	scripts/molecule.sh

clean: ## remove build, test and demo output (keeps .venv)
	rm -rf .cache tests/output collections
