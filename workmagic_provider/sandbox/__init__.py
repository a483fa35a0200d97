"""Local stand-in for WorkMagic's side: loopback S3 + STS (moto) and GCS (emulator) servers.

``workmagic_provider.sandbox.launcher.Sandbox`` starts them together; tests, the demo and users'
dry runs use it. Needs the ``[sandbox]`` extra (moto[server], gcp-storage-emulator).
"""
