"""Command modules beyond analyze/states. Each module defines click commands and lists
them in its own ``COMMANDS``; add the module to ``MODULES`` to register its commands on
the `synack` group (see analyzer/cli.py)."""

from __future__ import annotations

import importlib

import click

MODULES: list[str] = ["timing", "follow", "crosscheck", "classroom", "check", "diff",
                      "diagram", "report", "annotate"]


def all_commands() -> list[click.Command]:
    cmds: list[click.Command] = []
    for name in MODULES:
        mod = importlib.import_module(f"analyzer.commands.{name}")
        cmds.extend(mod.COMMANDS)
    return cmds
