"""`python -m sleapish.nn.inference ...` is `sleapish-track ...`."""

import sys

from sleapish.nn.inference.cli import main

sys.exit(main())
