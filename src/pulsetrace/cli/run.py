"""``pulsetrace run``: trace a script, a module (-m) or a code string (-c) and save the trace."""

from __future__ import annotations

import argparse
import sys
from typing import Any, Dict, List, Optional, Tuple

from .. import config, cores, runner, writers
from ..options import GROUP_OUTPUT, OPTIONS, TraceOptions
from ..runner import Target
from .base import CLIError, Command

USAGE = (
    "pulsetrace run [options] script.py [args ...]\n"
    "       pulsetrace run [options] -m module [args ...]\n"
    "       pulsetrace run [options] -c code [args ...]"
)


class RunCommand(Command):
    """Run a Python program and record every call it makes.

    The program runs as `python script.py args`, `python -m module args` or `python -c code args`
    would run it: same sys.argv, __main__, sys.path[0], output, exceptions and exit status. Options
    go before the program; everything after the script (or the -m module, or the -c code) is the
    program's. `--` ends pulsetrace's options. The trace is saved when the program ends, however it
    ends (normal exit, exception, sys.exit, Ctrl-C, SIGTERM, os._exit).

    Options can also be set under [tool.pulsetrace] in the nearest pyproject.toml (same names,
    with underscores: max_stack_depth = 5), and the output file in PULSETRACE_OUTPUT; the
    command line overrides the environment, which overrides pyproject.toml. File lists take one
    path per flag: repeat the flag (--include-files src --include-files lib) or separate paths
    with commas (--include-files src,lib); `--include-files ''` clears a list set in
    pyproject.toml. Relative paths in pyproject.toml are relative to its directory.

    The program's Python child processes (os.fork, multiprocessing, subprocess, os.exec*, os.spawn*
    and os.system starting this or another Python 3.9+, directly or through a shell, a launcher such
    as env or a #! script) are traced with the same options into the same trace, each process on its
    own track; --no-children records the program's own process only. When the program ends, children
    still running are waited for up to --children-timeout seconds (default 5), then left out and named.
    """

    name = "run"

    def prepare_parser(self, parser: argparse.ArgumentParser) -> None:
        parser.usage = USAGE
        add_option_flags(parser)
        add_program_arguments(parser, "the script to run (or a directory or zip with __main__.py)")

    def parse_args(self, parser: argparse.ArgumentParser, args: List[str]) -> argparse.Namespace:
        return parse_program_command_line(parser, args)

    def run(self, args: argparse.Namespace) -> int:
        target: Target = args.target
        try:  # every source of options, checked before anything of the program runs
            options = config.load_options(command_line_settings(args))
        except config.ConfigError as exc:
            raise CLIError(str(exc), 2) from None
        output = options.output or config.DEFAULT_OUTPUT
        _check_core(options.core, options.backend)
        try:
            writers.check_writable(output, lines=bool(options.lines))
        except writers.OutputError as exc:
            raise CLIError(str(exc), 2) from None
        try:
            program = runner.load_program(target)
        except runner.LaunchError as exc:
            raise CLIError(exc.message, exc.exit_code) from None
        session = runner.TraceSession(output, options=options, quiet=args.quiet, stderr=sys.stderr)
        try:
            return runner.run_program(program, session)
        except runner.LaunchError as exc:  # raised before the program's own code ran (no such module)
            raise CLIError(exc.message, exc.exit_code) from None


# -- one flag per tracing option, generated from pulsetrace.options.OPTIONS ------------------------------

_METAVARS = {"int": "N", "duration": "TIME", "seconds": "SECONDS", "files": "PATH", "str": "TEXT"}
_SHORT = {"output": "-o"}
_ALIASES = {"trace_children": "--children"}  # the short spelling: --children / --no-children
_DEFAULT_TEXT = {  # where "(default: ...)" would not say it well
    "output": config.DEFAULT_OUTPUT,
    "max_stack_depth": "no limit",
    "include_files": "every file",
    "exclude_files": "none",
    "min_duration": "0, keep every call",
    "core": None,  # their help says it
    "backend": None,
    "process_name": "the command line, e.g. 'python prog.py'",
}


