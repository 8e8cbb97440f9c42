"""lipgen: Lipschitz constants of ReLU networks as standardized MIQCQP instances."""

__version__ = "0.1.0"
