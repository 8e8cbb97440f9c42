"""Pre-activation bounds and the stable/unstable split of neurons (docs/formulation.md, section 2).

Three methods, each sound and each at least as tight as the one before:
  interval  interval arithmetic, rounded outwards;
  linear    a linear (CROWN / DeepPoly style) relaxation pulled back to the input box, cheap (also `lp`);
  obbt      each unstable neuron minimised and maximised over the LP relaxation of the layers before it (HiGHS),
            starting from the linear bounds: two LPs per unstable neuron.
"""

from .interval import LayerBounds, affine_interval, interval_bounds, interval_propagate
from .jacobian import EntryBounds, JacobianBounds, jacobian_bounds, jacobian_upper_bound
from .methods import BOUNDS_METHODS, bounds_method, compute_bounds, hidden_stability
from .naive import naive_upper_bound
from .scales import equilibrate, input_map, layer_scales
from .stability import ACTIVE, INACTIVE, UNSTABLE, Stability, classify, stabilities

__all__ = ["ACTIVE", "BOUNDS_METHODS", "INACTIVE", "UNSTABLE", "EntryBounds", "JacobianBounds", "LayerBounds",
           "Stability", "affine_interval", "bounds_method", "classify", "compute_bounds", "equilibrate", "hidden_stability",
           "input_map", "interval_bounds", "interval_propagate", "jacobian_bounds", "jacobian_upper_bound",
           "layer_scales", "naive_upper_bound", "stabilities"]
