"""Running solvers over instances: batches, reuse, locks, interrupts, warm starts."""
