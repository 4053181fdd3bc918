"""Small helpers for tests that read rendered pages and their security headers (stdlib only)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

from django.http import HttpResponse

_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    children: list[Element] = field(default_factory=list)
    # Text and child elements in document order.
    content: list[Element | str] = field(default_factory=list)

    @property
    def text(self) -> str:
        """The element's text content, in document order, with whitespace collapsed."""
        parts = [item if isinstance(item, str) else item.text for item in self.content]
        return " ".join(" ".join(parts).split())

    def append(self, child: Element) -> None:
        self.children.append(child)
        self.content.append(child)

    def iter(self) -> list[Element]:
        found = [self]
        for child in self.children:
            found.extend(child.iter())
        return found

    def find_all(self, tag: str | None = None, attrs: dict[str, str] | None = None) -> list[Element]:
        """Descendants with this tag (any if None) whose attributes include ``attrs``."""
        wanted = attrs or {}
        return [
            el
            for el in self.iter()[1:]
            if (tag is None or el.tag == tag) and all(el.attrs.get(k) == v for k, v in wanted.items())
        ]

    def find(self, tag: str | None = None, attrs: dict[str, str] | None = None) -> Element:
        found = self.find_all(tag, attrs)
        assert found, f"no <{tag or '*'}> with {attrs or {}}"
        return found[0]


class _TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Element("#document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {name: value or "" for name, value in attrs})
        self.stack[-1].append(element)
        if tag not in _VOID:
            self.stack.append(element)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.stack[-1].append(Element(tag, {name: value or "" for name, value in attrs}))

    def handle_endtag(self, tag: str) -> None:
        for depth in range(len(self.stack) - 1, 0, -1):
            if self.stack[depth].tag == tag:
                del self.stack[depth:]
                return

    def handle_data(self, data: str) -> None:
        self.stack[-1].content.append(data)


def parse(html: str | bytes) -> Element:
    builder = _TreeBuilder()
    builder.feed(html.decode() if isinstance(html, bytes) else html)
    builder.close()
    return builder.root


def csp_directives(response: HttpResponse) -> dict[str, list[str]]:
    """The Content-Security-Policy header as {directive: [sources]}."""
    header = response.headers["Content-Security-Policy"]
    directives: dict[str, list[str]] = {}
    for part in header.split(";"):
        name, *sources = part.split()
        directives[name] = sources
    return directives


def script_nonce(response: HttpResponse) -> str:
    """The nonce the CSP header allows in script-src."""
    nonces = [
        m.group(1) for s in csp_directives(response)["script-src"] if (m := re.fullmatch(r"'nonce-(.+)'", s))
    ]
    assert len(nonces) == 1, f"expected one nonce in script-src, got {nonces}"
    return nonces[0]


def inline_code_problems(document: Element, nonce: str) -> list[str]:
    """What in the page the CSP would block: scripts without src or our nonce, inline styles, handlers."""
    problems = []
    for el in document.iter()[1:]:
        if el.tag == "script":
            if "nonce" in el.attrs and el.attrs["nonce"] != nonce:
                problems.append(f"<script> with a foreign nonce: {el.attrs}")
            elif "src" not in el.attrs and el.attrs.get("nonce") != nonce:
                problems.append(f"inline <script> without the nonce: {el.text[:80]!r}")
        if el.tag == "style":
            problems.append(f"<style> element: {el.text[:80]!r}")
        if "style" in el.attrs:
            problems.append(f"style attribute on <{el.tag}>: {el.attrs['style']!r}")
        problems.extend(f"inline handler {a} on <{el.tag}>" for a in el.attrs if a.startswith("on"))
    return problems
