import pytest

from site_builder.links import Link, PageLinks, check_links, ids_in, resolve, urls_in


@pytest.mark.parametrize(
    ("page", "href", "expected"),
    [
        ("a/x.html", "y.html", ("a/y.html", "")),
        ("a/x.html", "../b/z.html#Top", ("b/z.html", "Top")),
        ("a/x.html", "#Layer.forward", ("a/x.html", "Layer.forward")),
        ("a/x.html", "./", ("a/index.html", "")),
        ("a/x.html", "%2e%2e/q.html", ("q.html", "")),
        ("a/x.html", "/static/s.css", ("static/s.css", "")),
        ("a/x.html", "../../out.html", (None, "")),
        ("x.html", "/elsewhere/q.html", ("elsewhere/q.html", "")),
    ],
)
def test_resolve(page, href, expected):
    assert resolve(page, href) == expected


def test_root_absolute_links_use_the_base_path():
    assert resolve("404.html", "/docs/static/s.css", "/docs/") == ("static/s.css", "")
    assert resolve("404.html", "/other/s.css", "/docs/")[0] is None


def test_ids_and_urls_are_read_from_html():
    page = "<p id=\"a&amp;b\"><a href=\"x.html?q=1&amp;r=2#k\">x</a><img src='i.png' id='c'></p>"
    assert ids_in(page) == {"a&b", "c"}
    assert urls_in(page) == ["x.html?q=1&r=2#k", "i.png"]


def test_check_links_reports_missing_pages_and_anchors_across_pages():
    pages = {
        "index.html": PageLinks(
            {"top"},
            [
                Link("a/x.html#Good", "src/index.py", 3),
                Link("a/x.html#Missing", "src/index.py", 4),
                Link("gone.html", "src/index.py", 5),
                Link("#top", "src/index.py", 6),
                Link("https://example.org/#nope", "src/index.py", 7),
                Link("mailto:me@example.org", "src/index.py", 8),
                Link("a", "src/index.py", 9),
                Link("static/s.css#whatever", "src/index.py", 10),
            ],
        ),
        "a/x.html": PageLinks({"Good"}, [Link("../index.html#bottom", "src/a/x.py", 2)]),
        "a/index.html": PageLinks(set(), []),
    }
    broken = check_links(pages, {"static/s.css"})
    found = {(link.line, message) for link, message in broken}
    assert found == {
        (4, "broken link 'a/x.html#Missing': no id 'Missing' in 'a/x.html'"),
        (5, "broken link 'gone.html': no page or file at that path"),
        (2, "broken link '../index.html#bottom': no id 'bottom' in 'index.html'"),
    }
