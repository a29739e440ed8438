"""Every model, imported here so `Base.metadata` is complete for Alembic and the tests."""

from models.api_key import ApiKey
from models.audit_entry import AuditEntry
from models.base import Base
from models.job import Job
from models.job_category import GENERAL_CATEGORY_SLUG, JobCategory
from models.job_execution import JobExecution
from models.job_execution_hourly import JobExecutionHourly
from models.login_attempt import LoginAttempt
from models.notification import Notification
from models.notification_delivery import NotificationDelivery
from models.pic_team import PicTeam
from models.refresh_token import RefreshToken
from models.revoked_token import RevokedToken
from models.slack_settings import SlackSettings
from models.user import User
from models.user_preferences import UserNotificationPreferences, UserUiPreferences

__all__ = [
    "GENERAL_CATEGORY_SLUG",
    "ApiKey",
    "AuditEntry",
    "Base",
    "Job",
    "JobCategory",
    "JobExecution",
    "JobExecutionHourly",
    "LoginAttempt",
    "Notification",
    "NotificationDelivery",
    "PicTeam",
    "RefreshToken",
    "RevokedToken",
    "SlackSettings",
    "User",
    "UserNotificationPreferences",
    "UserUiPreferences",
]
