"""`rag serve`: an OpenAI-compatible HTTP API over the answer pipeline, and the client `rag ask` uses to reach it."""
