from __future__ import annotations

from api.v1.taxonomies import Taxonomy, taxonomy_router
from schemas.pic_team import PIC_TEAM_RESPONSES, PicTeamCreate, PicTeamUpdate
from services.pic_team import PicTeamService

router = taxonomy_router(
    Taxonomy(
        prefix="/pic-teams",
        tag="pic teams",
        service=PicTeamService,
        create_schema=PicTeamCreate,
        update_schema=PicTeamUpdate,
        responses=PIC_TEAM_RESPONSES,
        singular="PIC team",
        plural="PIC teams",
        message_noun="PIC team",
        handler_noun=("team", "teams"),
        id_name="team_id",
        rename_summary="Rename a PIC team or change its Slack handle",
    )
)
