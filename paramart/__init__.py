"""paramart: neural style transfer through differentiable image parameterizations.

The image comes from a pluggable parameterization (``paramart.params``), is scored by
VGG-19 content and Gram-matrix style losses, and gradients flow back into the parameters.
"""

from paramart.api import Result, compose, run, stylize
from paramart.errors import ParamartError
from paramart.io.images import load_image, save_image, to_pil, to_tensor
from paramart.model.layers import LAYER_NAMES
from paramart.model.vgg import VGG19
from paramart.objectives.objective import Objective, style_transfer
from paramart.params import Parameterization
from paramart.runner.checkpoint import load_checkpoint, param_from_checkpoint
from paramart.runner.loop import optimize

__version__ = "0.1.0"

__all__ = [
    "LAYER_NAMES", "VGG19", "Objective", "Parameterization", "ParamartError", "Result",
    "compose", "load_checkpoint", "load_image", "optimize", "param_from_checkpoint", "run",
    "save_image", "style_transfer", "stylize", "to_pil", "to_tensor",
]
