"""Encryption of backup files: the age format, and reading the format it replaced.

Backups are encrypted in the **age** format (age-encryption.org/v1, specified at
https://age-encryption.org/v1) through `pyrage`, the Python binding of the `rage`
implementation. The choice, over the AES-256-GCM container this project wrote before:

- a published format with independent implementations: the standard `age` command (in
  most distributions) decrypts a clinic's backup without this code, which matters most on
  the day this code cannot be run;
- the payload is encrypted in 64 KiB chunks (the STREAM construction, ChaCha20-Poly1305),
  each authenticated before its plaintext is released, with the last chunk marked, so a
  truncated or altered file fails wherever the damage is, and there is no single-nonce
  size limit;
- public-key encryption (X25519): the server that takes backups can hold only the public
  key (a key file holding just the `age1...` line), so a stolen server does not open the
  backups already taken; the secret key (`AGE-SECRET-KEY-1...`) is needed only to restore.

A key file is what `age-keygen` writes: comment lines, then either the secret key or the
public key. Files written by `manage.py backup --generate-key` before this format hold
32 random bytes in base64; they still decrypt the backups they encrypted (AES-256-GCM,
header `KATCLINIC-BACKUP-AES256GCM-1`), and a new backup with one is refused with the
steps to make an age key.
"""

from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import pyrage
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from django.utils import timezone

CHUNK = 1 << 20
AGE_SUFFIX = ".age"
LEGACY_SUFFIX = ".enc"
# The format before age: MAGIC, a 12-byte nonce, the AES-256-GCM ciphertext, a 16-byte tag.
LEGACY_MAGIC = b"KATCLINIC-BACKUP-AES256GCM-1\n"
LEGACY_NONCE_BYTES = 12
LEGACY_TAG_BYTES = 16
AGE_CIPHER = "age X25519"
LEGACY_CIPHER = "AES-256-GCM"


class BackupError(Exception):
    """A backup or restore cannot go on; the message says why and what to do."""


@dataclass(frozen=True)
class BackupKey:
    """What one key file holds. `recipient` encrypts; `identity` (when present) decrypts;
    `legacy` is the AES key of a key file from before the age format."""

    source: str
    recipient: pyrage.x25519.Recipient | None = None
    identity: pyrage.x25519.Identity | None = None
    legacy: bytes | None = None

    @property
    def public(self) -> str:
        return str(self.recipient) if self.recipient is not None else ""


def generate_key_text() -> str:
    """A new key file's content, laid out as `age-keygen` lays it out."""
    identity = pyrage.x25519.Identity.generate()
    return (
        f"# created: {timezone.now().replace(microsecond=0).isoformat()}\n"
        f"# public key: {identity.to_public()}\n"
        f"{identity}\n"
    )


def _key_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines()]
    keys = [line for line in lines if line and not line.startswith("#")]
    if len(keys) != 1:
        raise BackupError("expected exactly one key line (comments start with #)")
    return keys[0]


def _parse(line: str, source: str) -> BackupKey:
    if line.startswith("AGE-SECRET-KEY-1"):
        identity = pyrage.x25519.Identity.from_str(line)
        return BackupKey(source, recipient=identity.to_public(), identity=identity)
    if line.startswith("age1"):
        return BackupKey(source, recipient=pyrage.x25519.Recipient.from_str(line))
    legacy = base64.urlsafe_b64decode(line)
    if len(legacy) != 32:
        raise ValueError("not a key")
    return BackupKey(source, legacy=legacy)


def load_key(path: str | Path) -> BackupKey:
    """Read a key file; a file that holds no usable key raises `BackupError` naming it."""
    try:
        text = Path(path).read_text()
    except OSError as exc:
        raise BackupError(f"cannot read the backup key from {path}: {exc}") from exc
    try:
        return _parse(_key_line(text), str(path))
    except (BackupError, ValueError, pyrage.IdentityError, pyrage.RecipientError) as exc:
        raise BackupError(
            f"{path} does not hold a backup key (an age secret key AGE-SECRET-KEY-1..., "
            f"an age public key age1..., or an older 32-byte base64 key): {exc}"
        ) from exc


def legacy_key_id(key: bytes) -> str:
    """The short name older manifests give their AES key, to say "wrong key" safely."""
    return hashlib.sha256(b"katclinic backup key id|" + key).hexdigest()[:16]


class HashingReader:
    """Reads from `source`, hashing what passes (the content's SHA-256)."""

    def __init__(self, source: IO[bytes]) -> None:
        self.source = source
        self.digest = hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        data = self.source.read(size if size and size > 0 else CHUNK)
        self.digest.update(data)
        return data

    def readable(self) -> bool:
        return True


