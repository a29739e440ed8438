from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field, StringConstraints, field_validator

from schemas.common import example
from schemas.taxonomy import TaxonomyCreate, TaxonomyRead, TaxonomyResponses, TaxonomyUpdate
from schemas.text import storable_text

SlackHandle = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=255),
    AfterValidator(storable_text),
]
SLACK_HANDLE_DESCRIPTION = "Mentioned in failure alerts, e.g. `@devops-team`; never empty."


class PicTeamCreate(TaxonomyCreate):
    model_config = example({"name": "Data Platform", "slack_handle": "@data-oncall"})

    slack_handle: SlackHandle = Field(description=SLACK_HANDLE_DESCRIPTION)


class PicTeamUpdate(TaxonomyUpdate):
    model_config = example({"slack_handle": "@data-platform-oncall"})

    slack_handle: SlackHandle | None = Field(default=None, description=SLACK_HANDLE_DESCRIPTION)

    @field_validator("slack_handle", mode="before")
    @classmethod
    def _handle_not_null(cls, value: object) -> object:
        if value is None:
            raise ValueError("may not be null; leave the field out to keep it")
        return value


class PicTeamRead(TaxonomyRead):
    slack_handle: str


PIC_TEAM_RESPONSES = TaxonomyResponses.of(
    PicTeamRead, schema_name="PicTeam", list_key="pic_teams", item_key="pic_team"
)
