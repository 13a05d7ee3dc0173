"""What a run needs from the machine it runs on: threads and BLAS limits (``parallel``),
the memory guard (``memory``) and Ctrl-C/SIGTERM handling (``interrupts``)."""
