"""`site-builder gh-deploy`, through the CLI: the tiny project as a git checkout whose `origin`
is a local bare repository."""

import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import LAYER, tiny_files, write_tree

from site_builder.cli import main


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def has_ref(repo: Path, ref: str) -> bool:
    done = subprocess.run(["git", "rev-parse", "--verify", "--quiet", ref], cwd=repo)
    return done.returncode == 0


@pytest.fixture
def project(tmp_path, monkeypatch) -> Path:
    """The tiny project, committed on `main`, with an empty bare repository as `origin`; git
    sees no user or system configuration, only the identity set here (as on a fresh CI box)."""
    (tmp_path / "gitconfig").write_text("")
    for name, value in {
        "GIT_CONFIG_GLOBAL": str(tmp_path / "gitconfig"),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CEILING_DIRECTORIES": str(tmp_path),  # no repository above the project's
        "GIT_AUTHOR_NAME": "Author",
        "GIT_AUTHOR_EMAIL": "author@example.org",
        "GIT_COMMITTER_NAME": "Author",
        "GIT_COMMITTER_EMAIL": "author@example.org",
    }.items():
        monkeypatch.setenv(name, value)
    root = tmp_path / "project"
    write_tree(root, tiny_files())
    write_tree(root, {
        "pyproject.toml": '[tool.site_builder]\nsource = "pkg"\ndocs = "docs"\n',
        ".gitignore": "site/\n.site_builder_cache/\n",
    })  # fmt: skip
    git(tmp_path, "init", "--quiet", "--bare", "origin.git")
    git(root, "init", "--quiet", "--initial-branch", "main")
    git(root, "remote", "add", "origin", str(tmp_path / "origin.git"))
    git(root, "add", ".")
    git(root, "commit", "--quiet", "-m", "the tiny project")
    monkeypatch.chdir(root)
    return root


def bare(project: Path) -> Path:
    return project.parent / "origin.git"


def edit_and_commit(project: Path, text: str) -> str:
    layer = project / "pkg/models/layer.py"
    layer.write_text(layer.read_text().replace("One layer, explained.", text))
    git(project, "commit", "--quiet", "-am", text)
    return git(project, "rev-parse", "HEAD")


def test_deploy_pushes_the_site_as_the_whole_branch_and_leaves_the_checkout_alone(project, capsys):
    head = git(project, "rev-parse", "HEAD")
    assert main(["gh-deploy"]) == 0
    out = capsys.readouterr().out
    assert "committed the site to gh-pages" in out and "pushed gh-pages to origin" in out
    deployed = set(git(bare(project), "ls-tree", "-r", "--name-only", "gh-pages").splitlines())
    built = {p.relative_to(project / "site").as_posix() for p in (project / "site").rglob("*")}
    assert {"index.html", ".nojekyll", "models/layer.html", "pagefind/pagefind.js"} <= deployed
    assert deployed == {name for name in built if (project / "site" / name).is_file()} - {
        ".site-builder.json"  # the build's manifest
    } | {".nojekyll"}
    page = subprocess.run(
        ["git", "show", "gh-pages:models/layer.html"], cwd=bare(project), capture_output=True
    ).stdout
    assert page == (project / "site/models/layer.html").read_bytes()
    assert head in git(bare(project), "log", "-1", "--format=%B", "gh-pages")
    # the author's checkout: same branch, same commit, nothing staged or changed
    assert git(project, "symbolic-ref", "HEAD") == "refs/heads/main"
    assert git(project, "rev-parse", "HEAD") == head
    assert git(project, "status", "--porcelain", "--untracked-files=all") == ""


def test_each_deploy_is_a_commit_on_the_last_and_an_unchanged_site_adds_none(project, capsys):
    assert main(["gh-deploy"]) == 0
    first = git(bare(project), "rev-parse", "gh-pages")
    head = edit_and_commit(project, "One layer, explained again.")
    assert main(["gh-deploy", "--message", "second"]) == 0
    second = git(bare(project), "rev-parse", "gh-pages")
    assert git(bare(project), "rev-parse", "gh-pages^") == first
    assert git(bare(project), "log", "-1", "--format=%s", "gh-pages") == "second"
    assert "explained again" in git(bare(project), "show", "gh-pages:index.html")
    assert git(project, "rev-parse", "HEAD") == head
    capsys.readouterr()
    assert main(["gh-deploy"]) == 0
    assert "gh-pages holds this site already" in capsys.readouterr().out
    assert git(bare(project), "rev-parse", "gh-pages") == second


