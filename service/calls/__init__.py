"""The call log: every call to the model, one row each, for cost, latency and failures
(`llm_calls`, read by the daily quota). Written by a listener on the model
(service/llm/record.py), so the model boundary itself knows no database."""
