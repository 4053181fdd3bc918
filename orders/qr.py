"""QR codes of ticket secrets as inline SVG (segno).

segno's inline SVG carries no ``style`` attribute (the CSP forbids inline styles): the size comes from
the viewBox and the ``ticket-qr`` class (site.css). The quiet zone and a white background are part of
the image, so the code scans in dark mode too.
"""

import segno
from django.utils.safestring import SafeString, mark_safe


def ticket_qr_svg(*, secret: str, label: str = "Ticket QR code") -> SafeString:
    qr = segno.make(secret, error="m")
    svg = qr.svg_inline(
        scale=4, omitsize=True, svgclass="ticket-qr", lineclass=None, light="#fff", title=label
    )
    # role="img" with the <title> as its name: one image for assistive technology, not a tree of paths.
    # segno builds this markup itself and escapes the title: nothing of the request reaches it unescaped.
    return mark_safe(svg.replace("<svg ", '<svg role="img" ', 1))  # noqa: S308  # nosec B308 B703
