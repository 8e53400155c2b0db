using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Firezone.Connlib.Logging;

/// <summary>
/// Writes log events as lines in one of Firezone's formats (<see cref="LogFormat"/>) to a <see cref="TextWriter"/>
/// (standard output by default, or a file). Lines go through a bounded queue to one writer thread, so logging never
/// blocks on the writer: when the queue is full the line is dropped and counted (<see cref="DroppedLines"/>).
/// <see cref="Dispose"/> writes what is queued (waiting at most 5 s) and flushes; the writer is not disposed, it
/// stays the caller's. The logger's category is upstream's <c>target</c>; scopes are not recorded.
/// </summary>
public sealed class FirezoneLoggerProvider : ILoggerProvider
{
    private readonly ConcurrentDictionary<string, FirezoneLogger> _loggers = new(StringComparer.Ordinal);
    private readonly LogQueue _queue;
    private readonly LogFormat _format;

    /// <summary>Starts the writer thread for <paramref name="writer"/> (<see cref="Console.Out"/> when null).</summary>
    public FirezoneLoggerProvider(LogFormat format, TextWriter? writer = null, FirezoneLoggerOptions? options = null)
    {
        if (!Enum.IsDefined(format))
        {
            throw new ArgumentOutOfRangeException(nameof(format), format, "Unknown log format.");
        }

        options ??= new FirezoneLoggerOptions();
        _format = format;
        Time = options.Time;
        _queue = new LogQueue(writer ?? Console.Out, options.QueueCapacity);
    }

    /// <summary>Lines dropped so far (queue full, writer failed, or logged after <see cref="Dispose"/>).</summary>
    public long DroppedLines => _queue.Dropped;

    internal TimeProvider Time { get; }

    /// <inheritdoc/>
    public ILogger CreateLogger(string categoryName) =>
        _loggers.GetOrAdd(categoryName, static (name, provider) => new FirezoneLogger(name, provider), this);

    internal void Write(in LogEvent e) => _queue.Enqueue(Format(_format, e));

    /// <summary>One line (without its line break) of <paramref name="e"/> in <paramref name="format"/>.</summary>
    internal static string Format(LogFormat format, in LogEvent e) => format switch
    {
        LogFormat.Json => JsonLogFormatter.Format(e),
        LogFormat.GoogleCloud => GoogleCloudLogFormatter.Format(e),
        _ => HumanLogFormatter.Format(e),
    };

    /// <summary>Writes the queued lines (at most 5 s) and flushes the writer.</summary>
    public void Dispose() => _queue.Dispose();
}
