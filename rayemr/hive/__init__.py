"""rayemr.hive."""
