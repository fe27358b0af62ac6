"""The retriever: hybrid search over the knowledge base, answered over the broker."""
