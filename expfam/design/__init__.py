"""Data to designs: checked arrays, formulas on DataFrames, responses, coefficient layouts."""
