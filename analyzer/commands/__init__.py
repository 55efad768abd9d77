"""Command modules beyond analyze/states/explain/checks.

Each module defines click commands and lists them in its own ``COMMANDS``. Add each
command's name to ``COMMAND_MODULES`` with the module that defines it: the `synack` group
(analyzer/cli.py) imports a module only when one of its commands is used, so that
`synack analyze` does not pay for the imports of every other command.
"""

from __future__ import annotations

import importlib

import click

COMMAND_MODULES: dict[str, str] = {
    "timing": "timing", "follow": "follow", "crosscheck": "crosscheck",
    "exercise": "classroom", "grade": "classroom", "check": "check", "diff": "diff",
    "diagram": "diagram", "report": "report", "annotate": "annotate",
}


def load_command(name: str) -> click.Command | None:
    """The command called ``name``, importing its module; None if there is no such one."""
    module = COMMAND_MODULES.get(name)
    if module is None:
        return None
    mod = importlib.import_module(f"analyzer.commands.{module}")
    return next((c for c in mod.COMMANDS if c.name == name), None)


def all_commands() -> list[click.Command]:
    """Every command of every module (imports them all)."""
    found = (load_command(name) for name in COMMAND_MODULES)
    return [c for c in found if c is not None]
