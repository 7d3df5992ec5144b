"""Cross-checks of expfam against statsmodels and R, and the benchmark against peers."""
