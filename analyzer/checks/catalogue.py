"""Print the check catalogue as Markdown: ``python -m analyzer.checks.catalogue > docs/checks.md``.

docs/checks.md is generated from the same registry that ``synack checks`` and the findings
use, and a test compares it with this output, so the reference cannot drift.
"""

from __future__ import annotations

import sys

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    """Write the Markdown catalogue (``--lang en|zh|both``, default both) to stdout."""
    from analyzer.render.findings import catalogue_markdown

    args = sys.argv[1:] if argv is None else argv
    lang = args[args.index("--lang") + 1] if "--lang" in args else "both"
    sys.stdout.write(catalogue_markdown(lang))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
