"""`rag mcp`: the news index for AI agents over the Model Context Protocol (tools, and articles as resources)."""
