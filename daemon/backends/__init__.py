"""Where a prepared request goes: ARGO's chat APIs (`argo.py`: the OpenAI-compatible
chat endpoint and the Anthropic messages endpoint), its legacy gateway (`gateway.py`)
and its embeddings (`embeddings.py`). The request path chooses one per request
(docs/architecture.md); each asks ARGO through the one upstream client."""
