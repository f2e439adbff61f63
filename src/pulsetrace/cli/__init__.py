"""The ``pulsetrace`` command: one small module per subcommand, listed in ``main.COMMANDS``."""

from .base import CLIError, Command
from .main import main

__all__ = ["CLIError", "Command", "main"]
