"""The command line, `site-builder`: build, serve, new, gh-deploy, and the translation catalogs
(`i18n`).

Input problems print one line, `file:line: message`, to stderr and exit 1 (no traceback).
Warnings print `warning: file:line: message` and leave the exit status 0. With --keep-going, a
page that cannot be built is skipped (`error: file:line: ...`) and the build exits 1 once the rest
of the site is written. A bug of site-builder's is one line too (`file: internal error (...);
please report it`); its traceback is printed only with --debug or $SITE_BUILDER_DEBUG=1.

The libraries behind the commands are imported when a command runs (`site_builder.lazy`), so
that `--help` and a mistyped flag answer at once.
"""

import argparse
import sys
from pathlib import Path

from . import __version__
from .config import SiteConfig, load_config
from .lazy import lazy_module
from .model import BuildError, internal_error, one_line
from .report import DEBUG_ENV, debugging, print_problem, print_report
from .scaffold import new_project

# The libraries behind the commands, imported when a command first uses one (see `lazy`).
build = lazy_module("site_builder.build")
serve = lazy_module("site_builder.serve")
deploy = lazy_module("site_builder.deploy")
i18n = lazy_module("site_builder.i18n")
progress = lazy_module("site_builder.progress")
site_texts = lazy_module("site_builder.site_texts")


def _add_config_flags(parser: argparse.ArgumentParser) -> None:
    flags = parser.add_argument_group("settings (override [tool.site_builder] in pyproject.toml)")
    flags.add_argument("--source", metavar="DIR", help="annotated package to render")
    flags.add_argument("--out", metavar="DIR", help="where to write the site (default: site)")
    flags.add_argument("--docs", metavar="DIR", help="guide pages and assets mapped onto the root")
    flags.add_argument("--title", help="site title")
    flags.add_argument("--base-url", help="public URL of the site, for canonical links")
    flags.add_argument("--repo-url", help='prefix of "view code" links (+ path in the project)')
    flags.add_argument(
        "--issues-url", help="page that opens a new issue (default: from a GitHub --repo-url)"
    )
    flags.add_argument("--languages", metavar="en,zh", help="languages; the first is the source")
    flags.add_argument(
        "--lesson", metavar="a.html,b.html", help="pages in reading order (previous/next links)"
    )
    flags.add_argument(
        "--exclude", metavar="PATTERN,...",
        help="files and folders to leave out, as in .gitignore (relative to the project root)",
    )  # fmt: skip
    flags.add_argument("--overrides", metavar="DIR", help="your templates, extra.css and static/")
    flags.add_argument("--logo", metavar="FILE", help="image shown in the header")
    flags.add_argument("--favicon", metavar="FILE", help="the site's icon")
    flags.add_argument(
        "--draft-below", type=float, metavar="PERCENT",
        help="a language with fewer of its words translated is a draft: built, not offered",
    )  # fmt: skip
    parser.add_argument(
        "--keep-going",
        action="store_true",
        help="skip a page that cannot be read, parsed or rendered (exit status 1), report broken "
        "links and TeX errors as warnings (exit status 0), and still write the rest of the site",
    )
    parser.add_argument(
        "--debug",
        action="store_true",
        help="print the traceback of an internal error (a bug of site-builder's) after its "
        f"one-line message; or set {DEBUG_ENV}=1",
    )


def config_from_args(args: argparse.Namespace) -> SiteConfig:
    languages = args.languages.split(",") if args.languages else None
    lesson = (
        [page.strip() for page in args.lesson.split(",") if page.strip()] if args.lesson else None
    )
    overrides = {
        "source": args.source,
        "out": args.out,
        "docs": args.docs,
        "title": args.title,
        "base_url": args.base_url,
        "repo_url": args.repo_url,
        "issues_url": args.issues_url,
        "languages": [lang.strip() for lang in languages if lang.strip()] if languages else None,
        "lesson": lesson,
        "draft_below": args.draft_below,
        "overrides": args.overrides,
        "logo": args.logo,
        "favicon": args.favicon,
        "exclude": [p.strip() for p in args.exclude.split(",") if p.strip()]
        if args.exclude
        else None,
    }
    return load_config(overrides)


