"""Jobs that run several packages end to end (the demo), each one function the CLI calls."""
