"""`rag eval`: retrieval and answer quality on labeled data, and latency."""
