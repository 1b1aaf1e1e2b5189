"""`python -m site_builder` is the `site-builder` command."""

import sys

from .cli import main

sys.exit(main())
