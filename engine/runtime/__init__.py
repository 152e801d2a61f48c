"""Runtime: running cases with SpiffWorkflow behind one adapter."""
