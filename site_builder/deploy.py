"""`gh-deploy`: commit a built site as the whole tree of a branch (`gh-pages`) and push it.

Only git's plumbing is used, with a throwaway index: each file of the site is stored as a blob
(`hash-object`), listed in that index (`update-index`), which becomes a tree (`write-tree`), then
a commit on the branch's tip (`commit-tree`, `update-ref`). The author's working tree, index and
current branch are never touched. A `.nojekyll` file is added, so that GitHub Pages serves the
files and folders whose names start with `_` instead of running Jekyll.

Every problem (no git, not a repository, no such remote, a rejected push) is one `BuildError`
line, with what git said.
"""

import os
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from . import __version__
from .model import BuildError, one_line
from .write import MANIFEST

NOJEKYLL = ".nojekyll"
NO_COMMIT = "0" * 40  # `update-ref`'s old value for a branch that must not exist yet
NO_IDENTITY = (
    "git has no name and email to commit with; set them with `git config user.name` and "
    "`git config user.email`"
)


@dataclass
class Deployment:
    commit: str  # the branch's tip after the deploy
    created: bool  # a commit was made (False: the tip held this very site already)


def _git(
    repo: Path,
    args: Sequence[str],
    stdin: bytes | None = None,
    env: dict[str, str] | None = None,
    check: bool = True,
) -> subprocess.CompletedProcess[bytes]:
    """`git args` run in `repo`; a failure (with `check`) is one line with what git said."""
    try:
        done = subprocess.run(
            ["git", *args],
            cwd=repo,
            input=stdin,
            capture_output=True,
            env={**os.environ, **env} if env else None,
        )
    except FileNotFoundError:
        raise BuildError(
            "", None, "gh-deploy needs git, and there is no `git` on the PATH"
        ) from None
    if check and done.returncode != 0:
        raise BuildError("", None, f"git {args[0]} failed: {git_said(done.stderr)}")
    return done


def _output(repo: Path, args: Sequence[str], **kwargs) -> str:
    return _git(repo, args, **kwargs).stdout.decode().strip()


def _tip(repo: Path, ref: str) -> str | None:
    """The commit `ref` names, or None when there is no such ref."""
    found = _git(repo, ["rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"], check=False)
    return found.stdout.decode().strip() if found.returncode == 0 else None


def git_said(stderr: bytes) -> str:
    """Git's message on one line: its lines joined by `; `, spaces squeezed, hints left out."""
    lines = [" ".join(line.split()) for line in stderr.decode(errors="replace").splitlines()]
    said = [line for line in lines if line and not line.startswith("hint:")]
    if any("Please tell me who you are" in line for line in said):
        return NO_IDENTITY
    return one_line("; ".join(said) or "no message")


def check_repository(root: Path, branch: str, remote: str | None) -> Path:
    """The top folder of the git checkout that holds `root`, once the deploy is known to have
    what it needs: git, a repository, the remote `remote` (unless None), and a current branch
    other than `branch` (whose files the deploy would replace under the author's feet)."""
    found = _git(root, ["rev-parse", "--show-toplevel"], check=False)
    if found.returncode != 0:
        raise BuildError("", None, f"{root} is not in a git repository; gh-deploy commits to one")
    top = Path(found.stdout.decode().strip())
    if _git(top, ["check-ref-format", "--branch", branch], check=False).returncode != 0:
        raise BuildError("", None, f"'{branch}' is not a valid branch name")
    current = _git(top, ["symbolic-ref", "--quiet", "HEAD"], check=False).stdout.decode().strip()
    if current == f"refs/heads/{branch}":
        raise BuildError(
            "", None, f"'{branch}' is the current branch; check out your source branch to deploy"
        )
    if remote is not None and _git(top, ["remote", "get-url", remote], check=False).returncode:
        names = _output(top, ["remote"]).split()
        known = f"its remotes: {', '.join(names)}" if names else "it has no remote"
        raise BuildError("", None, f"no remote '{remote}' in {top} ({known})")
    return top


