"""Temporary: the old names, while a run started before the split finishes."""
from rag.evaluation.runner import summary_line  # noqa: F401
from rag.evaluation.runs import load_results, make_meta, write_results  # noqa: F401