class HashingWriter:
    """Writes to a new file, hashing the bytes stored; `close()` syncs it to disk."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.file = open(path, "xb")  # noqa: SIM115 - closed in close()
        self.digest = hashlib.sha256()

    def write(self, data: bytes) -> int:
        self.digest.update(data)
        return self.file.write(data)

    def flush(self) -> None:
        self.file.flush()

    def writable(self) -> bool:
        return True

    def close(self) -> None:
        self.file.flush()
        os.fsync(self.file.fileno())
        self.file.close()


def require_recipient(key: BackupKey | None) -> None:
    """Refuse, before any work, a key that cannot encrypt a new backup."""
    if key is not None and key.recipient is None:
        raise BackupError(
            f"{key.source} holds a key from before the age format, which encrypts no new "
            "backups: write a new one with `manage.py backup --generate-key PATH`, point "
            "BACKUP_KEY_FILE at it, and keep the old file to restore older backups"
        )


def store(path: Path, source: IO[bytes], key: BackupKey | None) -> dict[str, int | str]:
    """Write `source` to `path` (age-encrypted to the key's public key when given) and
    return its size and the SHA-256 of both the content and the stored bytes."""
    require_recipient(key)
    reader = HashingReader(source)
    writer = HashingWriter(path)
    try:
        if key is not None and key.recipient is not None:
            pyrage.encrypt_io(reader, writer, [key.recipient])
        else:
            while chunk := reader.read(CHUNK):
                writer.write(chunk)
    finally:
        writer.close()
    return {
        "bytes": path.stat().st_size,
        "sha256": writer.digest.hexdigest(),
        "content_sha256": reader.digest.hexdigest(),
    }


def encryption_record(key: BackupKey | None) -> dict[str, str] | None:
    """What a manifest says about its encryption: nothing secret, enough to pick the key."""
    if key is None:
        return None
    return {"cipher": AGE_CIPHER, "recipient": key.public}


def check_key_fits(encryption: dict[str, str], key: BackupKey | None) -> None:
    """Refuse, naming the reason, a key that cannot open a backup with this encryption."""
    if key is None:
        raise BackupError("this backup is encrypted: give --key-file or BACKUP_KEY_FILE")
    if encryption.get("cipher") == LEGACY_CIPHER:
        if key.legacy is None or legacy_key_id(key.legacy) != encryption.get("key_id"):
            raise BackupError("this backup was encrypted with a different key")
        return
    if encryption.get("cipher") != AGE_CIPHER:
        raise BackupError(f"unknown backup encryption {encryption.get('cipher')!r}")
    if key.public != encryption.get("recipient"):
        raise BackupError("this backup was encrypted with a different key")
    if key.identity is None:
        raise BackupError(
            f"{key.source} holds only the public key; restoring needs the secret key "
            "(the AGE-SECRET-KEY-1... line)"
        )


def decrypt(source: Path, dest: Path, encryption: dict[str, str], key: BackupKey) -> None:
    """Decrypt to `dest`; a wrong key or an altered file raises before `dest` is trusted."""
    check_key_fits(encryption, key)
    if key.legacy is not None and encryption.get("cipher") == LEGACY_CIPHER:
        _decrypt_legacy(source, dest, key.legacy)
        return
    identity = key.identity
    if identity is None:  # check_key_fits refused it already; this keeps the types honest
        raise BackupError(f"{key.source} holds only the public key")
    with open(source, "rb") as src, open(dest, "xb") as out:
        try:
            pyrage.decrypt_io(src, out, [identity])
        except (OSError, pyrage.DecryptError) as exc:
            raise BackupError(
                f"{source.name} failed authentication: wrong key, or the file was altered"
            ) from exc


def _decrypt_legacy(source: Path, dest: Path, key: bytes) -> None:
    size = source.stat().st_size
    with open(source, "rb") as src, open(dest, "xb") as out:
        header = src.read(len(LEGACY_MAGIC) + LEGACY_NONCE_BYTES)
        if not header.startswith(LEGACY_MAGIC) or size < len(header) + LEGACY_TAG_BYTES:
            raise BackupError(f"{source.name} is not an encrypted KAT Clinic backup")
        src.seek(size - LEGACY_TAG_BYTES)
        tag = src.read(LEGACY_TAG_BYTES)
        src.seek(len(header))
        nonce = header[len(LEGACY_MAGIC) :]
        decryptor = Cipher(algorithms.AES(key), modes.GCM(nonce, tag)).decryptor()
        decryptor.authenticate_additional_data(LEGACY_MAGIC)
        remaining = size - len(header) - LEGACY_TAG_BYTES
        while remaining:
            chunk = src.read(min(CHUNK, remaining))
            remaining -= len(chunk)
            out.write(decryptor.update(chunk))
        try:
            out.write(decryptor.finalize())
        except InvalidTag as exc:
            raise BackupError(
                f"{source.name} failed authentication: wrong key, or the file was altered"
            ) from exc