def flag(name: str) -> str:
    """The long flag of an option: max_stack_depth -> --max-stack-depth."""
    return "--" + name.replace("_", "-")


def flags(name: str) -> List[str]:
    found = [_SHORT[name], flag(name)] if name in _SHORT else [flag(name)]
    return found + [_ALIASES[name]] if name in _ALIASES else found


def add_option_flags(parser: argparse.ArgumentParser, *, default_output: str = config.DEFAULT_OUTPUT) -> None:
    """One flag per option, grouped by purpose as OPTIONS groups them; -q joins the output group.

    Values are kept as given (argparse.SUPPRESS: an absent flag leaves no attribute) and converted by
    pulsetrace.config, so a bad value is reported like one from pyproject.toml, naming the flag.
    ``default_output`` is what the help says happens without -o (the IPython magic saves nothing).
    """
    pyproject, in_effect = config.settings_in_effect()
    groups: Dict[str, argparse._ArgumentGroup] = {}
    for spec in OPTIONS:
        if spec.group not in groups:
            groups[spec.group] = parser.add_argument_group(spec.group)
            if spec.group == GROUP_OUTPUT:
                groups[spec.group].add_argument(
                    "-q", "--quiet", action="store_true", help="do not report where the trace went"
                )
        group = groups[spec.group]
        text = spec.help
        if spec.name == "output":
            text += f" ({', '.join(writers.known_extensions())}; - for standard output)"
        if spec.kind == "files":
            text += "; one per flag: repeat the flag or separate with commas"
        if spec.name == "output":
            default: Optional[str] = default_output
        else:
            default = _DEFAULT_TEXT.get(spec.name, _default_text(spec.name, spec.kind))
        notes = [f"default: {default}"] if default is not None else []
        if spec.name in in_effect:
            value, where = in_effect[spec.name]
            notes.append(f"now {_show(value)} from {where}")
        if notes:
            text += f" ({'; '.join(notes)})"
        text = text.replace("%", "%%")  # argparse formats help strings with %
        kwargs: Dict[str, Any] = {"dest": spec.name, "default": argparse.SUPPRESS, "help": text}
        if spec.kind == "bool":
            group.add_argument(*flags(spec.name), action=argparse.BooleanOptionalAction, **kwargs)
        elif spec.kind == "choice":
            group.add_argument(*flags(spec.name), choices=spec.choices, **kwargs)
        elif spec.kind == "files":
            group.add_argument(*flags(spec.name), action="append", metavar="PATH", **kwargs)
        else:
            metavar = "PATH" if spec.name == "output" else _METAVARS.get(spec.kind, "VALUE")
            group.add_argument(*flags(spec.name), metavar=metavar, **kwargs)
    if in_effect:
        wheres = sorted({where for _, where in in_effect.values()}, reverse=True)
        named = [f"{pyproject} [{config.TABLE}]" if where == config.PYPROJECT else where for where in wheres]
        parser.epilog = "'now ... from' marks the settings in effect from:\n" + "\n".join(
            f"  {source}" for source in named
        )


def _default_text(name: str, kind: str) -> Optional[str]:
    value = getattr(TraceOptions(), name)
    if kind == "bool":
        return "on" if value else "off"
    return None if value is None else str(value)


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, (list, tuple)):
        return ",".join(str(item) for item in value) or "''"
    return str(value)


def command_line_settings(
    args: argparse.Namespace, where: str = "command-line option"
) -> List[config.Setting]:
    """The options given on the command line, each with its flag as its source (``where`` and the flag)."""
    settings = []
    for spec in OPTIONS:
        if not hasattr(args, spec.name):
            continue
        value = getattr(args, spec.name)
        if spec.kind == "files":  # one path per flag, or several separated by commas; '' clears
            value = [path for given in value for path in given.split(",") if path]
        settings.append(config.Setting(spec.name, value, f"{where} {'/'.join(flags(spec.name))}"))
    return settings


