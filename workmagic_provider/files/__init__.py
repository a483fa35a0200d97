"""Readers, the size-capped NDJSON.gz part writer and the upload pipeline built on them."""

from workmagic_provider.files.part_writer import Part, PartWriter, gzip_bound

__all__ = ["Part", "PartWriter", "gzip_bound"]
