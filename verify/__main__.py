import os
import sys

from verify.cli import EXIT_INTERRUPTED, main

status = main()
if status == EXIT_INTERRUPTED:
    # Under ``python -m``, CPython kills the process with SIGINT at exit (status -2, not 130) if the
    # interrupt, although handled, was raised inside ``exec`` of a string (dataclasses, namedtuple and
    # SciPy's distributions run such code at import). Leave at once with the status already decided.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)
raise SystemExit(status)
