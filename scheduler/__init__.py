"""Spaced repetition, pure: SM-2, FSRS, the grading scales, and how well each predicts a
learner's recall. No I/O and no clock reads; the service passes `today` in. (The
`tutor scheduler` process, which runs the background jobs, is `service/worker/`.)"""
