"""``dampwatch up`` generates the contact-details key into the stack's secrets and
settings file, keeps it across restarts (a new key would make stored details
unreadable), and the services' settings give a working cipher."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from backend.tenants import ContactCipher
from dampwatch.stack.local import TENANT_DATA_KEY, LocalStack, StackPorts
from dampwatch_core.settings import load_settings


def test_the_stack_makes_and_keeps_the_key(tmp_path: Path) -> None:
    def configure() -> tuple[str, ContactCipher]:
        stack = LocalStack(tmp_path / "stack", StackPorts.free())
        stack.state_dir.mkdir(parents=True, exist_ok=True)
        stack._secrets = stack._load_secrets()
        stack._write_settings()
        secrets = json.loads((stack.state_dir / "secrets.json").read_text())
        assert stat.S_IMODE((stack.state_dir / "secrets.json").stat().st_mode) == 0o600
        settings = load_settings(stack.settings_file, environ={})
        return secrets[TENANT_DATA_KEY], ContactCipher.from_settings(settings)

    key, cipher = configure()
    token = cipher.encrypt("+447400123456")
    again, cipher_after_restart = configure()
    assert again == key
    assert cipher_after_restart.decrypt(token) == "+447400123456"
