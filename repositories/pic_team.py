from __future__ import annotations

from models.pic_team import PicTeam
from repositories.taxonomy import TaxonomyRepository


class PicTeamRepository(TaxonomyRepository[PicTeam]):
    model = PicTeam
