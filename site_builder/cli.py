"""Command line: `site-builder build`, `site-builder serve`, and the i18n commands.

Input problems print one line, `file:line: message`, to stderr and exit 1 (no traceback).
Warnings print `warning: file:line: message` and leave the exit status 0. With --keep-going, a
page that cannot be built is skipped (`error: file:line: ...`) and the build exits 1 once the rest
of the site is written.
"""

import argparse
import sys

from .model import BuildError
from .report import location, print_report


def _add_config_flags(parser: argparse.ArgumentParser) -> None:
    flags = parser.add_argument_group("settings (override [tool.site_builder] in pyproject.toml)")
    flags.add_argument("--source", metavar="DIR", help="annotated package to render")
    flags.add_argument("--out", metavar="DIR", help="where to write the site (default: site)")
    flags.add_argument("--docs", metavar="DIR", help="guide pages and assets mapped onto the root")
    flags.add_argument("--title", help="site title")
    flags.add_argument("--base-url", help="public URL of the site, for canonical links")
    flags.add_argument("--repo-url", help='prefix of "view code" links (+ path in the project)')
    flags.add_argument("--languages", metavar="en,zh", help="languages; the first is the source")
    parser.add_argument(
        "--keep-going",
        action="store_true",
        help="skip a page that cannot be read, parsed or rendered (exit status 1), report broken "
        "links and TeX errors as warnings (exit status 0), and still write the rest of the site",
    )


def config_from_args(args: argparse.Namespace):
    from .config import load_config

    languages = args.languages.split(",") if args.languages else None
    overrides = {
        "source": args.source,
        "out": args.out,
        "docs": args.docs,
        "title": args.title,
        "base_url": args.base_url,
        "repo_url": args.repo_url,
        "languages": [lang.strip() for lang in languages if lang.strip()] if languages else None,
    }
    return load_config(overrides)


def _cmd_build(args: argparse.Namespace) -> int:
    from .build import build_site

    config = config_from_args(args)
    report = build_site(config, keep_going=args.keep_going)
    print_report(report, config.out)
    return 1 if report.skipped else 0


def _cmd_serve(args: argparse.Namespace) -> int:
    from .serve import serve

    return serve(config_from_args(args), port=args.port, keep_going=args.keep_going)


def make_parser(with_i18n: bool = True) -> argparse.ArgumentParser:
    """The command line; without `with_i18n` the i18n commands (and their imports) are left out,
    which `main` does when the command is `build` or `serve`."""
    parser = argparse.ArgumentParser(
        prog="site-builder", description="Render an annotated Python package as a static site."
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    build = commands.add_parser("build", help="build the site (incremental, atomic)")
    _add_config_flags(build)
    build.set_defaults(func=_cmd_build)
    serve = commands.add_parser("serve", help="build, serve on 127.0.0.1 and live-reload on edits")
    _add_config_flags(serve)
    serve.add_argument("--port", type=int, default=8000, help="port (default: 8000)")
    serve.set_defaults(func=_cmd_serve)
    if with_i18n:
        from .i18n import add_cli

        add_cli(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = make_parser(with_i18n=argv[:1] not in (["build"], ["serve"])).parse_args(argv)
    try:
        return args.func(args)
    except BuildError as error:
        print(location(error), file=sys.stderr)
        return 1
    except OSError as error:  # from the machine, not the input: a read-only folder, a full disk
        where = f"{error.filename}: " if error.filename else ""
        print(f"{where}{error.strerror or error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
