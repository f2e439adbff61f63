"""What every subcommand is, and the error that ends the command line with an exit status."""

from __future__ import annotations

import argparse
import inspect
from typing import ClassVar, List


class CLIError(Exception):
    """Ends the command: printed as ``pulsetrace: error: <message>`` (no traceback), exits with ``code``."""

    def __init__(self, message: str, code: int = 2) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


class Command:
    """One subcommand: its name, its options (``prepare_parser``) and what it does (``run``).

    The help text is the docstring of the subclass: its first line in ``pulsetrace -h``, all of it
    in ``pulsetrace NAME -h``.
    """

    name: ClassVar[str]

    @classmethod
    def help(cls) -> str:
        """The first line of the docstring."""
        return cls.description().split("\n", 1)[0]

    @classmethod
    def description(cls) -> str:
        """The whole docstring, without its indentation."""
        return inspect.cleandoc(cls.__doc__ or "")

    def prepare_parser(self, parser: argparse.ArgumentParser) -> None:
        """Add this command's options to its parser."""

    def parse_args(self, parser: argparse.ArgumentParser, args: List[str]) -> argparse.Namespace:
        """Parse this command's part of the command line (after its name)."""
        return parser.parse_args(args)

    def run(self, args: argparse.Namespace) -> int:
        """Do the work; return the exit status."""
        raise NotImplementedError
