"""/docs and /redoc work without internet: every asset they load is served by the service."""

from __future__ import annotations

import re

import httpx
import pytest

_ATTRIBUTE_URL = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']""")
_EXPECTED_TYPES = {".js": "javascript", ".css": "text/css", ".png": "image/png"}


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_docs_pages_load_only_local_assets(client: httpx.AsyncClient, page: str) -> None:
    response = await client.get(page)
    assert response.status_code == 200
    html = response.text
    assets = _ATTRIBUTE_URL.findall(html)
    assert any(url.endswith(".js") for url in assets), html

    for url in assets:
        assert url.startswith("/"), f"{page} loads {url}"
        assert not url.startswith("//"), f"{page} loads {url}"
        asset = await client.get(url)
        assert asset.status_code == 200, url
        suffix = url[url.rfind(".") :]
        assert _EXPECTED_TYPES[suffix] in asset.headers["content-type"], url
        assert len(asset.content) > 1000, url
    assert "cdn" not in html.lower()
    assert "fonts.googleapis" not in html
    assert "/openapi.json" in html


async def test_swagger_ui_skips_the_online_validator_and_redirects_oauth2_locally(
    client: httpx.AsyncClient,
) -> None:
    html = (await client.get("/docs")).text
    assert '"validatorUrl": null' in html
    assert (await client.get("/docs/oauth2-redirect")).status_code == 200
    assert (await client.get("/redoc/logo-mini.svg")).status_code == 200
