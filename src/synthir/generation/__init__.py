"""LLM generation for both tasks: one engine loop (requests -> cached calls -> parsed, filtered
records -> shards and costs), the LLM backends, model sources and what a strategy kind is."""
