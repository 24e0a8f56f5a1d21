"""The Gradio chat over the same ask path as the CLI."""
