"""The installed ``agegender`` command: the runtime's ``predict`` plus the local pipeline's commands.

agegender predict [--no-detect] IMAGE...   one result JSON per image (JSON Lines)
agegender local up [--port N] [--workers N] the pipeline on an embedded AWS (moto's server)
agegender demo [--images DIR]               the local pipeline, sample uploads, a table of results
agegender redrive                           dead-letter messages back to the queue
"""

from __future__ import annotations

import sys

from agegender.cli import build_parser
from local_pipeline.commands import add_local_commands


def main(argv: list[str] | None = None) -> int:
    """Parse and run one command."""
    parser, commands = build_parser()
    add_local_commands(commands)
    args = parser.parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
