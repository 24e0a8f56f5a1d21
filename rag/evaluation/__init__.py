"""Evaluation helpers: scoring metrics and benchmark loaders."""
