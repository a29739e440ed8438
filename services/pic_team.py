from __future__ import annotations

from core.enums import AuditAction, AuditResource
from models.pic_team import PicTeam
from repositories.pic_team import PicTeamRepository
from services.taxonomy import TaxonomyAuditActions, TaxonomyService


class PicTeamService(TaxonomyService[PicTeam]):
    noun = "PIC team"
    repository_class = PicTeamRepository
    job_field = "pic_team"
    audit_resource = AuditResource.PIC_TEAM
    audit_actions = TaxonomyAuditActions(
        AuditAction.PIC_TEAM_CREATED, AuditAction.PIC_TEAM_UPDATED, AuditAction.PIC_TEAM_DISABLED
    )
