"""Models: takes a model name or path, gives a loaded Embedder or Generator that runs on this machine.

registry (bundled models, assembled from their packages and verified) -> factories (one per backend; fakes
register there) -> embedder (sentence-transformers; bert_numpy for questions without torch) and generator
(llama.cpp, its prompt-prefix state in llama_state; shared: one model for many callers). llama_build compiles
llama.cpp for this CPU, llama_probe checks once that it runs here, doctor reports both. Imports nothing heavy:
`python -m rag.models.llama_build` runs before the package's dependencies are installed.
"""
