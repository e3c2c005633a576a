"""Neural network definitions (torch)."""
