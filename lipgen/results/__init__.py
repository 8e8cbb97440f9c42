"""Results: solver answers turned into bounds of L, and the solution checker."""
