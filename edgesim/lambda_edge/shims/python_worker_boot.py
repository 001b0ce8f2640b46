"""Start the Python worker (python_worker.py) from its cached bytecode.

Run as the script, python_worker.py would be compiled from source at every worker start: 3 ms of a
15 ms cold start on the machine of issue 6. Imported, its bytecode is kept in this folder's
__pycache__ (when the folder is writable). Only its own: -B holds again before the handler's
imports, which must not litter the handler's folder. Takes python_worker.py's arguments.
"""

import sys

sys.dont_write_bytecode = False
import python_worker  # type: ignore[import-not-found]  # noqa: E402 - after the flag it needs

sys.dont_write_bytecode = True
# Not left for a handler's `import python_worker` to find: its own module of that name, if any.
del sys.modules["python_worker"]
sys.exit(python_worker.main())
