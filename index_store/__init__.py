"""The search index: a FAISS index plus a JSON docstore, versioned, checksummed, published atomically, never pickled."""
