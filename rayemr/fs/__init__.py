"""rayemr.fs."""
