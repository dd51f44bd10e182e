"""Parsing a fetched batch of mail, in another process while the fetcher stores.

Parsing needs no database, and it is the costliest step of email ingest on one core: chunks
of a batch are handed to a parser process (``HELPDESK_EMAIL_PARSE_PROCESSES``) while the
fetcher's transaction stores the chunks before them. A parser process that dies only means
parsing in the fetcher until the next restart.
"""

from __future__ import annotations

import logging
import multiprocessing
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import BrokenExecutor, Future, ProcessPoolExecutor

from flask import current_app

from connectors.email import EmailParseError, ParsedEmail
from connectors.email.parse import parse_many

log = logging.getLogger(__name__)

ParseOutcome = ParsedEmail | EmailParseError
PARSE_CHUNK = 20  # messages per parse job: the first chunk is parsed here, the rest meanwhile
_parsers: ProcessPoolExecutor | None = None
_parsers_lock = threading.Lock()


def _parser_pool() -> ProcessPoolExecutor | None:
    """The processes that parse mail beside the fetcher (``HELPDESK_EMAIL_PARSE_PROCESSES``),
    started on first use. A fresh interpreter each (forkserver), not a fork of this
    threaded process."""
    global _parsers
    processes = current_app.config["HELPDESK"].email_parse_processes
    if processes <= 0:
        return None
    with _parsers_lock:
        if _parsers is None:
            context = multiprocessing.get_context("forkserver")
            _parsers = ProcessPoolExecutor(max_workers=processes, mp_context=context)
        return _parsers


def parsed_chunks(
    fetched: Sequence[tuple[int, bytes]],
) -> Iterator[list[tuple[int, bytes, ParseOutcome]]]:
    """``fetched`` parsed, chunk by chunk in order. With a parser pool, every chunk but the
    first is handed to it at once, and the first is parsed here meanwhile; a pool that fails
    (a killed process) only means parsing here."""
    max_bytes = current_app.config["HELPDESK"].email_max_bytes
    chunks = [list(fetched[i : i + PARSE_CHUNK]) for i in range(0, len(fetched), PARSE_CHUNK)]
    pool = _parser_pool() if len(chunks) > 1 else None
    jobs: list[Future[list[ParsedEmail | str]] | None] = [None]
    if pool is not None:
        try:
            jobs += [pool.submit(parse_many, [raw for _, raw in c], max_bytes) for c in chunks[1:]]
        except BrokenExecutor:
            _forget_pool()
    for chunk, job in zip(chunks, jobs + [None] * (len(chunks) - len(jobs)), strict=True):
        outcomes: list[ParsedEmail | str] | None = None
        if job is not None:
            try:
                outcomes = job.result()
            except BrokenExecutor:
                _forget_pool()
        if outcomes is None:
            outcomes = parse_many([raw for _, raw in chunk], max_bytes)
        yield [(uid, raw, _outcome(o)) for (uid, raw), o in zip(chunk, outcomes, strict=True)]


def _forget_pool() -> None:
    global _parsers
    log.warning("the email parser process failed; parsing in the fetcher until a restart")
    with _parsers_lock:
        if _parsers is not None:
            _parsers.shutdown(wait=False, cancel_futures=True)
        _parsers = None


def parse_one(raw: bytes) -> ParseOutcome:
    max_bytes = current_app.config["HELPDESK"].email_max_bytes
    return _outcome(parse_many([raw], max_bytes)[0])


def _outcome(parsed: ParsedEmail | str) -> ParseOutcome:
    """``parse_many``'s answer for one message, a refusal as the error it stands for."""
    return EmailParseError(parsed) if isinstance(parsed, str) else parsed
