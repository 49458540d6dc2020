"""The HTML sanitizer: what a reader may see of a feed's markup."""

from __future__ import annotations

import random
import re
import sys

from feedhub.ingest.sanitize import _squeeze, sanitize_html, strip_tags


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


def test_text_without_markup_is_what_the_sanitizer_would_give() -> None:
    """Plain text skips nh3: for every string the shortcut takes, the answer is nh3's."""
    from feedhub.ingest.sanitize import _NOT_PLAIN, _clean

    alphabet = [
        *"ab c\n\t\x0b\x0c\x01\x7f\x80\x9f\u00e9\u4e2d\ufffe\uffff\"'=/;#`{}\u2028\u200b\x1b",
        "\U0001f600", "\U0010ffff", "\ufeff", "\xa0", "&", "<", ">", "\r", "\0", "&amp;",
    ]  # fmt: skip
    rng = random.Random(7)
    taken = 0
    for _ in range(20_000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 12)))
        if _NOT_PLAIN.search(text):
            continue
        taken += 1
        assert sanitize_html(text, "http://example.com/") == _clean(text, "http://example.com/")
    assert taken > 5_000


def test_threads_resolve_links_against_their_own_base() -> None:
    """The sanitizer is built once per thread, its base URL set per call: documents parsed
    at once in several threads keep their own bases."""
    from concurrent.futures import ThreadPoolExecutor

    def clean(n: int) -> tuple[int, str]:
        markup = "".join(f'<a href="p{i}">x</a><img src="i{i}.png">' for i in range(50))
        return n, sanitize_html(markup, f"https://site{n}.example/dir/")

    with ThreadPoolExecutor(4) as pool:
        for n, html in pool.map(clean, range(200)):
            assert html.count(f"https://site{n}.example/dir/") == 100
            assert html.count(".example/dir/") == 100


def test_squeezing_whitespace_is_the_regular_expression_s() -> None:
    """`_squeeze` replaced `re.sub(r"\\s+", " ", text).strip()` on the ingest path: the same
    text for every character either calls whitespace, alone, in runs and between words."""
    spaces = [
        chr(c) for c in range(sys.maxunicode + 1) if chr(c).isspace() or re.match(r"\s", chr(c))
    ]
    draw = random.Random(7)
    texts = [f"{c}a{c}{c}b {c}" for c in spaces] + [
        "",
        " ",
        "plain",
        "\u200b zero-width is no space",
    ]
    texts += ["".join(draw.choice(spaces + list("ab<&")) for _ in range(40)) for _ in range(500)]
    for text in texts:
        assert _squeeze(text) == re.sub(r"\s+", " ", text).strip(), repr(text)
