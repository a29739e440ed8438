from __future__ import annotations

import httpx

from api.main import create_app
from core.config import Settings


async def _preflight(settings: Settings, origin: str) -> httpx.Response:
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        return await client.options(
            "/api/v1/health",
            headers={"Origin": origin, "Access-Control-Request-Method": "GET"},
        )


async def test_configured_origin_is_allowed(settings: Settings) -> None:
    configured = settings.model_copy(update={"cors_origins": ["https://app.example"]})

    response = await _preflight(configured, "https://app.example")

    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "https://app.example"
    assert response.headers["x-request-id"]


async def test_other_origins_get_no_cors_headers(settings: Settings) -> None:
    configured = settings.model_copy(update={"cors_origins": ["https://app.example"]})

    response = await _preflight(configured, "https://evil.example")

    assert "access-control-allow-origin" not in response.headers
