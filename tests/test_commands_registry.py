"""The `synack` group loads command modules only when used, and knows every command."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import click

from analyzer.cli import cli
from analyzer.commands import COMMAND_MODULES, all_commands, load_command

COMMANDS_DIR = Path(__file__).resolve().parents[1] / "analyzer" / "commands"


def test_every_command_of_every_module_is_registered() -> None:
    for path in sorted(COMMANDS_DIR.glob("*.py")):
        if path.stem == "__init__":
            continue
        mod = importlib.import_module(f"analyzer.commands.{path.stem}")
        for cmd in mod.COMMANDS:
            assert COMMAND_MODULES.get(cmd.name) == path.stem, cmd.name
            assert load_command(cmd.name) is cmd
    assert {c.name for c in all_commands()} == set(COMMAND_MODULES)


def test_help_lists_every_command() -> None:
    ctx = click.Context(cli)
    names = cli.list_commands(ctx)
    assert set(COMMAND_MODULES) | {"analyze", "states", "explain", "checks"} == set(names)
    assert all(cli.get_command(ctx, n) is not None for n in names)
    assert cli.get_command(ctx, "nonsense") is None


def test_analyze_does_not_import_other_commands() -> None:
    code = ("import sys; from analyzer.cli import main; sys.argv = ['synack', 'analyze', "
            "'sample_pcaps/01_clean_close.pcap']\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in sys.modules if m.startswith('analyzer.commands.')))")
    root = COMMANDS_DIR.parents[1]
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=root, check=True).stdout
    assert out.strip().splitlines()[-1] == "[]"
