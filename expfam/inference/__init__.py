"""Inference on a fit: results, tests, intervals, robust covariances, checks, summaries."""
