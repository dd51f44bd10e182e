"""The data model. Import from here so that every table is registered on ``Base.metadata``."""

from .audit import AuditEvent
from .base import Base, utcnow
from .canned_reply import CannedReply
from .customer import (
    Customer,
    CustomerIdentity,
    CustomerNote,
    IdentityKind,
    Organization,
    customer_tags,
)
from .customer_event import CustomerEvent
from .email_channel import EmailChannel, EmailQuarantine, TicketEmailThread, TicketParticipant
from .follow import Follow
from .kb import (
    KB_LOCALES,
    ArticleStatus,
    KbArticle,
    KbCategory,
    KbRevision,
    KbTranslation,
    Visibility,
)
from .message import Attachment, Direction, Message, MessageKind
from .notification import Notification, NotificationKind
from .outbox import Outbox, OutboxStatus
from .portal_login import PortalLoginToken
from .saved_view import SavedView
from .search_change import SearchChange
from .sla import NO_DEADLINE, SlaCalendar, SlaPolicy, SlaTarget, TargetKind
from .staff_email import StaffEmail
from .ticket import (
    OPEN_STATUSES,
    PRIORITY_NAMES,
    Channel,
    Counter,
    Priority,
    Status,
    Tag,
    Ticket,
    ticket_tags,
)
from .ticket_read import TicketRead
from .user import ApiToken, Group, Role, User, user_groups

__all__ = [
    "KB_LOCALES",
    "NO_DEADLINE",
    "OPEN_STATUSES",
    "PRIORITY_NAMES",
    "ApiToken",
    "ArticleStatus",
    "Attachment",
    "AuditEvent",
    "Base",
    "CannedReply",
    "Channel",
    "Counter",
    "Customer",
    "CustomerEvent",
    "CustomerIdentity",
    "CustomerNote",
    "Direction",
    "EmailChannel",
    "EmailQuarantine",
    "Follow",
    "Group",
    "IdentityKind",
    "KbArticle",
    "KbCategory",
    "KbRevision",
    "KbTranslation",
    "Message",
    "MessageKind",
    "Notification",
    "NotificationKind",
    "Organization",
    "Outbox",
    "OutboxStatus",
    "PortalLoginToken",
    "Priority",
    "Role",
    "SavedView",
    "SearchChange",
    "SlaCalendar",
    "SlaPolicy",
    "SlaTarget",
    "StaffEmail",
    "Status",
    "Tag",
    "TargetKind",
    "Ticket",
    "TicketEmailThread",
    "TicketParticipant",
    "TicketRead",
    "User",
    "Visibility",
    "customer_tags",
    "ticket_tags",
    "user_groups",
    "utcnow",
]
