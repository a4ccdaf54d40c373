"""How the command line ends on bad input: one line on stderr, exit code 2.

Exit codes of every paramart command: 0 done; 2 bad input or environment (one line on
stderr); 130/143 stopped by SIGINT/SIGTERM after saving; 1 a bug (Hydra prints the traceback).
"""

from __future__ import annotations

import os
import sys
import traceback
from typing import NoReturn


def fail(message: str, prog: str = "paramart") -> NoReturn:
    """Print ``PROG: error: MESSAGE`` on stderr and exit with code 2: bad input, not a bug.

    With ``HYDRA_FULL_ERROR=1`` the traceback comes first, for bug reports."""
    if os.environ.get("HYDRA_FULL_ERROR") == "1" and sys.exc_info()[0] is not None:
        traceback.print_exc()
    print(f"{prog}: error: {message}", file=sys.stderr)
    sys.exit(2)
