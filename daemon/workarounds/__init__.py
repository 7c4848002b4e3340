"""Every workaround the daemon carries, in one place, of two kinds (docs/workarounds.md):

- `library/`: one module per llm-rosetta defect, each written against a named library
  version, each with a test of the library's own behaviour that fails once the library
  is fixed, so that the workaround is deleted then;
- `argo_rules.py`: ARGO's per-model adjustments, one table, applied on every backend.
"""
