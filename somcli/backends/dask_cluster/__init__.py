"""`--engine dask`: the same commands on a Dask cluster (dask.distributed).

The per-block work is the local engine's own code (``partial_sums``, ``nearest``);
the cluster only adds up the blocks' results. Install with ``pip install
'somcli[dask]'``; the same somcli version must be installed on the scheduler's
workers, and the input files must be readable by the workers at the same path.
"""
