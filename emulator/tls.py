"""A self-signed local CA (``trustme``) and a server certificate for 127.0.0.1/localhost."""

from __future__ import annotations

import ssl
import tempfile
from dataclasses import dataclass
from pathlib import Path

from emulator.errors import EmulatorError


class TLSUnavailable(EmulatorError):
    """HTTPS was asked for but the local CA cannot be made."""


@dataclass
class LocalTLS:
    """The CA bundle path clients trust, and the server's SSL context."""

    ca_bundle: str
    server_context: ssl.SSLContext
    directory: str


def make_local_tls(directory: str | None = None) -> LocalTLS:
    """Create a CA, a leaf for ``127.0.0.1`` and ``localhost``, and write the CA bundle."""
    try:
        import trustme  # only needed when HTTPS is asked for
    except ImportError as exc:
        raise TLSUnavailable(
            "HTTPS needs the trustme package, which is not installed (pip install trustme)"
        ) from exc

    folder = Path(directory or tempfile.mkdtemp(prefix="b24-emulator-tls-"))
    folder.mkdir(parents=True, exist_ok=True)
    authority = trustme.CA()
    leaf = authority.issue_cert("127.0.0.1", "localhost", "::1")
    bundle = folder / "ca.pem"
    authority.cert_pem.write_to_path(str(bundle))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    leaf.configure_cert(context)
    return LocalTLS(ca_bundle=str(bundle), server_context=context, directory=str(folder))
