"""WorkMagic's side on loopback, and the demo: not part of the provider a user's Airflow installs.

``workmagic_sandbox.launcher.Sandbox`` starts S3 + STS (moto), GCS (emulator) and the WorkMagic
API stand-in together for tests, ``workmagic-sandbox serve`` and ``workmagic-sandbox demo``.
It is its own distribution, ``workmagic-sandbox``, so the provider's wheel ships none of it.
"""
