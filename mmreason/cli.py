"""The ``mmreason`` command: flags in, typed calls on the library out."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from mmreason.errors import MmreasonError

__all__ = ["main"]


def _cmd_info(args: argparse.Namespace) -> int:
    from mmreason.info import install_info

    info = install_info(device=args.device)
    if args.json:
        print(json.dumps(info.to_dict(), indent=2))
        return 0
    from rich.console import Console
    from rich.table import Table

    console = Console()
    console.print(f"[bold]mmreason {info.mmreason}[/bold]  python {info.python}")
    console.print(f"device: {info.device} (CUDA available: {info.cuda_available})")
    table = Table("package", "version", title="dependencies")
    for name, version in info.versions:
        table.add_row(name, version)
    console.print(table)
    console.print(f"graphs:    {info.graphs_dir}  ({', '.join(info.graphs) or 'none'})")
    console.print(f"models:    {info.models_dir}  ({', '.join(info.models) or 'none'})")
    console.print(f"scenarios: {info.scenarios_dir}")
    return 0


def _parser() -> argparse.ArgumentParser:
    from mmreason import __version__

    parser = argparse.ArgumentParser(
        prog="mmreason",
        description="Causal and knowledge-graph multimodal reasoning over images, RDF graphs and SCMs.",
    )
    parser.add_argument("--version", action="version", version=f"mmreason {__version__}")
    parser.add_argument(
        "--device",
        default="auto",
        help="where models run: auto (CUDA when available, else CPU), cpu, cuda, cuda:N (default: auto)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    info = sub.add_parser("info", help="versions, device, and where the bundled graphs and models are")
    info.add_argument("--json", action="store_true", help="print as JSON")
    info.set_defaults(run=_cmd_info)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 ok, 1 failed check, 2 refused input)."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return int(args.run(args))
    except MmreasonError as exc:
        print(f"mmreason: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("mmreason: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
