"""HiveQL's front end: lexing, parsing (sqlglot's Hive dialect), statements, compilation.

The only package of rayemr that imports sqlglot; pure (no Ray, no DuckDB).
"""
