"""Entry point for ``python -m cvdata``."""
import sys

from .cli import main

sys.exit(main())
