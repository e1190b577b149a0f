"""The mix stage (filter expressions, span replacement, sampling, sharded output) arrives with its own issue."""
