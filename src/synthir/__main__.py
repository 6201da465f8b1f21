import sys

from synthir.workflow.cli import main

# guarded: a backend that starts worker processes by spawning (vLLM, multiprocessing) imports
# this module again in each worker, where it must not run the command a second time
if __name__ == "__main__":
    sys.exit(main())
