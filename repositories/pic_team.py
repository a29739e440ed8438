from __future__ import annotations

from models.pic_team import PicTeam
from repositories.taxonomy import TaxonomyRepository
from schemas.pic_team import PicTeamCreate, PicTeamUpdate


class PicTeamRepository(TaxonomyRepository[PicTeam, PicTeamCreate, PicTeamUpdate]):
    model = PicTeam
