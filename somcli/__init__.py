"""somcli: cluster tabular data from the command line (k-means and self-organizing maps).

The CLI (:mod:`somcli.cli`) is a thin shell over this library; :mod:`somcli.pipeline`
wires read -> clean -> fit -> evaluate -> write and can be used on its own.
"""

__version__ = "0.1.0"
