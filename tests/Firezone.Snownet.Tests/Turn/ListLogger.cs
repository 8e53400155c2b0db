using Microsoft.Extensions.Logging;

namespace Firezone.Snownet.Tests.Turn;

/// <summary>Collects log lines so that failure messages can show what the state machine did.</summary>
internal sealed class ListLogger : ILogger
{
    private readonly List<string> _lines = new();

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        lock (_lines)
        {
            _lines.Add($"{logLevel}: {formatter(state, exception)}");
        }
    }

    public override string ToString()
    {
        lock (_lines)
        {
            return string.Join("\n", _lines.TakeLast(200));
        }
    }
}
