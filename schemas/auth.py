"""Login, token and logout bodies."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field, SecretStr, model_validator

from schemas.common import RequestModel, example
from schemas.text import secret_length
from schemas.user import UserOut

# PostgreSQL text cannot hold NUL: refused here, and said so in the schema, rather than failing
# in the query.
NO_NUL_PATTERN = r"^[^\x00]*$"
LoginName = Annotated[str, Field(min_length=1, max_length=120, pattern=NO_NUL_PATTERN)]
# Only non-empty: accounts from before the 8-character rule must still be able to log in.
LoginPassword = Annotated[SecretStr, *secret_length(min_length=1, max_length=256)]
Token = Annotated[str, Field(min_length=1, max_length=4096)]


class LoginRequest(RequestModel):
    """`username` or `email` (either field accepts either); `username` wins when both are sent."""

    model_config = example(
        {"username": "admin", "password": "correct-horse-battery"},
        anyOf=[
            {"required": [name], "properties": {name: {"type": "string"}}}
            for name in ("username", "email")
        ],
    )

    username: LoginName | None = None
    email: LoginName | None = None
    password: LoginPassword

    @model_validator(mode="after")
    def _name_or_email(self) -> LoginRequest:
        if self.username is None and self.email is None:
            raise ValueError("send a username or an email")
        return self

    @property
    def login(self) -> str:
        # `_name_or_email` guarantees one of the two.
        return self.username or self.email or ""


class LoginResponse(BaseModel):
    message: str
    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"
    user: UserOut


class AccessTokenResponse(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"


class RefreshRequest(RequestModel):
    refresh_token: Token


class TokenPairResponse(BaseModel):
    access_token: str
    refresh_token: str


class LogoutRequest(RequestModel):
    refresh_token: Token | None = None


class VerifyResponse(BaseModel):
    valid: Literal[True] = True
    user: UserOut
