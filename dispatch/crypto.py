"""Encryption at rest of the commission's personal data (Fernet: AES-128-CBC + HMAC-SHA256).

Only ``dispatch.commission`` decrypts. A database dump, a backup or a curious DBA sees
tokens, not names or party membership; the key lives in the settings, not in the database.
"""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken
from pydantic import SecretStr

from dispatch.errors import ConfigurationError
from dispatch.settings import DispatchConfig


class PersonalDataCipher:
    """Encrypt and decrypt text with the configured key."""

    def __init__(self, key: SecretStr) -> None:
        self._fernet = Fernet(key.get_secret_value())

    @classmethod
    def from_config(cls, config: DispatchConfig) -> PersonalDataCipher:
        if config.personal_data_key is None:
            raise ConfigurationError("dispatch.personal_data_key is not set: the commission's "
                                     "personal data is stored encrypted; create a key with "
                                     "'fishwatch dispatch keygen'")
        return cls(config.personal_data_key)

    def encrypt(self, text: str) -> str:
        return self._fernet.encrypt(text.encode()).decode()

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken:
            raise ConfigurationError("personal data cannot be decrypted with the configured "
                                     "dispatch.personal_data_key (a different key?)") from None


def generate_key() -> str:
    return Fernet.generate_key().decode()
