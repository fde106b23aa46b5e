"""A local Bitrix24 portal for tests, the demo and benchmarks.

Start one in-process with ``serve_in_thread(Portal())`` (see ``emulator.server``) or
from the command line through ``emulator.runner.serve``. Nothing here runs at import.
"""

from emulator.portal import Portal

__all__ = ["Portal"]