def test_a_branch_only_the_remote_has_is_deployed_on(project):
    """As in a fresh clone: gh-pages is origin/gh-pages alone, and the deploy goes on from it."""
    assert main(["gh-deploy"]) == 0
    first = git(project, "rev-parse", "gh-pages")
    git(project, "branch", "--quiet", "-D", "gh-pages")
    assert git(project, "rev-parse", "origin/gh-pages") == first
    edit_and_commit(project, "One layer, explained again.")
    assert main(["gh-deploy"]) == 0
    assert git(bare(project), "rev-parse", "gh-pages^") == first


def test_no_push_commits_locally_only(project, capsys):
    head = git(project, "rev-parse", "HEAD")
    assert main(["gh-deploy", "--no-push", "--branch", "site"]) == 0
    assert "not pushed" in capsys.readouterr().out
    assert "index.html" in git(project, "ls-tree", "--name-only", "site").splitlines()
    assert not has_ref(bare(project), "refs/heads/site")
    assert git(project, "rev-parse", "HEAD") == head
    assert git(project, "status", "--porcelain") == ""


def test_a_failed_build_deploys_nothing(project, capsys):
    layer = project / "pkg/models/layer.py"
    layer.write_text(LAYER.replace("[the notes](notes.html)", "[the notes](missing.html)"))
    git(project, "commit", "--quiet", "-am", "a broken link")
    assert main(["gh-deploy"]) == 1
    err = capsys.readouterr().err
    assert "layer.py:" in err and "missing.html" in err and "Traceback" not in err
    assert not has_ref(project, "refs/heads/gh-pages")
    assert not has_ref(bare(project), "refs/heads/gh-pages")


def test_a_page_skipped_with_keep_going_deploys_nothing(project, capsys):
    (project / "pkg/models/broken.py").write_text("def f(:\n")
    git(project, "add", ".")
    git(project, "commit", "--quiet", "-m", "a module that does not parse")
    assert main(["gh-deploy", "--keep-going"]) == 1
    err = capsys.readouterr().err
    assert "broken.py" in err and "nothing deployed: pages were left out" in err
    assert not has_ref(project, "refs/heads/gh-pages")


def move_remote_branch(project: Path) -> None:
    """Someone else deployed: the remote's gh-pages gets a commit the project has never seen."""
    origin = bare(project)
    tree = git(origin, "rev-parse", "gh-pages^{tree}")
    other = git(origin, "commit-tree", tree, "-p", "gh-pages", "-m", "elsewhere")
    git(origin, "update-ref", "refs/heads/gh-pages", other)


@pytest.mark.parametrize(
    "setup, args, message",
    [
        ("no repository", [], "is not in a git repository"),
        ("no git", [], "there is no `git` on the PATH"),
        ("", ["--remote", "upstream"], "no remote 'upstream' in"),
        ("rejected", [], "push of 'gh-pages' to 'origin' failed: "),
        ("", ["--branch", "bad..name"], "'bad..name' is not a valid branch name"),
        ("on the branch", [], "'gh-pages' is the current branch"),
        ("no identity", [], "git has no name and email to commit with"),
    ],
)
def test_git_problems_are_one_line(project, monkeypatch, capsys, setup, args, message):
    if setup == "no repository":
        shutil.rmtree(project / ".git")
    elif setup == "no git":
        monkeypatch.setenv("PATH", str(project / "bin"))
    elif setup == "rejected":
        assert main(["gh-deploy"]) == 0
        move_remote_branch(project)
        edit_and_commit(project, "One layer, explained again.")
    elif setup == "on the branch":  # the deploy would replace the checked-out files
        git(project, "checkout", "--quiet", "-b", "gh-pages")
    elif setup == "no identity":
        (project.parent / "gitconfig").write_text("[user]\n\tuseConfigOnly = true\n")
        for name in ("AUTHOR", "COMMITTER"):
            monkeypatch.delenv(f"GIT_{name}_NAME")
            monkeypatch.delenv(f"GIT_{name}_EMAIL")
        monkeypatch.delenv("EMAIL", raising=False)
    capsys.readouterr()
    assert main(["gh-deploy", *args]) == 1
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and message in err, err
    if setup == "rejected":  # git's reason, and what to do
        assert "[rejected]" in err and "git fetch origin +gh-pages:gh-pages" in err


def test_the_message_says_when_the_source_had_uncommitted_changes(project):
    head = git(project, "rev-parse", "HEAD")
    layer = project / "pkg/models/layer.py"
    layer.write_text(layer.read_text().replace("One layer, explained.", "Not committed yet."))
    assert main(["gh-deploy", "--no-push"]) == 0
    message = git(project, "log", "-1", "--format=%B", "gh-pages")
    assert f"Built from {head} + uncommitted changes." in message
    assert git(project, "diff", "--name-only") == "pkg/models/layer.py"  # still unstaged
