"""One module per mutation, each with its input, payload and error codes (Saleor)."""
