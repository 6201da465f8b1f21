import sys

from synthir.cli import main

sys.exit(main())
