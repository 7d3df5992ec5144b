"""Comparing generative and discriminative fits: cross-validation, learning curves, efficiency."""
