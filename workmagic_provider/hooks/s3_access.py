"""Writing to WorkMagic's S3 bucket as WorkMagic's role, through the amazon provider.

WorkMagic trusts one IAM user ARN: the customer's AWS connection (``aws_conn_id``) holds that
user's keys, and every write assumes WorkMagic's role with the External ID. The S3 hook built
here lets the provider's own session factory do the AssumeRole (and refresh the credentials),
and uses only the amazon hook's public API: the hook arguments and the public ``conn_config``
of a hook on the customer's connection, never the provider's private attributes.

boto3 and the amazon provider are imported only when the hook class is first built.
"""

from __future__ import annotations

from functools import cached_property, lru_cache
from typing import TYPE_CHECKING, Any

from workmagic_provider.exceptions import MissingExtraError, WorkMagicConfigError

if TYPE_CHECKING:
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook

    from workmagic_provider.hooks.settings import WorkMagicSettings


def error_code(err: BaseException) -> str:
    """The AWS error code of a botocore ``ClientError`` (``""`` for anything else)."""
    response = getattr(err, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", "") or "")
    return ""


def assume_role_denied_message(settings: WorkMagicSettings, code: str = "AccessDenied") -> str:
    """WorkMagic's troubleshooting advice for a refused AssumeRole (no secret in it)."""
    return (
        f"Access Denied when assuming WorkMagic's role {settings.role_arn}: check role "
        f"assumption + External ID. The External ID on connection {settings.conn_id!r} must be "
        "the one WorkMagic issued with this role, and the IAM user of aws_conn_id "
        f"{settings.aws_conn_id!r} must be the user ARN you registered with WorkMagic ({code})."
    )


def workmagic_s3_hook(settings: WorkMagicSettings, **s3_hook_kwargs: Any) -> S3Hook:
    """An ``S3Hook`` that writes as WorkMagic's role (see :func:`workmagic_s3_hook_class`)."""
    return workmagic_s3_hook_class()(settings=settings, **s3_hook_kwargs)


@lru_cache(maxsize=1)
def workmagic_s3_hook_class() -> type[S3Hook]:
    """Build (once) the ``S3Hook`` subclass that assumes WorkMagic's role.

    Defined lazily so that importing this module does not import boto3.
    """
    try:
        from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook
        from airflow.providers.amazon.aws.hooks.s3 import S3Hook
        from airflow.providers.amazon.aws.utils.connection_wrapper import AwsConnectionWrapper
        from botocore.exceptions import ClientError
    except ImportError as err:
        raise MissingExtraError("apache-airflow-providers-amazon", "amazon") from err

    class WorkMagicS3Hook(S3Hook):
        """``S3Hook`` on the customer's AWS connection that assumes WorkMagic's role.

        ``conn_config`` is the customer's connection (``aws_conn_id``: keys, ``endpoint_url``,
        ``service_config``, botocore settings) with WorkMagic's ``role_arn``, ``ExternalId`` and
        region put in. ``caller`` is a plain STS hook on the customer's connection with the same
        ``region_name``/``verify``/``config`` arguments: its public ``conn_config`` is what the
        provider makes of them, and it answers "who am I" before any role is assumed.
        """

        def __init__(self, *, settings: WorkMagicSettings, **kwargs: Any) -> None:
            self.workmagic_settings = settings
            kwargs["region_name"] = kwargs.get("region_name") or settings.region
            super().__init__(aws_conn_id=settings.aws_conn_id, **kwargs)
            self.caller = AwsBaseHook(
                aws_conn_id=settings.aws_conn_id,
                client_type="sts",
                region_name=kwargs["region_name"],
                verify=kwargs.get("verify"),
                config=kwargs.get("config"),
            )

        @property
        def base_conn_config(self) -> AwsConnectionWrapper:
            """The customer's own AWS connection, as the amazon provider reads it."""
            return self.caller.conn_config

        @cached_property
        def conn_config(self) -> AwsConnectionWrapper:
            wm = self.workmagic_settings
            base = self.base_conn_config
            if base.role_arn:
                raise WorkMagicConfigError(
                    f"AWS connection {self.aws_conn_id!r} (aws_conn_id of connection "
                    f"{wm.conn_id!r}) assumes role {base.role_arn} itself. WorkMagic trusts the "
                    "IAM user ARN you registered with it: point aws_conn_id at a connection with "
                    "that user's keys (or none, to use the default credential chain)."
                )
            extra = dict(base.extra_config)
            for key in ("role_arn", "assume_role_method", "assume_role_kwargs"):
                extra.pop(key, None)
            extra.update(
                region_name=base.region_name,
                role_arn=wm.role_arn,
                assume_role_method="assume_role",
                assume_role_kwargs={
                    "ExternalId": wm.external_id,
                    "RoleSessionName": wm.role_session_name,
                },
            )
            conn_id = base.conn_id if isinstance(base.conn_id, str) else self.aws_conn_id
            merged = AwsConnectionWrapper.from_connection_metadata(
                conn_id=conn_id, login=base.login, password=base.password, extra=extra
            )
            # The base wrapper already applied the hook arguments over the connection's extras.
            return AwsConnectionWrapper(
                conn=merged,
                region_name=base.region_name,
                botocore_config=base.botocore_config,
                verify=base.verify,
            )

        @property
        def credential_secrets(self) -> tuple[str, ...]:
            """The customer's AWS secrets (for redacting messages)."""
            base = self.base_conn_config
            values = (base.password, base.aws_secret_access_key, base.aws_session_token)
            return tuple(v for v in values if v)

        def get_session(self, region_name: str | None = None, deferrable: bool = False) -> Any:
            """The provider's session; a refused AssumeRole becomes an error that says why."""
            try:
                return super().get_session(region_name=region_name, deferrable=deferrable)
            except ClientError as err:
                if err.operation_name != "AssumeRole":
                    raise
                raise WorkMagicConfigError(
                    assume_role_denied_message(self.workmagic_settings, error_code(err) or "?")
                ) from err

    WorkMagicS3Hook.__module__ = __name__
    WorkMagicS3Hook.__qualname__ = "WorkMagicS3Hook"
    return WorkMagicS3Hook


__all__ = [
    "assume_role_denied_message",
    "error_code",
    "workmagic_s3_hook",
    "workmagic_s3_hook_class",
]
