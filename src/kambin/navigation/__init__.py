"""Navigation: the real-time pipeline, guidance, alarms, overlay, and session recording/replay."""
