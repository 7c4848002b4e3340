"""argo_proxy.control: the control plane (JSON-RPC over stdio and a Unix socket, the
config watcher, one runtime for the whole daemon) and the `argo-proxy` command line.

docs/control.md describes the protocol and the commands."""
