"""The agentic-code Mooncake generator: config model, samplers, session engine, hash ids, quality."""
