"""``dampwatch up`` points the Notify client at its stand-in: the settings file and the
stand-in's config agree (service id, secret, template ids, callback tokens), and the
ids are kept across restarts."""

from __future__ import annotations

from pathlib import Path

from dampwatch.stack.local import LocalStack, StackPorts
from dampwatch.stack.notify_standin import load_config
from dampwatch_core.settings import load_settings


def test_the_stack_configures_client_and_standin_alike(tmp_path: Path) -> None:
    def configure() -> tuple[LocalStack, Path]:
        stack = LocalStack(tmp_path / "stack", StackPorts.free())
        stack.state_dir.mkdir(parents=True, exist_ok=True)
        stack._secrets = stack._load_secrets()
        stack._write_settings()
        return stack, stack._write_notify_config()

    stack, config = configure()
    settings = load_settings(stack.settings_file, environ={})
    standin = load_config(config)
    key = settings.notify_api_key.get_secret_value()  # type: ignore[union-attr]
    assert key[-73:-37] == standin.service_id and key[-36:] == standin.secret
    assert settings.notify_base_url == stack.notify_url
    ids = {
        settings.notify_sms_template_id: "sms",
        settings.notify_letter_template_id: "letter",
        settings.notify_email_template_id: "email",
    }
    assert {t.id: t.type for t in standin.templates.values()} == ids
    assert standin.status_callback_token == settings.notify_status_token.get_secret_value()  # type: ignore[union-attr]
    assert standin.inbound_callback_url == f"{stack.api_url}/api/v1/callbacks/notify/inbound"
    assert standin.auto_deliver
    again, _ = configure()
    assert load_settings(again.settings_file, environ={}).notify_api_key == settings.notify_api_key
