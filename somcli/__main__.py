"""The console script's entry point (``somcli``, ``python -m somcli``): the picture helper
is started before anything else is imported when the command line asks for pictures
(:func:`somcli.report.helper_process.early`: 0.1 s earlier, the time the command line's
own imports take), the allocator's thresholds are fixed (:func:`somcli.runtime.memory.settle`),
then the command runs (:func:`somcli.cli.main`)."""

import sys


def main() -> None:
    from somcli.report import helper_process
    from somcli.runtime import memory

    helper_process.early(sys.argv[1:])
    memory.settle()  # the allocator's thresholds, before anything big is allocated
    from somcli.cli import main as run

    run()


if __name__ == "__main__":
    main()
