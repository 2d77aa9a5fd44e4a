"""rayemr.yarn."""
