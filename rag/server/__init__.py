"""`rag serve`: an OpenAI-compatible HTTP API over the answer pipeline, and the client `rag ask` uses to reach it."""

MODEL_ID = "rag-news"  # the one model name the API lists and accepts (kept here: the client needs no FastAPI)
