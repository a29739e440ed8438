from __future__ import annotations

from fastapi import APIRouter

from api.v1 import health

api_router = APIRouter(prefix="/api/v1")
api_router.include_router(health.router)
