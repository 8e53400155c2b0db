namespace Firezone.Connlib.Logging;

/// <summary>The line shapes of Firezone's logs (hosts-and-tun.md §5), one line per event.</summary>
public enum LogFormat
{
    /// <summary>
    /// Readable text as upstream's stdout and <c>.log</c> files (§5.2):
    /// <c>2024-11-29T20:19:11.123Z  INFO Firezone.Relay: Listening key="value"</c>.
    /// </summary>
    Human,

    /// <summary>
    /// tracing-subscriber's plain JSON (the relay's <c>--log-format json</c>):
    /// <c>{"timestamp":"…","level":"INFO","fields":{"message":"…",…},"target":"…"}</c>.
    /// </summary>
    Json,

    /// <summary>
    /// Google Cloud structured logging as tracing-stackdriver writes it (the relay's <c>--log-format google-cloud</c>
    /// and the client's <c>.jsonl</c> files, §5.3): <c>{"time":"…","target":"…","severity":"INFO",…,"message":"…"}</c>.
    /// </summary>
    GoogleCloud,
}
