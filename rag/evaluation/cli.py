"""The `rag eval` commands (placeholder until the harness lands)."""

import click


@click.group("eval", invoke_without_command=False)
def eval_group() -> None:
    """Measure answer accuracy against gold Q&A and the RealTimeQA benchmark."""
