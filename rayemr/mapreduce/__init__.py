"""rayemr.mapreduce."""
