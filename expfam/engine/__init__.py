"""The fitting engine: the frozen solver input, per-block kernels, linear algebra, solvers."""
