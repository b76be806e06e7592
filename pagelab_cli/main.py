"""The ``pagelab`` command: engine commands (run, presets, workloads) and service commands."""

from __future__ import annotations

import argparse
import sys

from pagelab_cli import engine_commands, service_commands, token_commands


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pagelab",
        description="A lab for Linux memory-management policy experiments.",
        epilog="Example: pagelab run spec.json --out result.json",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    engine_commands.register(commands)
    service_commands.register(commands)
    token_commands.register(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    code: int = args.handler(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
