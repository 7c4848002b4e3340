// The commented config file "Open config file" creates for a user who has none yet.

/** A commented config file for `argo-proxy serve`, for users who have none yet. */
export function configTemplate(user: string): string {
  return [
    "# argo-proxy configuration (reloaded automatically when you save).",
    "# Every key is described in argo-proxy's docs/configuration.md.",
    "config_version: '3'",
    "",
    "# Your ANL username: ARGO's only credential.",
    `user: ${user}`,
    "",
    "# ARGO environment: prod https://apps.inside.anl.gov/argoapi,",
    "# dev https://apps-dev.inside.anl.gov/argoapi (argo-proxy's default).",
    "argo_base_url: https://apps.inside.anl.gov/argoapi",
    "",
    "# Where the daemon listens (loopback only unless you change host). The editor",
    "# extension starts it with --port auto: when another daemon (another user's) holds",
    "# this port, it listens on a free one, and terminals get the real address.",
    "host: 127.0.0.1",
    "port: 44497",
    "",
    "# Every API request must carry the access token from token_file (default",
    "# ~/.config/argo-proxy/token); VS Code's terminals have it as ARGO_PROXY_TOKEN,",
    "# `argo-proxy token` prints it. `none` lets in anything that reaches the port.",
    "auth: token",
    "",
    "# A model to use when a client asks for one ARGO does not have (else a 404).",
    "# default_model: argo:gpt-4.1-mini",
    "",
    "# Legacy ARGO gateway API (/v1/chat, /v1/embed, /v1/completions).",
    "use_legacy_argo: false",
    "",
  ].join("\n");
}
