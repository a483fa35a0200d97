"""The connection form's Test button: what to register with WorkMagic, and whether it works.

For the destination cloud the check says which identity WorkMagic must trust (the IAM user ARN
behind ``aws_conn_id``, the service account behind ``gcp_conn_id``), then lists the account
folder, writes a small marker object directly under it (never inside an hour folder, so no
upload is touched) and deletes it again. A registered service account that differs from the
real identity fails the check, naming both. Messages never contain keys or the External ID.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from workmagic_provider.exceptions import WorkMagicConfigError
from workmagic_provider.get_provider_info import SERVICE_ACCOUNT_KEY
from workmagic_provider.hooks.s3_access import assume_role_denied_message, error_code
from workmagic_provider.hooks.settings import WorkMagicSettings
from workmagic_provider.redaction import redact

#: Body of the marker object: says who wrote it, should a delete ever fail.
MARKER_BODY = b"Written and deleted by the Test button of an Airflow 'workmagic' connection.\n"

Result = tuple[bool, str]


class _CheckFailed(Exception):
    """One step of the check failed; the message is for the user (redacted by the caller)."""


def _step(what: Callable[[], Any], explain: Callable[[Exception], str]) -> Any:
    try:
        return what()
    except Exception as err:
        raise _CheckFailed(explain(err)) from err


def _empty(found: object) -> str:
    return "not empty" if found else "empty so far"


# --------------------------------------------------------------------------- S3
def check_s3(settings: WorkMagicSettings, s3_hook: Any) -> Result:
    """Identity, AssumeRole, list, put and delete of the marker, as the S3 hook will write."""
    s = settings
    location = f"s3://{s.bucket}/{s.account_prefix}"
    secrets: list[str] = list(s.secrets)
    done: list[str] = []
    try:
        secrets += _step(lambda: s3_hook.credential_secrets, _explain_s3(s, "identity", ""))
        identity = _step(
            lambda: s3_hook.caller.get_conn().get_caller_identity()["Arn"],
            _explain_s3(s, "identity", ""),
        )
        done.append(_identity_line(identity))
        client = _step(s3_hook.get_conn, _explain_s3(s, "assume", location))
        done.append(f"Assumed {s.role_arn} with the External ID (session {s.role_session_name}).")
        page = _step(
            lambda: client.list_objects_v2(Bucket=s.bucket, Prefix=s.account_prefix, MaxKeys=1),
            _explain_s3(s, "list", location),
        )
        done.append(f"Listed {location}: {_empty(page.get('KeyCount'))}.")
        if s.test_object:
            key = s.account_prefix + s.test_object
            _step(
                lambda: client.put_object(Bucket=s.bucket, Key=key, Body=MARKER_BODY),
                _explain_s3(s, "put", f"s3://{s.bucket}/{key}"),
            )
            _step(
                lambda: client.delete_object(Bucket=s.bucket, Key=key),
                _explain_s3(s, "delete", f"s3://{s.bucket}/{key}"),
            )
            done.append(f"Wrote and deleted s3://{s.bucket}/{key}.")
    except _CheckFailed as failed:
        return False, _message(done, str(failed), secrets)
    return True, _message(done, None, secrets)


def _identity_line(arn: str) -> str:
    line = f"Register this IAM user ARN with WorkMagic (Upload order data > Amazon S3): {arn}."
    if ":user/" not in arn:
        line += (
            " It is not an IAM user: WorkMagic trusts an IAM user ARN "
            "(arn:aws:iam::<account>:user/<name>), so give aws_conn_id that user's keys."
        )
    return line


def _explain_s3(s: WorkMagicSettings, stage: str, location: str) -> Callable[[Exception], str]:
    def explain(err: Exception) -> str:
        code = error_code(err)
        name = type(err).__name__
        if isinstance(err, WorkMagicConfigError):
            return str(err)
        if name in ("NoCredentialsError", "PartialCredentialsError"):
            return (
                f"No AWS credentials found for aws_conn_id {s.aws_conn_id!r}: give that "
                "connection the access key of the IAM user whose ARN you registered with "
                "WorkMagic."
            )
        if name in ("EndpointConnectionError", "ConnectTimeoutError", "ConnectionClosedError"):
            return f"Could not reach AWS ({name}): {err}"
        if stage == "identity":
            return (
                f"Could not tell who aws_conn_id {s.aws_conn_id!r} is (STS GetCallerIdentity: "
                f"{code or name}): check that connection's keys."
            )
        if stage == "assume":
            if code.startswith("AccessDenied"):
                return assume_role_denied_message(s, code)
            return f"Could not assume WorkMagic's role {s.role_arn} ({code or name}): {err}"
        denied = code in ("AccessDenied", "403", "Forbidden")
        if code in ("NoSuchBucket", "404") and stage == "list":
            return f"Bucket {s.bucket!r} does not exist: check bucket."
        if stage == "list" and denied:
            return (
                f"Listing {location} was denied: check that account_id {s.account_id} and bucket "
                f"{s.bucket!r} are the ones WorkMagic issued with this role."
            )
        if stage == "put" and denied:
            return (
                f"Writing {location} was denied: WorkMagic's role lets this connection list the "
                "account folder but not write to it. Ask WorkMagic to check the role's "
                "permissions (or set test_object to none to skip this check)."
            )
        if stage == "delete" and denied:
            return (
                f"Deleting {location} was denied, so the marker object stays there: uploads "
                "cannot replace an hour's earlier parts without delete rights. Ask WorkMagic "
                "to check the role's permissions."
            )
        return f"{stage.capitalize()} of {location} failed ({code or name}): {err}"

    return explain


# --------------------------------------------------------------------------- GCS
def check_gcs(settings: WorkMagicSettings, gcs_hook: Any) -> Result:
    """Identity (compared with the registered one), list, put and delete of the marker."""
    s = settings
    location = f"gs://{s.bucket}/{s.account_prefix}"
    done: list[str] = []
    try:
        credentials = _step(gcs_hook.get_credentials, _explain_gcs(s, "identity", ""))
        email = _service_account_of(credentials)
        done.append(_service_account_line(s, email, credentials))
        client = _step(gcs_hook.get_conn, _explain_gcs(s, "identity", ""))
        bucket = client.bucket(s.bucket)
        blobs = _step(
            lambda: list(client.list_blobs(s.bucket, prefix=s.account_prefix, max_results=1)),
            _explain_gcs(s, "list", location),
        )
        done.append(f"Listed {location}: {_empty(blobs)}.")
        if s.test_object:
            key = s.account_prefix + s.test_object
            blob = bucket.blob(key)
            _step(
                lambda: blob.upload_from_string(MARKER_BODY, content_type="text/plain"),
                _explain_gcs(s, "put", f"gs://{s.bucket}/{key}"),
            )
            _step(blob.delete, _explain_gcs(s, "delete", f"gs://{s.bucket}/{key}"))
            done.append(f"Wrote and deleted gs://{s.bucket}/{key}.")
    except _CheckFailed as failed:
        return False, _message(done, str(failed), s.secrets)
    return True, _message(done, None, s.secrets)


def _service_account_of(credentials: Any) -> str | None:
    """The service account e-mail of Google credentials, when they carry one."""
    email = getattr(credentials, "service_account_email", None)
    if isinstance(email, str) and "@" in email:  # compute-engine credentials say "default"
        return email.lower()
    return None


def _service_account_line(s: WorkMagicSettings, email: str | None, credentials: Any) -> str:
    if email is None:
        kind = type(credentials).__name__
        line = (
            f"Could not tell which service account gcp_conn_id {s.gcp_conn_id!r} is ({kind} "
            "carry no e-mail): register the service account of that connection with WorkMagic "
            "(Upload order data > Google Cloud Storage)."
        )
        if s.service_account_email:
            line += f" The connection registers {s.service_account_email}."
        return line
    if s.service_account_email and s.service_account_email != email:
        raise _CheckFailed(
            f"gcp_conn_id {s.gcp_conn_id!r} authenticates as {email}, but field "
            f"{SERVICE_ACCOUNT_KEY} registers {s.service_account_email}: WorkMagic only lets "
            "the registered service account write. Register the service account of "
            "gcp_conn_id with WorkMagic and put it in that field, or point gcp_conn_id at "
            "the registered one."
        )
    line = (
        f"Register this service account with WorkMagic (Upload order data > Google Cloud "
        f"Storage): {email}."
    )
    if s.service_account_email:
        line += f" It matches field {SERVICE_ACCOUNT_KEY}."
    return line


def _explain_gcs(s: WorkMagicSettings, stage: str, location: str) -> Callable[[Exception], str]:
    who = (
        f"service account {s.service_account_email}"
        if s.service_account_email
        else f"the identity of gcp_conn_id {s.gcp_conn_id!r}"
    )

    def explain(err: Exception) -> str:
        name = type(err).__name__
        code = getattr(err, "code", None)
        if name == "DefaultCredentialsError" or stage == "identity":
            return f"No Google credentials for gcp_conn_id {s.gcp_conn_id!r}: {err}"
        if name == "NotFound" or code == 404:
            if stage == "delete":
                return f"The marker {location} was gone before it could be deleted ({name})."
            return f"Bucket {s.bucket!r} not found for {who}: check bucket."
        if name == "Forbidden" or code == 403:
            verb = {"list": "Listing", "put": "Writing", "delete": "Deleting"}[stage]
            return (
                f"{verb} {location} was denied for {who}: register that service account with "
                "WorkMagic (Upload order data > Google Cloud Storage) and check account_id and "
                "bucket."
            )
        return f"{stage.capitalize()} of {location} as {who} failed ({name}): {err}"

    return explain


# --------------------------------------------------------------------------- message
def _message(done: list[str], failure: str | None, secrets: Iterable[str | None]) -> str:
    """What passed, then what failed; secrets replaced by ``***``."""
    parts = ([f"FAILED: {failure}"] if failure else []) + done
    return redact(" ".join(parts), secrets)


__all__ = ["MARKER_BODY", "check_gcs", "check_s3"]
