"""``python -m dolma.cli``: the same as the ``dolma`` command."""

import sys

from dolma.cli import main

sys.exit(main())
