"""paramart: neural style transfer through differentiable image parameterizations.

The image comes from a pluggable parameterization (``paramart.params``), is scored by
VGG-19 content and Gram-matrix style losses, and gradients flow back into the parameters.
"""

from paramart.api import Result, compose, run, stylize
from paramart.checkpoint import load_checkpoint, param_from_checkpoint
from paramart.errors import ParamartError
from paramart.images import load_image, save_image, to_pil, to_tensor
from paramart.objective import Objective, style_transfer
from paramart.optimize import optimize
from paramart.params import Parameterization
from paramart.vgg import LAYER_NAMES, VGG19

__version__ = "0.1.0"

__all__ = [
    "LAYER_NAMES", "VGG19", "Objective", "Parameterization", "ParamartError", "Result",
    "compose", "load_checkpoint", "load_image", "optimize", "param_from_checkpoint", "run",
    "save_image", "style_transfer", "stylize", "to_pil", "to_tensor",
]
