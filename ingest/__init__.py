"""Write path: load, chunk, embed and store documents."""
