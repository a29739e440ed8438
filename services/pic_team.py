from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from models.pic_team import PicTeam
from repositories.pic_team import PicTeamRepository
from services.taxonomy import TaxonomyService


class PicTeamService(TaxonomyService[PicTeam]):
    noun = "PIC team"
    job_field = "pic_team"

    def __init__(self, session: AsyncSession) -> None:
        super().__init__(session, PicTeamRepository(session))
