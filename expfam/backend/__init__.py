"""Sums over row blocks: the backend every solver step runs through (threads today)."""
