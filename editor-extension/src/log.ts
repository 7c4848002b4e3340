// The one logger: the daemon's stderr and the extension's own events go to a
// log output channel; with CI=true they are echoed to the console as well.
import { createLogOutputChannel, Disposable, LogOutputChannel } from "./vscodeapi";

let channel: LogOutputChannel | undefined;

export function registerLogger(name: string): Disposable & { show(): void } {
  channel = createLogOutputChannel(name);
  const own = channel;
  return {
    show: () => own.show(true),
    dispose: () => {
      own.dispose();
      if (channel === own) channel = undefined;
    },
  };
}

function echo(level: string, message: string): void {
  if (process.env.CI === "true") console.log(`[argo-proxy ${level}] ${message}`);
}

export function traceInfo(message: string): void {
  channel?.info(message);
  echo("info", message);
}

export function traceWarn(message: string): void {
  channel?.warn(message);
  echo("warn", message);
}

export function traceError(message: string): void {
  channel?.error(message);
  echo("error", message);
}

/** A line the daemon wrote to stderr, as it wrote it. */
export function traceDaemon(line: string): void {
  channel?.appendLine(line);
  echo("daemon", line);
}
