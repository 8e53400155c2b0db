using Microsoft.Extensions.Logging;

namespace Firezone.Connlib.Logging;

/// <summary>
/// One category's logger: formats the event on the calling thread (state is not kept) and hands the line to the
/// provider's queue. Level filtering is the logger factory's (<c>SetMinimumLevel</c>); scopes are not recorded.
/// </summary>
internal sealed class FirezoneLogger(string category, FirezoneLoggerProvider provider) : ILogger
{
    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (!IsEnabled(logLevel))
        {
            return;
        }

        ArgumentNullException.ThrowIfNull(formatter);
        var e = LogEvent.Create(provider.Time.GetUtcNow(), logLevel, category, state, exception, formatter(state, exception) ?? string.Empty);
        provider.Write(e);
    }
}
