from site_builder.build import build_site
from site_builder.cli import main
from site_builder.config import load_config


def test_new_makes_a_project_that_builds_with_math_and_links(tmp_path, capsys):
    project = tmp_path / "My Notes"
    assert main(["new", str(project)]) == 0
    assert "my_notes/example.py" in capsys.readouterr().out
    assert set((project / ".gitignore").read_text().splitlines()) == {
        "site/",
        ".site_builder_cache/",
    }
    config = load_config(start=project)
    assert (config.source, config.title) == (project / "my_notes", "My Notes")
    report = build_site(config, index_search=False)
    assert set(report.pages_rendered) == {"index.html", "example.html"}
    example = (project / "site/example.html").read_text()
    assert 'class="katex' in example and 'id="softmax"' in example
    assert 'href="example.html"' in (project / "site/index.html").read_text()


def test_new_appends_to_an_existing_pyproject_and_never_overwrites(tmp_path, capsys):
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "mine"')
    (tmp_path / ".gitignore").write_text("venv/")
    assert main(["new", str(tmp_path)]) == 0
    text = (tmp_path / "pyproject.toml").read_text()
    assert text.startswith('[project]\nname = "mine"\n') and "[tool.site_builder]" in text
    assert (tmp_path / ".gitignore").read_text() == "venv/\nsite/\n.site_builder_cache/\n"
    assert "example.html" in build_site(load_config(start=tmp_path)).pages_rendered
    capsys.readouterr()
    assert main(["new", str(tmp_path)]) == 1  # the section is there: one line, nothing changed
    err = capsys.readouterr().err.strip()
    assert err.endswith("pyproject.toml: has a [tool.site_builder] section already")
    assert (tmp_path / "pyproject.toml").read_text() == text
