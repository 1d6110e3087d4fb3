"""The teaching-quality evaluation (`tutor eval`): scenarios, a run through the API,
metrics computed in code, an LLM judge, and a report."""
