"""Reads of the risk app. See each module's docstring."""
