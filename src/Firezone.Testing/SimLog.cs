using Microsoft.Extensions.Logging;

namespace Firezone.Testing;

/// <summary>Log lines of every node in a simulation, stamped with simulated time and the node's name (for failure messages).</summary>
/// <param name="clock">The simulated time stamped on each line.</param>
public sealed class SimLog(Func<TimeSpan> clock)
{
    private readonly List<string> _lines = new();

    /// <summary>A logger factory whose loggers (any category, debug and above) write lines tagged <paramref name="name"/>.</summary>
    public ILoggerFactory For(string name) => new Factory(this, name);

    /// <summary>Lines at <see cref="LogLevel.Error"/> or above so far: a property usually requires zero.</summary>
    public int ErrorCount { get; private set; }

    /// <summary>Every line so far, in order (what a determinism check compares between two runs of one seed).</summary>
    public IReadOnlyList<string> Lines => _lines;

    /// <summary>The last 3000 lines, one per line, for a failure message.</summary>
    public override string ToString() => string.Join("\n", _lines.TakeLast(3000));

    private void Add(string name, LogLevel level, string message)
    {
        if (level >= LogLevel.Error)
        {
            ErrorCount++;
        }

        _lines.Add($"{clock().TotalMilliseconds,10:F1} ms {name} {level}: {message}");
    }

    private sealed class Factory(SimLog log, string name) : ILoggerFactory
    {
        public void AddProvider(ILoggerProvider provider)
        {
        }

        public ILogger CreateLogger(string categoryName) => new Logger(log, name);

        public void Dispose()
        {
        }
    }

    private sealed class Logger(SimLog log, string name) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Debug;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel))
            {
                log.Add(name, logLevel, formatter(state, exception));
            }
        }
    }
}
