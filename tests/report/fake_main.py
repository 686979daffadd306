"""``python -m fake_main MODE verify-args…`` (run from tests/report): ``python -m verify`` itself, over
the set-up of ``fake_cli.py`` MODE; ``python -m fake_main --plain MODE …`` ends the way a plain
``raise SystemExit(main())`` would, to show what verify/__main__.py guards against."""

import runpy
import sys

import fake_cli

from verify import cli

if sys.argv[1] == "--plain":
    fake_cli.setup(sys.argv[2])
    raise SystemExit(cli.main(sys.argv[3:]))
fake_cli.setup(sys.argv[1])
sys.argv = ["verify", *sys.argv[2:]]
runpy.run_module("verify", run_name="__main__", alter_sys=True)
