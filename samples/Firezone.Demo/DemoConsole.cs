using System.Diagnostics;
using Microsoft.Extensions.Logging;

namespace Firezone.Demo;

/// <summary>
/// The demo's output: one line per event, stamped with the time since the start and the component's name. Each
/// component logs through <see cref="For"/>: the lines a reader follows the story by (portal joins, relay allocations,
/// candidates, connections and their paths) are printed, everything else only with <c>--verbose</c>; warnings and
/// errors always, and they are counted.
/// </summary>
internal sealed class DemoConsole(bool verbose)
{
    private static readonly string[] Story =
    [
        "Joined ", "Connected to portal", "Allocated ", "Relay ", "candidate", "Offering connection", "Accepted connection",
        "nominated", "established over", "failed:", "TUN config", "Allowing access", "Activated resource",
    ];

    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly Lock _lock = new();
    private int _warnings;
    private int _errors;

    /// <summary>Warnings logged so far (a relay outage makes some: e.g. "No TURN servers").</summary>
    public int Warnings => Volatile.Read(ref _warnings);

    /// <summary>Errors logged so far (there should be none).</summary>
    public int Errors => Volatile.Read(ref _errors);

    /// <summary>Prints one line for <paramref name="who"/>.</summary>
    public void Say(string who, string what)
    {
        lock (_lock)
        {
            Console.WriteLine($"[{_clock.Elapsed.TotalSeconds,6:F2}s] {who,-8} {what}");
        }
    }

    /// <summary>A logger factory whose lines are printed as <paramref name="who"/>'s.</summary>
    public ILoggerFactory For(string who) => LoggerFactory.Create(b => b.SetMinimumLevel(LogLevel.Debug).AddProvider(new Provider(this, who)));

    /// <summary>
    /// A log line of a host process (<c>--netns</c>): its human format is "time LEVEL Category: message"; story lines are
    /// printed (every line with <c>--verbose</c>), warnings and errors always, and counted.
    /// </summary>
    public void HostLine(string who, string? line)
    {
        if (line is null)
        {
            return;
        }

        var parts = line.Split(' ', 4, StringSplitOptions.RemoveEmptyEntries);
        var level = parts.Length < 4 ? LogLevel.Information : parts[1] switch
        {
            "ERROR" => LogLevel.Error,
            "WARN" => LogLevel.Warning,
            "DEBUG" => LogLevel.Debug,
            "TRACE" => LogLevel.Trace,
            _ => LogLevel.Information,
        };
        string category = parts.Length < 4 ? "" : parts[2].TrimEnd(':');
        Log(who, category, level, parts.Length < 4 ? line : parts[3]);
    }

    private void Log(string who, string category, LogLevel level, string message)
    {
        if (level >= LogLevel.Warning)
        {
            Interlocked.Increment(ref level >= LogLevel.Error ? ref _errors : ref _warnings);
            Say(who, $"{(level >= LogLevel.Error ? "ERROR" : "warn")}: {message}");
        }
        else if (verbose || (!category.StartsWith("Microsoft.", StringComparison.Ordinal) && Story.Any(s => message.Contains(s, StringComparison.Ordinal))))
        {
            Say(who, message);
        }
    }

    private sealed class Provider(DemoConsole console, string who) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => new Logger(console, who, categoryName);

        public void Dispose()
        {
        }
    }

    private sealed class Logger(DemoConsole console, string who, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Debug;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel))
            {
                console.Log(who, category, logLevel, formatter(state, exception));
            }
        }
    }
}
