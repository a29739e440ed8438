from __future__ import annotations

from models.pic_team import PicTeam
from repositories.pic_team import PicTeamRepository
from services.taxonomy import TaxonomyService


class PicTeamService(TaxonomyService[PicTeam]):
    noun = "PIC team"
    repository_class = PicTeamRepository
    job_field = "pic_team"
