"""A tiny BeautifulSoup-like reader for rendered pages (tinyhtml5 + cssselect2, both WeasyPrint's own)."""

from __future__ import annotations

from xml.etree.ElementTree import Element

import cssselect2
import tinyhtml5


class Node:
    def __init__(self, wrapper: cssselect2.ElementWrapper) -> None:
        self._wrapper = wrapper
        self.element: Element = wrapper.etree_element

    @property
    def tag(self) -> str:
        return self.element.tag.rsplit("}", 1)[-1]

    def select(self, css: str) -> list[Node]:
        return [Node(found) for found in self._wrapper.query_all(css)]

    def select_one(self, css: str) -> Node | None:
        found = self._wrapper.query(css)
        return Node(found) if found is not None else None

    def get_text(self, separator: str = "", strip: bool = False) -> str:
        parts = [part.strip() if strip else part for part in self.element.itertext()]
        return separator.join(part for part in parts if part or not strip)

    def has_attr(self, name: str) -> bool:
        return name in self.element.attrib

    def __getitem__(self, name: str) -> str:
        return self.element.attrib[name]


def soup(html: str | bytes) -> Node:
    root = tinyhtml5.parse(html.decode() if isinstance(html, bytes) else html)
    return Node(cssselect2.ElementWrapper.from_html_root(root))
