"""The built dashboard served at `/`: files, cache headers, client-side routes, API untouched."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from api.main import create_app
from tests.conftest import make_settings

INDEX = "<!doctype html><title>dashboard</title><div id=root></div>"
SCRIPT = "console.log('app')"


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    dist = tmp_path / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text(INDEX)
    (dist / "assets" / "index-Abc123.js").write_text(SCRIPT)
    (dist / "favicon.svg").write_text("<svg/>")
    (tmp_path / "secret.txt").write_text("not for the web")
    return dist


async def _client(dist_dir: Path) -> AsyncIterator[httpx.AsyncClient]:
    # No lifespan: nothing here touches the database.
    app = create_app(make_settings("sqlite+aiosqlite://", frontend_dist_dir=dist_dir))
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


@pytest.fixture
async def client(dist: Path) -> AsyncIterator[httpx.AsyncClient]:
    async for client in _client(dist):
        yield client


@pytest.fixture
async def unbuilt_client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    async for client in _client(tmp_path / "no-build-here"):
        yield client


async def test_root_serves_index_revalidated_on_each_load(client: httpx.AsyncClient) -> None:
    response = await client.get("/")
    assert response.status_code == 200
    assert response.text == INDEX
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["cache-control"] == "no-cache"


async def test_hashed_assets_are_cached_for_a_year(client: httpx.AsyncClient) -> None:
    response = await client.get("/assets/index-Abc123.js")
    assert response.status_code == 200
    assert response.text == SCRIPT
    assert "javascript" in response.headers["content-type"]
    assert response.headers["cache-control"] == "public, max-age=31536000, immutable"


async def test_other_files_of_the_build_are_served_revalidated(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/favicon.svg")
    assert response.status_code == 200
    assert response.text == "<svg/>"
    assert response.headers["cache-control"] == "no-cache"


@pytest.mark.parametrize("path", ["/jobs", "/jobs/3f2a/edit", "/login?redirect=%2Fjobs", "/a.b"])
async def test_client_side_routes_fall_back_to_index(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path)
    assert response.status_code == 200
    assert response.text == INDEX
    assert response.headers["cache-control"] == "no-cache"


async def test_head_is_answered_like_get(client: httpx.AsyncClient) -> None:
    response = await client.head("/jobs")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-cache"


async def test_a_missing_asset_is_a_404_not_the_index(client: httpx.AsyncClient) -> None:
    response = await client.get("/assets/index-Old999.js")
    assert response.status_code == 404
    assert response.json()["error"] == "Not found"


@pytest.mark.parametrize(
    "path", ["/%2e%2e/secret.txt", "/..%2fsecret.txt", "/assets/..%2f..%2fsecret.txt"]
)
async def test_files_outside_the_build_are_never_served(
    client: httpx.AsyncClient, path: str
) -> None:
    response = await client.get(path)
    assert "not for the web" not in response.text


@pytest.mark.parametrize("path", ["/api", "/api/", "/api/v2/jobs", "/api/v1/no-such-thing"])
async def test_unknown_api_paths_stay_the_json_404(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path)
    assert response.status_code == 404
    body = response.json()
    assert body["error"] == "Not found"
    assert body["message"] == f"No route matches GET {path}."


async def test_wrong_method_on_an_api_route_is_still_405(client: httpx.AsyncClient) -> None:
    response = await client.delete("/api/v1/auth/me")
    assert response.status_code == 405
    assert response.json()["error"] == "Method not allowed"


async def test_writes_outside_the_api_are_not_the_index(client: httpx.AsyncClient) -> None:
    response = await client.post("/jobs")
    assert response.status_code in (404, 405)
    assert response.headers["content-type"] == "application/json"


@pytest.mark.parametrize("path", ["/openapi.json", "/docs", "/redoc"])
async def test_docs_and_schema_are_untouched(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path)
    assert response.status_code == 200
    assert response.text != INDEX
    assert "cache-control" not in response.headers


async def test_without_a_build_the_root_says_how_to_build_it(
    unbuilt_client: httpx.AsyncClient,
) -> None:
    response = await unbuilt_client.get("/")
    assert response.status_code == 404
    body = response.json()
    assert body["error"] == "Not found"
    assert "make run" in body["message"]
    assert "make frontend" in body["message"]
    api_answer = await unbuilt_client.get("/api/v1/no-such-thing")
    assert api_answer.status_code == 404


async def test_the_dashboard_route_is_not_in_the_schema(client: httpx.AsyncClient) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]
    # The API's own paths only: /api/v1 and the Prometheus scrape target.
    assert {path for path in paths if not path.startswith("/api/v1/")} == {"/metrics"}
