using Microsoft.Extensions.Logging;

namespace Firezone.Connlib.Logging;

/// <summary>
/// The global level of a <c>RUST_LOG</c> value, read leniently as the relay does (hosts-and-tun.md §5.4): of its
/// comma-separated directives only bare levels (<c>trace</c>, <c>debug</c>, <c>info</c>, <c>warn</c>, <c>error</c>,
/// <c>off</c>, any case) count, the last one wins. Directives with a target (<c>hyper=warn</c>, <c>wire::net</c>)
/// and span filters are not supported and are skipped, as is anything that does not parse.
/// </summary>
public static class RustLogLevel
{
    /// <summary>The last bare level in <paramref name="directives"/>, or <paramref name="fallback"/> when there is none.</summary>
    public static LogLevel Parse(string? directives, LogLevel fallback = LogLevel.Information)
    {
        var level = fallback;
        foreach (string directive in (directives ?? string.Empty).Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (TryParseLevel(directive, out var parsed))
            {
                level = parsed;
            }
        }

        return level;
    }

    /// <summary>One bare level name (any case) as a <see cref="LogLevel"/>: trace, debug, info, warn, error, off.</summary>
    public static bool TryParseLevel(string text, out LogLevel level)
    {
        ArgumentNullException.ThrowIfNull(text);
        LogLevel? parsed = text.ToLowerInvariant() switch
        {
            "trace" => LogLevel.Trace,
            "debug" => LogLevel.Debug,
            "info" => LogLevel.Information,
            "warn" => LogLevel.Warning,
            "error" => LogLevel.Error,
            "off" => LogLevel.None,
            _ => null,
        };
        level = parsed ?? LogLevel.None;
        return parsed is not null;
    }
}
