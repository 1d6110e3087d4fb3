"""Prerequisites when stumped: the concepts a passage depends on, which of them the
learner's own history shows they know, and a path back for the rest."""
