"""``python -m connectivity PROBE --host HOST ...`` — see connectivity.cli."""

import sys

from connectivity.cli import main

sys.exit(main())
