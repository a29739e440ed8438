"""Schemathesis hooks for the contract test (tests/test_openapi_contract.py), loaded by the
`schemathesis` CLI it runs: every request carries a fresh access token of the seeded admin
(a generated logout revokes the token it carries, so none is reused), and generated email
addresses are ones a mail system accepts.

Configured from the environment the test sets: CONTRACT_ADMIN_ID and JWT_SECRET_KEY.
"""

from __future__ import annotations

import os
import uuid
from typing import Any

import schemathesis
from hypothesis import strategies as st

from core.clock import utcnow
from core.config import Settings
from core.security import create_access_token

_ADMIN_ID = uuid.UUID(os.environ["CONTRACT_ADMIN_ID"])
_SETTINGS = Settings(_env_file=None, jwt_secret_key=os.environ["JWT_SECRET_KEY"])

# `format: email` also admits reserved domains such as `x@y.test`, which the API refuses (422)
# as email-validator does.
# Built from parts rather than drawn from a regex: the coverage phase draws many of them.
_WORD = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=10)
schemathesis.openapi.format(
    "email",
    st.builds("{}.{}@{}.{}".format, _WORD, _WORD, _WORD, st.sampled_from(["com", "org", "net"])),
)


@schemathesis.auth(refresh_interval=None)
class FreshAdminToken:
    def get(self, case: schemathesis.Case[Any], context: Any) -> str:
        return create_access_token(_ADMIN_ID, _SETTINGS, utcnow()).token

    def set(self, case: schemathesis.Case[Any], data: str, context: Any) -> None:
        case.headers["Authorization"] = f"Bearer {data}"
