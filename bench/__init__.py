"""`make bench`: the performance benchmark (see README "Performance")."""
