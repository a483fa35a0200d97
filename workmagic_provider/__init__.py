"""Apache Airflow provider that delivers order data to WorkMagic."""

__version__ = "0.1.0"
