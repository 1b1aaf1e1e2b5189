""" "Report a problem with this section": with an issues URL (given, or derived from a GitHub
repo_url), every section of a page links to a new issue prefilled with the page, the section,
the language, the source file and its lines; a plain link, so it works without JavaScript."""

import html
import re
from urllib.parse import parse_qsl, urlsplit

import pytest
from conftest import make_config

from site_builder.build import build_site
from site_builder.config import load_config, new_issue_url

ISSUES = "https://github.com/me/tiny/issues/new"


def report_links(page_html: str) -> dict[str, tuple[str, dict[str, str]]]:
    """Each section's report link: section id -> (the URL without its query, its parameters)."""
    links = {}
    for section in re.findall(r'<section class="section.*?</section>', page_html, re.S):
        found = re.search(r'class="report" href="([^"]*)"', section)
        if found:
            url = urlsplit(html.unescape(found.group(1)))
            section_id = re.search(r' id="([^"]+)"', section).group(1)
            links[section_id] = (url._replace(query="").geturl(), dict(parse_qsl(url.query)))
    return links


def test_every_section_links_to_a_prefilled_new_issue(tiny):
    config = make_config(tiny.root, issues_url=ISSUES, languages=("en", "zh"))
    build_site(config)
    page = (config.out / "models/layer.html").read_text(encoding="utf-8")
    sections = re.findall(r'<section class="section[^>]* id="([^"]+)"', page)
    links = report_links(page)
    assert sorted(links) == sorted(sections) and len(sections) >= 3
    url, fields = links["Layer.forward-1"]
    assert url == ISSUES
    # The title: the comment and the line it explains, lines 22-23 of pkg/models/layer.py, and
    # the language; the body: the section's address, and the lines in the repository.
    assert fields["title"] == "pkg/models/layer.py:22-23 [en]"
    body = fields["body"].splitlines()
    assert "Page: https://tiny.example.org/models/layer.html#Layer.forward-1" in body
    assert "Source: https://example.org/repo/blob/main/pkg/models/layer.py#L22-L23" in body
    assert re.search(r'<a class="report" href="[^"]+" target="_blank" title="[^"]+"></a>', page)
    zh = report_links((config.out / "zh/models/layer.html").read_text(encoding="utf-8"))
    title, body = zh["Layer.forward-1"][1]["title"], zh["Layer.forward-1"][1]["body"]
    assert title == "pkg/models/layer.py:22-23 [zh]"  # the same lines in every language
    assert "Page: https://tiny.example.org/zh/models/layer.html#Layer.forward-1" in body
    assert "Translation:" not in body  # no zh catalog: the section is shown in English


def test_no_link_without_an_issues_url(tiny):
    build_site(make_config(tiny.root, issues_url=""))
    assert 'class="report"' not in (tiny.out / "models/layer.html").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("repo_url", "issues_url"),
    [
        ("https://github.com/me/tiny/blob/main/", ISSUES),
        ("https://github.com/me/tiny/tree/dev/src/", ISSUES),
        ("https://gitlab.com/me/tiny/-/blob/main/", ""),  # GitLab's form takes other fields
        ("https://example.org/code/", ""),
        ("", ""),
    ],
)
def test_the_issues_url_comes_from_a_github_repo_url(repo_url, issues_url):
    assert new_issue_url(repo_url) == issues_url


def test_issues_url_is_a_config_key_that_wins_over_the_derived_one(tmp_path, monkeypatch):
    (tmp_path / "pkg").mkdir()
    table = (
        '[tool.site_builder]\nsource = "pkg"\nrepo_url = "https://github.com/me/tiny/blob/main/"\n'
    )
    (tmp_path / "pyproject.toml").write_text(table)
    monkeypatch.chdir(tmp_path)
    assert load_config().issues_url == ISSUES
    (tmp_path / "pyproject.toml").write_text(table + 'issues_url = "https://t.example/new"\n')
    assert load_config().issues_url == "https://t.example/new"
    assert load_config({"issues_url": ""}).issues_url == ""  # off
