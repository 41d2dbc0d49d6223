"""QR codes rendered on the server as SVG (pure Python ``qrcode``), in a data: URI the CSP allows."""
import base64
import io

import qrcode
import qrcode.image.svg


def qr_svg_data_uri(text: str) -> str:
    """``text`` as an SVG QR code in a ``data:image/svg+xml;base64,...`` URI."""
    image = qrcode.make(text, image_factory=qrcode.image.svg.SvgPathImage)
    buffer = io.BytesIO()
    image.save(buffer)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode()