def _cmd_build(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    report = build.build_site(config, keep_going=args.keep_going)
    print_report(report, config.out, debugging(args.debug))
    return 1 if report.skipped else 0


def _cmd_serve(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    return serve.serve(config, args.port, args.keep_going, debugging(args.debug))


def _cmd_gh_deploy(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    pushing = not args.no_push
    top = deploy.check_repository(config.root, args.branch, args.remote if pushing else None)
    report = build.build_site(config, keep_going=args.keep_going)
    print_report(report, config.out, debugging(args.debug))
    if report.skipped:
        print("nothing deployed: pages were left out", file=sys.stderr)
        return 1
    done = deploy.commit_site(top, config.out, args.branch, args.remote, args.message)
    short = done.commit[:12]
    if done.created:
        print(f"committed the site to {args.branch} ({short})")
    else:
        print(f"{args.branch} holds this site already ({short})")
    if pushing:
        deploy.push(top, args.branch, args.remote)
        print(f"pushed {args.branch} to {args.remote}")
    else:
        print(f"not pushed; to publish it: git push {args.remote} {args.branch}")
    return 0


def _cmd_new(args: argparse.Namespace) -> int:
    for path in new_project(Path(args.dir)):
        print(f"wrote {path}")
    print(f"next: cd {args.dir} && site-builder serve")
    return 0


def _project_config(args: argparse.Namespace) -> SiteConfig:
    return load_config(start=Path(args.project))


def _print_warnings(warnings: list[BuildError]) -> None:
    for warning in warnings:
        print_problem(warning, "warning: ")


def _cmd_i18n_update(args: argparse.Namespace) -> int:
    config = _project_config(args)
    warnings: list[BuildError] = []
    langs = i18n.target_languages(config, args.langs)
    written = i18n.update(config, langs, warnings) + site_texts.update(config, langs, warnings)
    _print_warnings(warnings)
    for path in written:
        print(f"wrote {i18n.project_path(config, path)}")
    print(f"{len(written)} file(s) changed")
    return 0


def _cmd_i18n_status(args: argparse.Namespace) -> int:
    config = _project_config(args)
    langs = i18n.target_languages(config, args.langs)
    if not langs:
        print("only the source language is configured; add one with `site-builder i18n new LANG`")
        return 0
    warnings: list[BuildError] = []
    rows = progress.site_progress(config, warnings, langs)
    _print_warnings(warnings)
    print(progress.format_status(rows, langs, config))
    totals = progress.totals(rows, langs).values()
    low = [t for t in totals if args.fail_under and t.percent < args.fail_under]
    for total in low:
        print(
            f"{total.lang}: {total.percent:.1f}% of the words translated, under {args.fail_under}%"
        )
    return 1 if low else 0


def _cmd_i18n_check(args: argparse.Namespace) -> int:
    config = _project_config(args)
    warnings: list[BuildError] = []
    problems = i18n.check(config, i18n.target_languages(config, args.langs), warnings)
    _print_warnings(warnings)
    for problem in problems:
        print(problem, file=sys.stderr)
    print(f"{len(problems)} problem(s)", file=sys.stderr if problems else sys.stdout)
    return 1 if problems else 0


NEXT_STEPS = """
Next steps:
  1. agree on the terms in {locale}/{lang}/glossary.toml
  2. translate the .po files in {locale}/{lang}/LC_MESSAGES/ with a PO editor
  3. site-builder i18n status {lang}; site-builder i18n check {lang}
  4. site-builder serve, then open http://127.0.0.1:8000/{lang}/
'{lang}' is a draft (built, not offered to readers) until draft_below percent of its words
are translated (see translations.html)."""


def _cmd_i18n_new(args: argparse.Namespace) -> int:
    config = _project_config(args)
    warnings: list[BuildError] = []
    written, line = i18n.new_language(config, args.lang, warnings)
    written += site_texts.update(config, [args.lang], warnings)
    _print_warnings(warnings)
    for path in written:
        print(f"wrote {i18n.project_path(config, path)}")
    print(f"created {len(written)} file(s) for '{args.lang}'")
    if line:
        print(f"add this line to [tool.site_builder] in pyproject.toml:\n    {line}")
    else:
        print(f"added '{args.lang}' to languages in pyproject.toml")
    locale = i18n.project_path(config, i18n.locale_dir(config))
    print(NEXT_STEPS.format(lang=args.lang, locale=locale))
    return 0


def _add_i18n(commands: argparse._SubParsersAction) -> None:
    """`i18n` and its subcommands."""
    i18n = commands.add_parser("i18n", help="translation catalogs (gettext PO files)")
    subcommands = i18n.add_subparsers(dest="i18n_command", metavar="COMMAND", required=True)
    project = argparse.ArgumentParser(add_help=False)
    project.add_argument(
        "--project", default=".", help="folder with pyproject.toml (default: current folder)"
    )
    langs_help = "languages (default: every configured one but the source language)"

    command = subcommands.add_parser(
        "update", parents=[project], help="extract the English and merge it into the PO files"
    )
    command.add_argument("langs", nargs="*", metavar="LANG", help=langs_help)
    command.set_defaults(func=_cmd_i18n_update)

    command = subcommands.add_parser(
        "status",
        parents=[project],
        help="translated/fuzzy/missing entries and words per page, from the catalogs",
    )
    command.add_argument("langs", nargs="*", metavar="LANG", help=langs_help)
    command.add_argument(
        "--fail-under", type=float, default=0, metavar="N",
        help="exit 1 if a language has less than N%% of its words translated",
    )  # fmt: skip
    command.set_defaults(func=_cmd_i18n_status)

    command = subcommands.add_parser(
        "check",
        parents=[project],
        help="check math, code, links, structure, glossary, punctuation, duplicate entries",
    )
    command.add_argument("langs", nargs="*", metavar="LANG", help=langs_help)
    command.set_defaults(func=_cmd_i18n_check)

    command = subcommands.add_parser(
        "new", parents=[project], help="start a language: create its catalogs and configure it"
    )
    command.add_argument("lang", metavar="LANG", help="language code, e.g. zh or pt_BR")
    command.set_defaults(func=_cmd_i18n_new)


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="site-builder", description="Render an annotated Python package as a static site."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    build = commands.add_parser("build", help="build the site (incremental, atomic)")
    _add_config_flags(build)
    build.set_defaults(func=_cmd_build)
    serve = commands.add_parser("serve", help="build, serve on 127.0.0.1 and live-reload on edits")
    _add_config_flags(serve)
    serve.add_argument("--port", type=int, default=8000, help="port (default: 8000)")
    serve.set_defaults(func=_cmd_serve)
    gh_deploy = commands.add_parser(
        "gh-deploy",
        help="build, commit the site to a branch (gh-pages) and push it, for GitHub Pages",
    )
    _add_config_flags(gh_deploy)
    gh_deploy.add_argument(
        "--branch", default="gh-pages", help="branch that holds the site (default: gh-pages)"
    )
    gh_deploy.add_argument("--remote", default="origin", help="remote to push to (default: origin)")
    gh_deploy.add_argument(
        "--message", "-m", metavar="MSG", help="commit message (default: names the source commit)"
    )
    gh_deploy.add_argument(
        "--no-push", action="store_true", help="commit to the branch, do not push it"
    )
    gh_deploy.set_defaults(func=_cmd_gh_deploy)
    new = commands.add_parser(
        "new", help="start a project: the config, an annotated example, .gitignore entries"
    )
    new.add_argument("dir", nargs="?", default=".", metavar="DIR", help="(default: here)")
    new.set_defaults(func=_cmd_new)
    _add_i18n(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = make_parser().parse_args(sys.argv[1:] if argv is None else argv)
    debug = debugging(getattr(args, "debug", False))
    try:
        return args.func(args)
    except BuildError as error:
        errors = getattr(error, "errors", [error])  # a build reports every error it found
        for each in errors:
            print_problem(each, debug=debug)
        if len(errors) > 1:
            print(f"{len(errors)} errors; nothing was written", file=sys.stderr)
        return 1
    except OSError as error:  # from the machine, not the input: a read-only folder, a full disk
        where = f"{error.filename}: " if error.filename else ""
        print(one_line(f"{where}{error.strerror or error}"), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except Exception as error:  # a bug of site-builder's: one line, the traceback if asked for
        print_problem(internal_error(None, error), debug=debug)
        return 1
