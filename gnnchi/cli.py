"""Command line: ``python -m gnnchi <verb> ...``.

Training verbs (``fit``, ``validate``, ``test``) go through LightningCLI (see
:mod:`gnnchi.training`); ``export``, ``predict``, ``screen``, ``evaluate`` and ``tune`` are gnnchi's own
(the first three do not import Lightning).
"""

from __future__ import annotations

import sys

from gnnchi.errors import GnnChiError

OWN_VERBS = ("export", "predict", "screen", "evaluate", "tune")


def main(args: list[str] | None = None):
    """Run the command line; tests call ``main([...])`` in-process."""
    argv = list(sys.argv[1:] if args is None else args)
    try:
        if argv and argv[0] in OWN_VERBS:
            from gnnchi.commands import run_command

            status = run_command(argv)
            if status:
                raise SystemExit(status)
            return None
        from gnnchi.training import run_lightning_cli

        return run_lightning_cli(args)
    except GnnChiError as err:  # the user's input is wrong: say what and how to fix it, no traceback
        print(f"gnnchi: error: {err}", file=sys.stderr)
        raise SystemExit(2) from None
