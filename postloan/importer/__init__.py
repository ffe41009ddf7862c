"""Bulk import of customers, loans, repayments, statements, valuations and external events.

Pure domain code: parse (``reading``), validate with the row models it is given, insert with core
bulk inserts (``core``) in the caller's transaction. The CLI (``python -m postloanctl import``)
passes the API's input models, so the rules are the same as over REST.
"""

from postloan.importer.core import Importer, ImportFailed, ImportResult, Problem
from postloan.importer.kinds import KINDS, ORDER

__all__ = ["KINDS", "ORDER", "ImportFailed", "ImportResult", "Importer", "Problem"]
