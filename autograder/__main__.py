"""``python -m autograder``: the course's command line (see ``autograder.cli``)."""
from autograder.cli import main

raise SystemExit(main())
