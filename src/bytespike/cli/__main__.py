"""``python -m bytespike.cli`` = the ``bytespike`` command."""

import sys

from bytespike.cli.main import main

sys.exit(main())