def add_program_arguments(parser: argparse.ArgumentParser, script_help: str) -> None:
    """The program a subcommand runs (``run``, ``live``): script, ``-m module`` or ``-c code``, and its
    arguments, as python's own command line reads them (see ``split_command_line``)."""
    program = parser.add_argument_group("the program (the first of these ends pulsetrace's options)")
    program.add_argument("-m", metavar="module", dest="module", help="run a library module, like python -m")
    program.add_argument("-c", metavar="code", dest="code", help="run a code string, like python -c")
    program.add_argument("script", nargs="?", help=script_help)
    program.add_argument("args", nargs="*", help="arguments for the program (its sys.argv[1:])")


def parse_program_command_line(parser: argparse.ArgumentParser, words: List[str]) -> argparse.Namespace:
    """pulsetrace's options parsed, and the program in ``target`` (an error when there is none)."""
    options, target = split_command_line(parser, words)
    namespace = parser.parse_args(options)
    if target is None:
        parser.error("missing the program to run: script.py, -m module or -c code")
    namespace.target = target
    return namespace


def split_command_line(
    parser: argparse.ArgumentParser, words: List[str]
) -> Tuple[List[str], Optional[Target]]:
    """Split ``run``'s words into pulsetrace's options and the program with its arguments.

    Like python's own command line, option parsing stops at the script, at ``-m module`` or at
    ``-c code``; what follows belongs to the program even if it looks like a pulsetrace option.
    Which options take a value is read from the parser, so new options need no change here.
    """
    actions = parser._option_string_actions
    options: List[str] = []
    i = 0
    while i < len(words):
        word = words[i]
        if word == "--":
            if i + 1 >= len(words):
                return options, None
            return options, Target(runner.SCRIPT, words[i + 1], words[i + 2 :])
        if word == "-":
            parser.error("reading the program from standard input ('-') is not supported")
        if not word.startswith("-"):
            return options, Target(runner.SCRIPT, word, words[i + 1 :])
        taker: Optional[argparse.Action] = None  # the option whose value is the next word
        if word.startswith("--"):
            name, has_value, _ = word.partition("=")
            action = actions.get(name)
            if action is not None and not has_value:
                taker = action
        else:
            # A cluster of short options, read as argparse reads it: "-q", "-qo out.json", "-oout.json".
            for j in range(1, len(word)):
                letter, attached = word[j], word[j + 1 :]
                if letter in ("m", "c"):
                    kind = runner.MODULE if letter == "m" else runner.CODE
                    before = [word[:j]] if j > 1 else []
                    if attached:
                        return options + before, Target(kind, attached, words[i + 1 :])
                    if i + 1 >= len(words):
                        parser.error(f"argument -{letter}: expected one argument")
                    return options + before, Target(kind, words[i + 1], words[i + 2 :])
                action = actions.get("-" + letter)
                if action is None:
                    break  # unknown: argparse reports it
                if action.nargs != 0:
                    taker = None if attached else action
                    break
        options.append(word)
        i += 1
        taken = _values_taken(taker, words[i:]) if taker is not None else 0
        options.extend(words[i : i + taken])
        i += taken
    return options, None


def _values_taken(action: argparse.Action, following: List[str]) -> int:
    """How many of the following words argparse gives ``action`` as values."""
    nargs = action.nargs
    if nargs is None:
        return min(1, len(following))
    if isinstance(nargs, int):
        return min(nargs, len(following))
    count = 0
    while count < len(following) and not following[count].startswith("-"):
        count += 1
    return min(count, 1) if nargs == "?" else count


def _check_core(core: Optional[str], backend: Optional[str]) -> None:
    """A core or backend that cannot work here is a usage error, found before the program runs."""
    try:
        cores.choose_core(core, backend)
    except cores.CoreError as exc:
        raise CLIError(str(exc), 2) from None
    except Exception:
        pass  # not a choice the user made: the run goes on and the tracer reports what is wrong
