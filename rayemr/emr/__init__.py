"""rayemr.emr."""