def source_commit(top: Path) -> str | None:
    """The commit the site was built from, with `+ uncommitted changes` when tracked files
    differ from it; None in a repository with no commit yet."""
    head = _tip(top, "HEAD")
    if head is None:
        return None
    # --no-optional-locks: status does not refresh (rewrite) the author's index
    status = ["--no-optional-locks", "status", "--porcelain", "--untracked-files=no"]
    changed = _output(top, status)
    return head + (" + uncommitted changes" if changed else "")


def site_files(out: Path) -> list[str]:
    """The site's files under `out`, relative to it (the build's manifest left out)."""
    files = [path.relative_to(out).as_posix() for path in out.rglob("*") if path.is_file()]
    return sorted(name for name in files if name not in (MANIFEST, NOJEKYLL))


def site_tree(top: Path, out: Path) -> str:
    """The tree object of the files under `out` and an empty `.nojekyll`, written to the
    repository's object store (never to its index)."""
    files = site_files(out)
    if odd := [name for name in files if "\n" in name or "\r" in name]:
        raise BuildError(out / odd[0], None, "a file name with a line break cannot be deployed")
    with tempfile.TemporaryDirectory(prefix="site-builder-deploy-") as scratch:
        nojekyll = Path(scratch, NOJEKYLL)
        nojekyll.touch()
        paths = [*(out / name for name in files), nojekyll]
        blobs = _output(
            top,
            ["hash-object", "-w", "--no-filters", "--stdin-paths"],  # the bytes as they are
            stdin=b"".join(os.fsencode(path) + b"\n" for path in paths),
        ).split()
        listing = b"".join(
            f"100644 {blob}\t".encode() + os.fsencode(name) + b"\0"
            for blob, name in zip(blobs, [*files, NOJEKYLL], strict=True)
        )
        index = {"GIT_INDEX_FILE": str(Path(scratch, "index"))}  # a throwaway index
        _git(top, ["update-index", "-z", "--index-info"], stdin=listing, env=index)
        return _output(top, ["write-tree"], env=index)


def commit_site(
    top: Path, out: Path, branch: str, remote: str, message: str | None = None
) -> Deployment:
    """Commit the site in `out` as the whole tree of `branch`, whose tip (or, for a branch only
    `remote` has, the remote-tracking branch's tip) is the parent. When that tip holds this very
    tree, no commit is made. The message names the source commit unless `message` is given."""
    tree = site_tree(top, out)
    local = _tip(top, f"refs/heads/{branch}")
    parent = local or _tip(top, f"refs/remotes/{remote}/{branch}")
    if parent and _output(top, ["rev-parse", f"{parent}^{{tree}}"]) == tree:
        commit, created = parent, False
    else:
        if message is None:
            built_from = source_commit(top)
            message = f"Deploy the site with site-builder {__version__}" + (
                f"\n\nBuilt from {built_from}.\n" if built_from else "\n"
            )
        parents = ["-p", parent] if parent else []
        commit = _output(top, ["commit-tree", tree, *parents, "-F", "-"], stdin=message.encode())
        created = True
    if commit != local:
        old = local or NO_COMMIT  # fails if the branch moved meanwhile
        reason = "site-builder gh-deploy"
        _git(top, ["update-ref", "-m", reason, f"refs/heads/{branch}", commit, old])
    return Deployment(commit, created)


def push(top: Path, branch: str, remote: str) -> None:
    """Push `branch` to the same branch of `remote`; a rejection is one line with git's reason."""
    done = _git(top, ["push", remote, f"refs/heads/{branch}:refs/heads/{branch}"], check=False)
    if done.returncode != 0:
        said = git_said(done.stderr)
        if "[rejected]" in said:  # the remote's branch has commits this one lacks
            said += (
                f" (to deploy on top of the remote's {branch}: "
                f"`git fetch {remote} +{branch}:{branch}`, then deploy again)"
            )
        raise BuildError("", None, f"push of '{branch}' to '{remote}' failed: {said}")
