"""kambin."""
