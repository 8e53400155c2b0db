using Microsoft.Extensions.Logging;

namespace Firezone.Simulation;

/// <summary>Log lines of every node in a simulation, stamped with simulated time and the node's name (for failure messages).</summary>
public sealed class SimLog(Func<TimeSpan> clock)
{
    private readonly List<string> _lines = new();

    public ILoggerFactory For(string name) => new Factory(this, name);

    public int ErrorCount { get; private set; }

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
