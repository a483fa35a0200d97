"""Pieces the push-down flows (Snowflake, BigQuery) share: the schema's fields as SQL sees them,
the whole-window checks, and the Snowflake column mapping and session."""
