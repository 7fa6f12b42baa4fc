from django.core.exceptions import ValidationError
from django.db import models


class MaximumLengthValidator:
    """Long passphrases are welcome; only absurd lengths (a hashing cost attack) are refused."""

    def __init__(self, max_length: int = 256) -> None:
        self.max_length = max_length

    def validate(self, password: str, user: models.Model | None = None) -> None:
        if len(password) > self.max_length:
            raise ValidationError(
                f"This password is longer than {self.max_length} characters.",
                code="password_too_long",
            )

    def get_help_text(self) -> str:
        return f"Use up to {self.max_length} characters; a long passphrase is good."
