"""What Tutor knows about a learner: the concepts they have met, how their reviews of
them go, and the mistakes they keep making.

It is derived by the service from the learner's own history (critiques and cards), never
written by the model, and the learner can correct it. A compact, relevant part of it goes
into the explain, follow-up and critique prompts.
"""
