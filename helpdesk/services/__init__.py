"""The service layer: the one place where Dangol's rules live.

Every write goes through a function here: it validates, checks permissions, writes in one
transaction (``transaction.transaction``) and publishes domain events that are delivered after
the commit. Pages, the REST API, Socket.IO handlers, the CLI and connectors only call these.
"""
