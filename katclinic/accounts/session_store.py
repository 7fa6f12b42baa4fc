"""Django's database sessions, with the per-request read as one plain query.

Every signed-in page reads its session row; the ORM's ``objects.get`` costs several times
the query itself (see katclinic.lib.rows). Writes, expiry and key handling are Django's.
"""

from __future__ import annotations

from django.contrib.sessions.backends import db
from django.contrib.sessions.models import Session

from katclinic.lib import rows


class SessionStore(db.SessionStore):
    def _get_session_from_db(self) -> Session | None:
        key = self.session_key  # None unless the cookie's key passed Django's key validation
        if key is not None:
            sql = f"SELECT {rows.columns(Session, 's')} FROM {rows.table(Session)} s WHERE s.session_key = %s AND s.expire_date > %s"  # noqa: S608
            row = rows.fetch_one(Session, sql, [key, rows.now_param(Session)])
            if row is not None:
                return rows.hydrate(Session, row)
        self._session_key = None
        return None
