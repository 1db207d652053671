"""Read path of the RAG service, plus the pieces both sides share (settings, embeddings, store)."""
