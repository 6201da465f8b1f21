import sys

from synthir.workflow.cli import main

sys.exit(main())
