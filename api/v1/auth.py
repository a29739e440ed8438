from __future__ import annotations

from typing import Annotated

from fastapi import Body, Form, status

from api.deps import (
    AdminUser,
    AuthServiceDep,
    ClientAddress,
    CurrentUser,
    SessionClaims,
    UserServiceDep,
)
from api.openapi import error_responses
from api.routing import ApiRouter
from schemas.auth import (
    NO_NUL_PATTERN,
    AccessTokenResponse,
    LoginRequest,
    LoginResponse,
    LogoutRequest,
    RefreshRequest,
    TokenPairResponse,
    VerifyResponse,
)
from schemas.common import MessageResponse
from schemas.user import UserCreate, UserOut, UserRegisteredResponse

router = ApiRouter(prefix="/auth", tags=["auth"])

_LOGIN_ERRORS = error_responses(
    401,
    403,
    429,
    descriptions={
        401: "Wrong username/email or password (the same answer whether the user exists or not)",
        403: "The account is deactivated",
        429: "Too many failed logins for this account or from this address",
    },
)


@router.post(
    "/login",
    summary="Log in with a username or an email",
    response_model=LoginResponse,
    responses=_LOGIN_ERRORS,
)
async def login(
    body: LoginRequest,
    auth: AuthServiceDep,
    client_address: ClientAddress,
) -> LoginResponse:
    result = await auth.login(body.login, body.password.get_secret_value(), client_address)
    return LoginResponse(
        message="Login successful",
        access_token=result.tokens.access.token,
        refresh_token=result.tokens.refresh.token,
        user=UserOut.model_validate(result.user),
    )


@router.post(
    "/login/form",
    summary="Log in with the OAuth2 password form (Swagger's Authorize button)",
    description="Same rules as `POST /login`; answers with an access token only.",
    response_model=AccessTokenResponse,
    responses=_LOGIN_ERRORS,
)
async def login_form(
    username: Annotated[str, Form(min_length=1, max_length=120, pattern=NO_NUL_PATTERN)],
    password: Annotated[
        str, Form(min_length=1, max_length=256, json_schema_extra={"format": "password"})
    ],
    auth: AuthServiceDep,
    client_address: ClientAddress,
    grant_type: Annotated[str | None, Form(pattern="^password$")] = None,
) -> AccessTokenResponse:
    access = await auth.login_for_access_token(username, password, client_address)
    return AccessTokenResponse(access_token=access.token)


@router.post(
    "/refresh",
    summary="Exchange a refresh token for a new access and refresh token",
    description=(
        "The refresh token sent stops working (rotation). Sending one that was already used "
        "revokes every refresh token of its user."
    ),
    response_model=TokenPairResponse,
    responses=error_responses(401, descriptions={401: "Invalid, expired or revoked token"}),
)
async def refresh(
    body: RefreshRequest,
    auth: AuthServiceDep,
) -> TokenPairResponse:
    tokens = await auth.refresh(body.refresh_token)
    return TokenPairResponse(access_token=tokens.access.token, refresh_token=tokens.refresh.token)


@router.post(
    "/logout",
    summary="Log out: revoke this access token and, when sent, a refresh token",
    response_model=MessageResponse,
    responses=error_responses(401, 403, descriptions={403: "Called with an API key"}),
)
async def logout(
    user: CurrentUser,
    claims: SessionClaims,
    auth: AuthServiceDep,
    body: Annotated[LogoutRequest | None, Body()] = None,
) -> MessageResponse:
    refresh_token = body.refresh_token if body is not None else None
    await auth.logout(user, claims, refresh_token)
    return MessageResponse(message="Logged out")


@router.get(
    "/me",
    summary="The current user",
    response_model=UserOut,
    responses=error_responses(401),
)
async def me(user: CurrentUser) -> UserOut:
    return UserOut.model_validate(user)


@router.get(
    "/verify",
    summary="Check an access token",
    response_model=VerifyResponse,
    responses=error_responses(401),
)
async def verify(user: CurrentUser) -> VerifyResponse:
    return VerifyResponse(user=UserOut.model_validate(user))


@router.post(
    "/register",
    summary="Create a user (admin)",
    status_code=status.HTTP_201_CREATED,
    response_model=UserRegisteredResponse,
    responses=error_responses(
        401, 403, 409, descriptions={409: "The username or the email is taken"}
    ),
)
async def register(
    body: UserCreate, _admin: AdminUser, users: UserServiceDep
) -> UserRegisteredResponse:
    user = await users.register(body)
    return UserRegisteredResponse(
        message="User registered successfully", user=UserOut.model_validate(user)
    )
