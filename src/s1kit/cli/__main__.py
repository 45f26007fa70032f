import sys

from s1kit.cli import main

sys.exit(main())
