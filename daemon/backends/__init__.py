"""The backends, one per ARGO API, each a `calls.Backend`: `send(call, observer)`
prepares the call's body for its API, asks ARGO through the one upstream client and
answers in the client's format. ARGO's chat APIs (`argo.py`: `ArgoChat` for the
OpenAI-compatible chat endpoint, `ArgoAnthropic` for the Anthropic messages
endpoint), its legacy gateway (`gateway.py`) and its embeddings (`embeddings.py`).
The request path picks one per call, by `Call.upstream` (pipeline.py)."""
