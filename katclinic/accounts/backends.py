from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.http import HttpRequest

from katclinic.accounts.models import User
from katclinic.lib import rows


class EmailBackend(ModelBackend):
    """Sign in by email, case-insensitively."""

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> User | None:
        email = (kwargs.get("email") or username or "").strip().lower()
        if not email or password is None:
            return None
        try:
            user = User.objects.get(email__iexact=email)
        except User.DoesNotExist:
            # Spend the same time as a real check so timing does not reveal accounts.
            User().set_password(password)
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None

    def get_user(self, user_id: Any) -> User | None:
        """The signed-in user of a request: ``ModelBackend.get_user`` as one plain query,
        since every signed-in page asks it (see katclinic.lib.rows)."""
        try:
            key = int(user_id)
        except (TypeError, ValueError):
            return None
        sql = f"SELECT {rows.columns(User, 'u')} FROM {rows.table(User)} u WHERE u.id = %s"  # noqa: S608
        row = rows.fetch_one(User, sql, [key])
        if row is None:
            return None
        user = rows.hydrate(User, row)
        return user if self.user_can_authenticate(user) else None
