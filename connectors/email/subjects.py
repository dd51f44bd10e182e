"""Subject lines: the ticket numbers they carry and their reply/forward prefixes."""

from __future__ import annotations

import re

# Re, Fwd, Fw, Aw/Wg (German), Sv/Vs (Nordic), Tr (French), RV (Spanish), 회신/답장/답변/전달
# (Korean Outlook, Naver, Daum), 返信/转发/回复; optionally numbered "Re[2]:" / "Re(2):", with an
# ASCII or full-width colon.
_PREFIX = re.compile(
    r"^\s*(?:(?:re|fwd?|aw|wg|sv|vs|tr|rv|회신|답장|답변|전달|返信|转发|回复|轉寄)"
    r"\s*(?:\[\d{1,3}\]|\(\d{1,3}\))?\s*[:：]\s*)+",
    re.I,
)
_TICKET_TOKEN = re.compile(r"\[\s*#\s*(\d{1,18})\s*\]")


def ticket_numbers_in_subject(subject: str) -> list[int]:
    """Ticket numbers from ``[#12345]`` tokens anywhere in the subject (so also after
    ``Re:``/``RE:``/``Fwd:``/``회신:``/``답장:``/``전달:`` prefixes), in order, without duplicates.
    """
    return list(dict.fromkeys(int(number) for number in _TICKET_TOKEN.findall(subject)))


def strip_reply_prefixes(subject: str) -> str:
    """The subject without its leading reply/forward prefixes, for display:
    ``"RE: 회신: Fwd: [#12] 로그인 오류"`` becomes ``"[#12] 로그인 오류"``."""
    return _PREFIX.sub("", subject).strip()
