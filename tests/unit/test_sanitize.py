"""The HTML sanitizer: what a reader may see of a feed's markup."""

from __future__ import annotations

from feedhub.ingest.sanitize import sanitize_html, strip_tags


def test_relative_links_are_resolved_in_tags_only() -> None:
    html = sanitize_html('<p>src="a" <a href="x/y">l</a> <img src="i.png"></p>', "https://e.com/a/")
    assert 'src="a"' in html
    assert 'href="https://e.com/a/x/y"' in html and 'src="https://e.com/a/i.png"' in html


def test_scripts_styles_and_tracking_pixels_are_dropped() -> None:
    html = sanitize_html(
        '<p onclick="x()">Hi<script>alert(1)</script><img src="https://t.example/p.gif" '
        'width="1" height="1"><a href="https://e.example/">l</a></p>'
    )
    assert html == '<p>Hi<a href="https://e.example/" rel="noopener noreferrer">l</a></p>'


def test_relative_links_stay_relative_without_a_base() -> None:
    assert sanitize_html('<a href="x/y">l</a>') == '<a href="x/y" rel="noopener noreferrer">l</a>'


def test_titles_lose_markup_and_entities() -> None:
    assert strip_tags("  <b>Tom</b> &amp;\n Jerry ") == "Tom & Jerry"
