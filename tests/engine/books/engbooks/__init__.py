"""Small runbooks the engine tests run through the real CLI (copied into a temp project)."""
