"""`python -m compiler ir ...`: the same CLI as the `jitgrad` command."""
import sys

from .cli import main

sys.exit(main())
