"""Running an optimisation: the plan, the multi-scale stages, the loop, checkpoints,
resume, signals and the run's saved state."""
