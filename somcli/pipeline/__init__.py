"""read -> clean -> fit -> evaluate -> write, one module per command; no Click, no rich."""
