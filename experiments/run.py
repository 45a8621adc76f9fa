#!/usr/bin/env python
"""graphrec's runner: ``python experiments/run.py --task TASK [options]``.

A thin wrapper of the ``graphrec`` console script (:mod:`graphrec.cli.main`); it needs graphrec
installed (``pip install -e .``). ``--help`` lists the tasks; ``--task TASK --help`` a task's
options.
"""

import sys

from graphrec.cli.main import main

if __name__ == "__main__":
    sys.exit(main(prog="experiments/run.py"))
