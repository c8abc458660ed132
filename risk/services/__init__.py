"""Every write of the risk app. See each module's docstring for its guarantees."""
