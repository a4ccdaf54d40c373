"""How a stage scores the parameterization each step: evaluation strategies (the seam is
:mod:`paramart.evaluation.base`; the config's choice is :mod:`paramart.evaluation.choose`)."""
