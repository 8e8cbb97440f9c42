"""Lower bounds of L: sampling, the region walk, the rigorous certificate of a point."""
